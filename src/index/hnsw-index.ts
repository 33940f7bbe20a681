import { HierarchicalNSW } from 'hnswlib-node';
import type { Neighbour, SearchOptions, VectorIndex } from '../domain/vector-index';

/** The id map saved beside an hnswlib file: label → id (null for freed labels). */
export interface HnswLabels {
  nextLabel: number;
  freeLabels: number[];
  ids: (string | null)[];
}

export interface HnswParams {
  m: number;
  efConstruction: number;
  efSearch: number;
  initialCapacity?: number;
  /** How many recently read vectors to keep as Float32Arrays (default 4096). */
  vectorCache?: number;
}

/** hnswlib-node behind the VectorIndex interface: string ids ↔ integer labels, growth, soft deletes. */
export class HnswIndex implements VectorIndex {
  private readonly hnsw: HierarchicalNSW;
  private readonly labelOf = new Map<string, number>();
  private idOf: (string | undefined)[] = [];
  private capacity: number;
  private nextLabel = 0;
  /** Labels freed by deletes; reused via hnswlib's replaceDeleted so the graph does not only grow. */
  private freeLabels: number[] = [];
  private efSearch: number;
  /** Vectors read recently (MMR and recommend vectors re-read popular items); bounded, so memory stays ~1x raw. */
  private readonly recent = new Map<string, Float32Array>();
  private readonly recentCapacity: number;

  constructor(
    readonly dimension: number,
    private readonly params: HnswParams,
    restore?: { file: string; labels: HnswLabels },
  ) {
    this.hnsw = new HierarchicalNSW('cosine', dimension);
    this.efSearch = params.efSearch;
    this.recentCapacity = params.vectorCache ?? 4096;
    if (restore) {
      this.hnsw.readIndexSync(restore.file, true);
      this.capacity = this.hnsw.getMaxElements();
      this.nextLabel = restore.labels.nextLabel;
      this.freeLabels = [...restore.labels.freeLabels];
      this.idOf = restore.labels.ids.map((id) => id ?? undefined);
      this.idOf.forEach((id, label) => id !== undefined && this.labelOf.set(id, label));
      if (this.labelOf.size + this.freeLabels.length !== this.nextLabel || this.nextLabel > this.capacity) {
        throw new Error('id map does not match the index file');
      }
    } else {
      this.capacity = Math.max(1024, params.initialCapacity ?? 1024);
      this.hnsw.initIndex(this.capacity, params.m, params.efConstruction, 100, true);
    }
    this.hnsw.setEf(params.efSearch);
  }

  /** Loads an index written by `save` (the hnswlib file plus the id map, which hnswlib does not keep). */
  static load(dimension: number, params: HnswParams, file: string, labels: HnswLabels): HnswIndex {
    return new HnswIndex(dimension, params, { file, labels });
  }

  /** Writes the graph to `file` and returns the id map to store beside it. */
  save(file: string): HnswLabels {
    this.hnsw.writeIndexSync(file);
    return {
      nextLabel: this.nextLabel,
      freeLabels: [...this.freeLabels],
      ids: this.idOf.map((id) => id ?? null),
    };
  }

  get size(): number {
    return this.labelOf.size;
  }

  /** Slots held by deleted items that are not yet reused. */
  get tombstones(): number {
    return this.freeLabels.length;
  }

  has(id: string): boolean {
    return this.labelOf.has(id);
  }

  ids(): IterableIterator<string> {
    return this.labelOf.keys();
  }

  /** Evenly strided over labels: O(n) in the sample, not in the index (filter selectivity estimates). */
  sample(n: number): string[] {
    const out: string[] = [];
    const stride = Math.max(1, Math.floor(this.nextLabel / Math.max(1, n)));
    for (let label = 0; label < this.nextLabel && out.length < n; label += stride) {
      const id = this.idOf[label];
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  upsert(id: string, vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new Error(`vector of ${vector.length} dims for an index of ${this.dimension}`);
    }
    const point = Array.from(vector);
    const existing = this.labelOf.get(id);
    if (existing !== undefined) {
      this.hnsw.addPoint(point, existing, false);
      this.recent.delete(id);
      return;
    }
    const reused = this.freeLabels.pop();
    if (reused !== undefined) {
      this.hnsw.addPoint(point, reused, true);
      this.bind(id, reused);
      return;
    }
    if (this.nextLabel >= this.capacity) {
      this.capacity *= 2;
      this.hnsw.resizeIndex(this.capacity);
    }
    const label = this.nextLabel++;
    this.hnsw.addPoint(point, label, false);
    this.bind(id, label);
  }

  remove(id: string): boolean {
    const label = this.labelOf.get(id);
    if (label === undefined) return false;
    this.hnsw.markDelete(label);
    this.labelOf.delete(id);
    this.recent.delete(id);
    this.idOf[label] = undefined;
    this.freeLabels.push(label);
    return true;
  }

  /** The stored vector; recently read ones come from a small cache (hnswlib copies 512 numbers per read). */
  vector(id: string): Float32Array | undefined {
    const cached = this.recent.get(id);
    if (cached) {
      // Refresh its place so the cache evicts the least recently read.
      this.recent.delete(id);
      this.recent.set(id, cached);
      return cached;
    }
    const label = this.labelOf.get(id);
    if (label === undefined) return undefined;
    const v = Float32Array.from(this.hnsw.getPoint(label));
    this.recent.set(id, v);
    if (this.recent.size > this.recentCapacity) this.recent.delete(this.recent.keys().next().value!);
    return v;
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbour[] {
    const live = this.labelOf.size;
    if (live === 0 || k <= 0) return [];
    const want = Math.min(k, live);
    const ef = Math.max(options.ef ?? this.efSearch, want);
    if (ef !== this.efSearch) this.hnsw.setEf(ef);
    try {
      const { filter } = options;
      const labelFilter = filter
        ? (label: number) => {
            const id = this.idOf[label];
            return id !== undefined && filter(id);
          }
        : undefined;
      const result = this.hnsw.searchKnn(Array.from(query), want, labelFilter);
      const out: Neighbour[] = [];
      for (let i = 0; i < result.neighbors.length; i++) {
        const id = this.idOf[result.neighbors[i]];
        if (id !== undefined) out.push({ id, score: 1 - result.distances[i] });
      }
      return out;
    } finally {
      if (ef !== this.efSearch) this.hnsw.setEf(this.efSearch);
    }
  }

  setDefaultEf(ef: number): void {
    this.efSearch = ef;
    this.hnsw.setEf(ef);
  }

  private bind(id: string, label: number): void {
    this.labelOf.set(id, label);
    this.idOf[label] = id;
  }
}
