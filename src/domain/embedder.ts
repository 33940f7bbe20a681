// Turns texts into l2-normalised vectors. The transformers.js adapter lives in src/embedding.
export interface Embedder {
  readonly modelId: string;
  readonly dimension: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}
