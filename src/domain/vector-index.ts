// The approximate-nearest-neighbour index behind every vector query (HNSW in production, exact scan as oracle).
export interface Neighbour {
  id: string;
  /** Cosine similarity in [-1, 1]; higher is closer. */
  score: number;
}

/** Neighbours best first as two parallel arrays (`ids[i]` scored `scores[i]`): the compact form of a list kept long. */
export interface NeighbourList {
  readonly ids: readonly string[];
  readonly scores: readonly number[];
  /**
   * The index version (VersionedItems) these ids are current with, when the list knows it: until the index changes,
   * neither its ids nor their places in the index do, so an index may remember what it looked up for them.
   */
  readonly version?: number;
}

export interface SearchOptions {
  /** Only ids for which this returns true are returned (the index oversamples to honour it). */
  filter?: (id: string) => boolean;
  /**
   * Remembers `filter`'s answer per stored vector from one search to the next. Only for a filter that reads nothing
   * but the items (no per-request state): the caller keeps one memo per such filter over its items; an index that
   * cannot use it (exact) ignores it.
   */
  memo?: FilterMemo;
  /** Asked as well as `filter` and never remembered: per-request exclusions (served pages, context items). */
  also?: (id: string) => boolean;
  /** Walk unfiltered for k and drop what the filters reject (cheap when most items pass); default: filter in the walk. */
  filterAfter?: boolean;
  /** Search breadth (HNSW ef); ignored by exact indexes. */
  ef?: number;
}

/** What a memoised filter reads: a version that changes with every change, and which ids changed since an older one. */
export interface VersionedItems {
  readonly version: number;
  /** Ids changed after `version`, or undefined when that is no longer known (the memo then starts over). */
  changedSince(version: number): readonly string[] | undefined;
}

/**
 * A filter's answers per stored vector, in an index's own numbering: 0 not asked yet, 1 passes, 2 fails. Valid for one
 * index and one state of its numbering; when the items change, only the changed ids are asked again (all of them
 * when the items can no longer say which changed).
 */
export class FilterMemo {
  private answers = new Int8Array(0);
  private owner: object | undefined;
  private ownerVersion = -1;
  private seenItems: VersionedItems | undefined;
  private seenVersion = -1;

  constructor(
    /** What the filter reads; the caller may swap in a newer one (a rebuilt item map) before a search. */
    public items: VersionedItems,
  ) {}

  answersFor(
    owner: object,
    ownerVersion: number,
    size: number,
    labelOf: (id: string) => number | undefined,
  ): Int8Array {
    const { items } = this;
    const changed =
      this.owner === owner && this.ownerVersion === ownerVersion && this.seenItems === items
        ? items.version === this.seenVersion
          ? []
          : items.changedSince(this.seenVersion)
        : undefined;
    this.owner = owner;
    this.ownerVersion = ownerVersion;
    this.seenItems = items;
    this.seenVersion = items.version;
    if (changed === undefined) {
      if (this.answers.length >= size) this.answers.fill(0);
      else this.answers = new Int8Array(size);
      return this.answers;
    }
    for (const id of changed) {
      const label = labelOf(id);
      if (label !== undefined && label < this.answers.length) this.answers[label] = 0;
    }
    if (this.answers.length < size) {
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
  /** Those of `found` among its first `k` that are stored and pass `options`' filters, as a search applies them (optional). */
  keep?(found: NeighbourList, k: number, options: SearchOptions): Neighbour[];
}
