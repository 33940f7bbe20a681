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

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const out = await this.extractor(texts, { pooling: 'mean', normalize: true });
    const dim = this.dimension;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i++) vectors.push(out.data.slice(i * dim, (i + 1) * dim));
    return vectors;
  }

  /** Frees the ONNX session; a session shared with another app in the same process may already be gone. */
  async dispose(): Promise<void> {
    await this.extractor.dispose?.().catch(() => undefined);
  }
}
