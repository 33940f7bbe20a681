import type { Embedder } from '../domain/embedder';

// transformers.js types are loose across versions; this is the slice we use.
interface FeatureTensor {
  data: Float32Array;
  dims: number[];
}
type FeatureExtractor = ((
  texts: string[],
  opts: { pooling: 'mean'; normalize: boolean },
) => Promise<FeatureTensor>) & { dispose?: () => Promise<void> };

export interface TransformersEmbedderOptions {
  modelId: string;
  modelDir: string;
  allowRemote: boolean;
  dtype: string;
}

const MIN_BUCKET = 4;
const MAX_PADDING = 1.25;

/**
 * Indices of `texts` grouped by length (characters stand in for tokens): a bucket closes once padding
 * everything to its longest text would cost 25% more than the texts themselves.
 */
export function lengthBuckets(texts: string[]): number[][] {
  const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
  const buckets: number[][] = [];
  let bucket: number[] = [];
  let sum = 0;
  let longest = 0;
  for (const i of order) {
    const len = texts[i].length + 1;
    const wasteful = (bucket.length + 1) * len > MAX_PADDING * (sum + len);
    // Small buckets are kept together (a model call has a fixed cost) unless the text is far longer.
    if (bucket.length > 0 && wasteful && (bucket.length >= MIN_BUCKET || len > 2 * longest)) {
      buckets.push(bucket);
      bucket = [];
      sum = 0;
    }
    bucket.push(i);
    sum += len;
    longest = len;
  }
  if (bucket.length > 0) buckets.push(bucket);
  return buckets;
}

/** The Embedder backed by a transformers.js feature-extraction pipeline (mean pooling, l2-normalised). */
export class TransformersEmbedder implements Embedder {
  private constructor(
    readonly modelId: string,
    readonly dimension: number,
    private readonly extractor: FeatureExtractor,
  ) {}

  static async load(opts: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const transformers = require('@huggingface/transformers') as typeof import('@huggingface/transformers');
    const { env } = transformers;
    env.allowRemoteModels = opts.allowRemote;
    env.allowLocalModels = true;
    env.localModelPath = opts.modelDir.endsWith('/') ? opts.modelDir : `${opts.modelDir}/`;
    const extractor = (await transformers.pipeline('feature-extraction', opts.modelId, {
      dtype: opts.dtype as 'fp32',
    })) as unknown as FeatureExtractor;
    const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
    const dimension = probe.dims[probe.dims.length - 1];
    return new TransformersEmbedder(opts.modelId, dimension, extractor);
  }

  /** Embeds in model calls of similar-length texts (a call pads every text to its longest one). */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const vectors: Float32Array[] = new Array<Float32Array>(texts.length);
    const dim = this.dimension;
    for (const chunk of lengthBuckets(texts)) {
      const out = await this.extractor(
        chunk.map((i) => texts[i]),
        { pooling: 'mean', normalize: true },
      );
      chunk.forEach((original, j) => (vectors[original] = out.data.slice(j * dim, (j + 1) * dim)));
    }
    return vectors;
  }

  /** Frees the ONNX session; a session shared with another app in the same process may already be gone. */
  async dispose(): Promise<void> {
    await this.extractor.dispose?.().catch(() => undefined);
  }
}
