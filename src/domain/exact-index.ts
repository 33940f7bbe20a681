import { cosine } from './vector-math';
import { passesSearchFilters, type Neighbour, type SearchOptions, type VectorIndex } from './vector-index';

/** Brute-force cosine index: the recall oracle in tests and the fallback for very selective filters. */
export class ExactIndex implements VectorIndex {
  private readonly vectors = new Map<string, Float32Array>();

  constructor(readonly dimension: number) {}

  get size(): number {
    return this.vectors.size;
  }

  has(id: string): boolean {
    return this.vectors.has(id);
  }

  upsert(id: string, vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new Error(`vector of ${vector.length} dims for an index of ${this.dimension}`);
    }
    this.vectors.set(id, vector);
  }

  remove(id: string): boolean {
    return this.vectors.delete(id);
  }

  vector(id: string): Float32Array | undefined {
    return this.vectors.get(id);
  }

  ids(): IterableIterator<string> {
    return this.vectors.keys();
  }

  similarity(a: string, b: string): number | undefined {
    const va = this.vectors.get(a);
    const vb = this.vectors.get(b);
    return va && vb ? cosine(va, vb) : undefined;
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbour[] {
    const constrained = options.filter !== undefined || options.also !== undefined;
    return exactSearch(
      this.vectors,
      query,
      k,
      constrained ? (id) => passesSearchFilters(id, options) : undefined,
    );
  }
}

/** Top-k by cosine over any (id, vector) iterable; a bounded scan, no full sort. */
export function exactSearch(
  entries: Iterable<[string, Float32Array]>,
  query: Float32Array,
  k: number,
  filter?: (id: string) => boolean,
): Neighbour[] {
  const top: Neighbour[] = [];
  for (const [id, v] of entries) {
    if (filter && !filter(id)) continue;
    const score = cosine(query, v);
    if (top.length < k) {
      top.push({ id, score });
      if (top.length === k) top.sort((a, b) => b.score - a.score);
    } else if (score > top[k - 1].score) {
      let i = k - 1;
      while (i > 0 && top[i - 1].score < score) {
        top[i] = top[i - 1];
        i--;
      }
      top[i] = { id, score };
    }
  }
  return top.length < k ? top.sort((a, b) => b.score - a.score) : top;
}
