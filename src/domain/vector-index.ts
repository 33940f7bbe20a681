// The approximate-nearest-neighbour index behind every vector query (HNSW in production, exact scan as oracle).
export interface Neighbour {
  id: string;
  /** Cosine similarity in [-1, 1]; higher is closer. */
  score: number;
}

export interface SearchOptions {
  /** Only ids for which this returns true are returned (the index oversamples to honour it). */
  filter?: (id: string) => boolean;
  /** Search breadth (HNSW ef); ignored by exact indexes. */
  ef?: number;
}

export interface VectorIndex {
  readonly dimension: number;
  readonly size: number;
  has(id: string): boolean;
  upsert(id: string, vector: Float32Array): void;
  remove(id: string): boolean;
  vector(id: string): Float32Array | undefined;
  search(query: Float32Array, k: number, options?: SearchOptions): Neighbour[];
  ids(): IterableIterator<string>;
  /** Cosine of two stored items, possibly approximate (±0.01): diversity and near-duplicate checks (optional). */
  similarity?(a: string, b: string): number | undefined;
  /** Up to `n` ids spread evenly over the index, without a pass over all of them (optional). */
  sample?(n: number): string[];
}
