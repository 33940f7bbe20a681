import * as fs from 'node:fs';
import { HierarchicalNSW } from 'hnswlib-node';
import { ChangeLog } from '../domain/change-log';
import type {
  Neighbour,
  NeighbourList,
  SearchOptions,
  VectorIndex,
  VersionedItems,
} from '../domain/vector-index';
import { Int8Vectors } from './int8-vectors';

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

const NOT_QUANTISED = -1;
// A label slot for an id that is not stored.
const NO_LABEL = -1;

/** Quantised-copy file: "RQ8" + version byte, dimension, label count (uint32 LE), scales (f32), then int8 bytes. */
const Q8_MAGIC = 'RQ8\u0001';
const Q8_HEADER = 12;

/** hnswlib-node behind the VectorIndex interface: string ids ↔ integer labels, growth, soft deletes. */
export class HnswIndex implements VectorIndex, VersionedItems {
  private readonly hnsw: HierarchicalNSW;
  private readonly labelOf = new Map<string, number>();
  private idOf: (string | undefined)[] = [];
  private capacity: number;
  private nextLabel = 0;
  /** Labels freed by deletes; reused via hnswlib's replaceDeleted so the graph does not only grow. */
  private freeLabels: number[] = [];
  /** Counts freed labels: a freed label may come back meaning another id, so filter memos start over. */
  private relabels = 0;
  private efSearch: number;
  /** Vectors read recently (MMR and recommend vectors re-read popular items); bounded, so memory stays ~1x raw. */
  private readonly recent = new Map<string, Float32Array>();
  /** keep()'s labels per kept list (labelsOf); a list's entry goes with the list. */
  private readonly listLabels = new WeakMap<
    NeighbourList,
    { version: number; labels: Int32Array; read: number }
  >();
  private readonly recentCapacity: number;
  /**
   * An int8 copy of every unit vector (dim bytes per label, a quarter of the float copy hnswlib keeps) and its
   * scale (NOT_QUANTISED until filled): item-to-item cosines for MMR and near-duplicate checks without copying
   * 512 doubles out of hnswlib per read. Filled on upsert; after a snapshot load, from the snapshot's quantised copy
   * (`saveQuantised`), else on first use (about 50 µs per vector: a request meeting 300 unread vectors paid ~15 ms).
   */
  private readonly q8: Int8Vectors;
  private qScale: Float32Array;
  private readonly scratch: number[];
  /** Saves in flight (save, saveQuantised): the graph and the int8 copies must not change under them. */
  private saving = 0;
  /** Ids whose vector was added, replaced or removed, so cached answers (neighbour lists) catch up per id. */
  private readonly changes = new ChangeLog();

  constructor(
    readonly dimension: number,
    private readonly params: HnswParams,
    restore?: { file: string; labels: HnswLabels },
  ) {
    this.hnsw = new HierarchicalNSW('cosine', dimension);
    this.scratch = new Array<number>(dimension).fill(0);
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
    this.q8 = new Int8Vectors(dimension, this.capacity);
    this.qScale = new Float32Array(this.capacity).fill(NOT_QUANTISED);
  }

  /**
   * Loads an index written by `save` (the hnswlib file plus the id map, which hnswlib does not keep), and the int8
   * copies written by `saveQuantised` when `quantisedFile` holds a matching one (otherwise they fill on first use).
   */
  static load(
    dimension: number,
    params: HnswParams,
    file: string,
    labels: HnswLabels,
    quantisedFile?: string,
  ): HnswIndex {
    const index = new HnswIndex(dimension, params, { file, labels });
    if (quantisedFile) index.loadQuantised(quantisedFile);
    return index;
  }

  /** Writes the int8 copies (header, scales, bytes for labels below nextLabel) for `load` to read back. */
  async saveQuantised(file: string): Promise<void> {
    this.saving++;
    try {
      const n = this.nextLabel;
      const header = Buffer.alloc(Q8_HEADER);
      header.write(Q8_MAGIC, 0, 'latin1');
      header.writeUInt32LE(this.dimension, 4);
      header.writeUInt32LE(n, 8);
      // Searches may fill int8 copies while the bytes are written. The scales are copied now: a label filled
      // later is saved as NOT_QUANTISED (and fills again after a load), and a label already filled never changes
      // while saving (only upsert/remove rewrite one), so every label marked filled has its final bytes on disk.
      const scales = Buffer.from(new Uint8Array(this.qScale.buffer, this.qScale.byteOffset, n * 4));
      const fh = await fs.promises.open(file, 'w');
      try {
        await fh.writev([
          header,
          scales,
          new Uint8Array(this.q8.view.buffer, this.q8.view.byteOffset, n * this.dimension),
        ]);
      } finally {
        await fh.close();
      }
    } finally {
      this.saving--;
    }
  }

  /** Labels whose int8 copy is filled (the rest fill on first use). */
  get quantised(): number {
    let n = 0;
    for (let label = 0; label < this.nextLabel; label++) if (this.qScale[label] !== NOT_QUANTISED) n++;
    return n;
  }

  /** Reads nothing when the file is missing or was written for another shape of index. */
  private loadQuantised(file: string): void {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      return;
    }
    const n = this.nextLabel;
    const dim = this.dimension;
    if (
      buf.length !== Q8_HEADER + n * 4 + n * dim ||
      buf.toString('latin1', 0, 4) !== Q8_MAGIC ||
      buf.readUInt32LE(4) !== dim ||
      buf.readUInt32LE(8) !== n
    ) {
      return;
    }
    // Copied through Uint8Array views: a Buffer's byteOffset need not be 4-aligned for a Float32Array view.
    new Uint8Array(this.qScale.buffer, this.qScale.byteOffset, n * 4).set(
      buf.subarray(Q8_HEADER, Q8_HEADER + n * 4),
    );
    this.q8.view.set(new Int8Array(buf.buffer, buf.byteOffset + Q8_HEADER + n * 4, n * dim));
    // Freed labels were saved as NOT_QUANTISED (remove() resets them), so they stay unfilled.
  }

  /**
   * Writes the graph to `file` on a libuv thread (a 100k-item graph took 0.3-1.2 s, which blocked every request
   * when written on the event loop) and returns the id map to store beside it. Searches go on meanwhile; upsert
   * and remove throw until it settles, so the caller holds changes back (the stream follower's lock does).
   */
  async save(file: string): Promise<HnswLabels> {
    const labels: HnswLabels = {
      nextLabel: this.nextLabel,
      freeLabels: [...this.freeLabels],
      ids: this.idOf.map((id) => id ?? null),
    };
    this.saving++;
    try {
      // The addon's worker holds a raw pointer to the graph; this frame keeps `this.hnsw` alive until it is done.
      await this.hnsw.writeIndex(file);
    } finally {
      this.saving--;
    }
    return labels;
  }

  private assertNotSaving(): void {
    if (this.saving > 0)
      throw new Error('the index is being saved: changes must wait until the save settles');
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

  /** Changes with every upsert and remove. */
  get version(): number {
    return this.changes.version;
  }

  /** Ids upserted or removed after `version` (newest first, repeats possible); undefined when that is no longer known. */
  changedSince(version: number): string[] | undefined {
    return this.changes.changedSince(version);
  }

  upsert(id: string, vector: Float32Array): void {
    this.assertNotSaving();
    // plain() rejects a vector of another dimension.
    const point = this.plain(vector);
    this.changes.record(id);
    const existing = this.labelOf.get(id);
    if (existing !== undefined) {
      this.hnsw.addPoint(point, existing, false);
      this.recent.delete(id);
      this.quantise(existing, vector);
      return;
    }
    const reused = this.freeLabels.pop();
    if (reused !== undefined) {
      this.hnsw.addPoint(point, reused, true);
      this.bind(id, reused);
      this.quantise(reused, vector);
      return;
    }
    if (this.nextLabel >= this.capacity) {
      this.capacity *= 2;
      this.hnsw.resizeIndex(this.capacity);
      this.q8.grow(this.capacity);
      const qScale = new Float32Array(this.capacity).fill(NOT_QUANTISED);
      qScale.set(this.qScale);
      this.qScale = qScale;
    }
    const label = this.nextLabel++;
    this.hnsw.addPoint(point, label, false);
    this.bind(id, label);
    this.quantise(label, vector);
  }

  remove(id: string): boolean {
    this.assertNotSaving();
    const label = this.labelOf.get(id);
    if (label === undefined) return false;
    this.hnsw.markDelete(label);
    this.changes.record(id);
    this.labelOf.delete(id);
    this.recent.delete(id);
    this.qScale[label] = NOT_QUANTISED;
    this.idOf[label] = undefined;
    this.freeLabels.push(label);
    this.relabels++;
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

  /**
   * Cosine of two stored items from their int8 copies (error ~1e-3): for diversity and near-duplicate checks,
   * not for ranking by relevance. Undefined when either id is not in the index.
   */
  similarity(a: string, b: string): number | undefined {
    const la = this.labelOf.get(a);
    const lb = this.labelOf.get(b);
    if (la === undefined || lb === undefined) return undefined;
    const sa = this.scaleOf(la);
    const sb = this.scaleOf(lb);
    if (sa === 0 || sb === 0) return 0;
    return this.q8.dot(la, lb) * sa * sb;
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbour[] {
    const live = this.labelOf.size;
    if (live === 0 || k <= 0) return [];
    const want = Math.min(k, live);
    const ef = Math.max(options.ef ?? this.efSearch, want);
    if (ef !== this.efSearch) this.hnsw.setEf(ef);
    try {
      const passes = this.labelTest(options);
      const inWalk = passes && !options.filterAfter ? passes : undefined;
      const result = this.hnsw.searchKnn(this.plain(query), want, inWalk);
      const out: Neighbour[] = [];
      for (let i = 0; i < result.neighbors.length; i++) {
        const label = result.neighbors[i];
        const id = this.idOf[label];
        if (id !== undefined && (inWalk || !passes || passes(label))) {
          out.push({ id, score: 1 - result.distances[i] });
        }
      }
      return out;
    } finally {
      if (ef !== this.efSearch) this.hnsw.setEf(this.efSearch);
    }
  }

  /** Those of `found` among its first `k` that pass a search's filters, asked as a search asks them (memo included). */
  keep(found: NeighbourList, k: number, options: SearchOptions): Neighbour[] {
    const { ids, scores } = found;
    const n = Math.min(ids.length, k);
    const labels = this.labelsOf(found, n);
    const passes = this.labelTest(options);
    const out: Neighbour[] = [];
    for (let i = 0; i < n; i++) {
      const label = labels ? labels[i] : (this.labelOf.get(ids[i]) ?? NO_LABEL);
      if (label !== NO_LABEL && (!passes || passes(label))) out.push({ id: ids[i], score: scores[i] });
    }
    return out;
  }

  /**
   * The labels of a kept list's first `n` ids, read once per list while the index stays at the list's version: a
   * kept list is read by request after request, and at 100k items each id-to-label lookup misses the cache (a
   * Map of 100k strings). Undefined for a list that does not say it is current (its ids may still change).
   */
  private labelsOf(list: NeighbourList, n: number): Int32Array | undefined {
    const version = this.version;
    if (list.version !== version) return undefined;
    let memo = this.listLabels.get(list);
    // A list's ids change only when it catches up with a newer version, so a memo of this version still fits it.
    if (!memo || memo.version !== version) {
      memo = { version, labels: new Int32Array(list.ids.length), read: 0 };
      this.listLabels.set(list, memo);
    }
    for (; memo.read < n; memo.read++) {
      memo.labels[memo.read] = this.labelOf.get(list.ids[memo.read]) ?? NO_LABEL;
    }
    return memo.labels;
  }

  /**
   * The search's filters as one test per label. With a memo, `filter` is asked once per label until that item changes
   * or a label is freed: a filtered walk crosses the same rejected neighbourhoods request after request, and an
   * Int8Array read costs far less than a filter reading item objects.
   */
  private labelTest({ filter, also, memo }: SearchOptions): ((label: number) => boolean) | undefined {
    if (!filter && !also) return undefined;
    const answers =
      filter && memo
        ? memo.answersFor(this, this.relabels, this.capacity, (id) => this.labelOf.get(id))
        : undefined;
    return (label) => {
      const id = this.idOf[label];
      if (id === undefined) return false;
      if (answers) {
        let a = answers[label];
        if (a === 0) answers[label] = a = filter!(id) ? 1 : 2;
        if (a !== 1) return false;
      } else if (filter && !filter(id)) return false;
      return also === undefined || also(id);
    };
  }

  /**
   * hnswlib-node takes a plain array; it copies it before returning, so one scratch array serves every call.
   * (Array.from on a typed array goes through the iterator: an allocation per component.)
   */
  private plain(v: Float32Array): number[] {
    if (v.length !== this.dimension)
      throw new Error(`vector of ${v.length} dims for an index of ${this.dimension}`);
    const out = this.scratch;
    for (let i = 0; i < v.length; i++) out[i] = v[i];
    return out;
  }

  setDefaultEf(ef: number): void {
    this.efSearch = ef;
    this.hnsw.setEf(ef);
  }

  private scaleOf(label: number): number {
    const scale = this.qScale[label];
    if (scale !== NOT_QUANTISED) return scale;
    this.quantise(label, this.hnsw.getPoint(label));
    return this.qScale[label];
  }

  /** Unit vector → int8 with one scale per vector (max |component| maps to 127). */
  private quantise(label: number, vector: ArrayLike<number>): void {
    const dim = this.dimension;
    let norm = 0;
    let max = 0;
    for (let i = 0; i < dim; i++) {
      const x = vector[i];
      norm += x * x;
      const a = Math.abs(x);
      if (a > max) max = a;
    }
    norm = Math.sqrt(norm);
    const base = label * dim;
    if (norm === 0 || max === 0) {
      this.q8.view.fill(0, base, base + dim);
      this.qScale[label] = 0;
      return;
    }
    const scale = max / norm / 127;
    const k = 1 / (norm * scale);
    const q = this.q8.view;
    for (let i = 0; i < dim; i++) q[base + i] = Math.round(vector[i] * k);
    this.qScale[label] = scale;
  }

  private bind(id: string, label: number): void {
    this.labelOf.set(id, label);
    this.idOf[label] = id;
  }
}
