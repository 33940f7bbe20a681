import * as transformers from '@huggingface/transformers';
import { MODEL_ID } from './build-model';

export type Dtype = 'fp32' | 'q8';

export interface UseLitePipeline {
  embed(texts: string[]): Promise<number[][]>;
  encode(text: string): number[];
  setPaddingSide(side: 'left' | 'right'): void;
  dispose(): Promise<void>;
}

// Loads the model folder exactly as production does: local files only, feature-extraction, mean + normalize.
export async function loadUseLite(modelsRoot: string, dtype: Dtype): Promise<UseLitePipeline> {
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = modelsRoot;
  const pipe = await transformers.pipeline('feature-extraction', MODEL_ID, { dtype });
  return {
    async embed(texts) {
      const out = await pipe(texts, { pooling: 'mean', normalize: true });
      return out.tolist() as number[][];
    },
    encode(text) {
      return pipe.tokenizer.encode(text);
    },
    setPaddingSide(side) {
      pipe.tokenizer.padding_side = side;
    },
    dispose: () => pipe.dispose(),
  };
}

export async function embedInBatches(
  p: UseLitePipeline,
  texts: string[],
  batch: number,
): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += batch) out.push(...(await p.embed(texts.slice(i, i + batch))));
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : d / Math.sqrt(na * nb);
}
