// The approximate-nearest-neighbour index behind every vector query (HNSW in production, exact scan as oracle).
export interface Neighbour {
  id: string;
  /** Cosine similarity in [-1, 1]; higher is closer. */
  score: number;
}

export interface SearchOptions {
  /** Only ids for which this returns true are returned (the index oversamples to honour it). */
  filter?: (id: string) => boolean;
  /**
   * Remembers `filter`'s answer per stored vector from one search to the next. Only for a filter that reads nothing
   * but the items (no per-request state): the caller keeps one memo per such filter and sets `memo.version` to its
   * items' version; an index that cannot use it (exact) ignores it.
   */
  memo?: FilterMemo;
  /** Asked as well as `filter` and never remembered: per-request exclusions (served pages, context items). */
  also?: (id: string) => boolean;
  /** Walk unfiltered for k and drop what the filters reject (cheap when most items pass); default: filter in the walk. */
  filterAfter?: boolean;
  /** Search breadth (HNSW ef); ignored by exact indexes. */
  ef?: number;
}

/**
 * A filter's answers per stored vector, in an index's own numbering: 0 not asked yet, 1 passes, 2 fails. Valid for one
 * index, one state of its numbering and one `version` of the caller's items; `answersFor` starts over otherwise.
 */
export class FilterMemo {
  private answers = new Int8Array(0);
  private owner: object | undefined;
  private ownerVersion = -1;
  private seenVersion = -1;

  constructor(
    /** The caller's version of what the filter reads (e.g. the item map's); set it before each search. */
    public version = 0,
  ) {}

  answersFor(owner: object, ownerVersion: number, size: number): Int8Array {
    if (this.owner !== owner || this.ownerVersion !== ownerVersion || this.seenVersion !== this.version) {
      this.owner = owner;
      this.ownerVersion = ownerVersion;
      this.seenVersion = this.version;
      if (this.answers.length >= size) this.answers.fill(0);
      else this.answers = new Int8Array(size);
    } else if (this.answers.length < size) {
      const grown = new Int8Array(size);
      grown.set(this.answers);
      this.answers = grown;
    }
    return this.answers;
  }
}

/** Whether `id` passes a search's `filter` and `also` (exact indexes and post-checks). */
export function passesSearchFilters(id: string, o: SearchOptions): boolean {
  return (o.filter === undefined || o.filter(id)) && (o.also === undefined || o.also(id));
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
