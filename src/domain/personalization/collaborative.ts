// The `collaborative` source: an EASE item-item model (./ease.ts) trained from the users' and sessions' histories,
// kept as each modelled item's strongest neighbours, and scored from a user's recent items.
import type { Interaction, ScoredItem } from './co-occurrence';
import { easeFromGram, gramMatrix, type SparseRow } from './ease';

export interface CollaborativeParams {
  /** Items need at least this many users/sessions to be modelled (rarer ones have no stable weights). */
  minUsers: number;
  /** The most-used items modelled at most (training is cubic in it: ~1,500 items take ~4 s, 2,500 ~15-25 s). */
  maxItems: number;
  /** Ridge strength of EASE. */
  lambda: number;
  /** Neighbours kept per item (positive weights only). */
  neighbours: number;
}

/**
 * Chosen on MovieLens validation folds (src/eval/ease-research.ts; the research blend plus this source: 0.1102 →
 * 0.1162 NDCG@10 over 3 folds, better on each): there ~2,550 of 9,742 items had ≥ 8 users. Fewer items (≥ 15 users,
 * ~1,550) or shorter seed lists lost on a fold; top-100 neighbours instead of 200 lost 0.001.
 */
export const DEFAULT_COLLABORATIVE: CollaborativeParams = {
  minUsers: 5,
  maxItems: 2500,
  lambda: 200,
  neighbours: 200,
};

/** Seeds: the user's 30 most recent distinct items with a positive latest event, the newest 1, then ×0.85 each. */
export const COLLABORATIVE_SEEDS = { lastN: 30, recencyDecay: 0.85 } as const;

/** Sparse rows (CSR) of each modelled item's neighbours, best first. */
export interface CollaborativeModel {
  ids: string[];
  /** Row i's neighbours are cols/weights[offsets[i] .. offsets[i+1]). */
  offsets: Uint32Array;
  cols: Uint32Array;
  weights: Float32Array;
  /** Users/sessions the model was trained from. */
  users: number;
}

/**
 * Trains from each user's/session's distinct items (one row of X each, values 1): any interaction, liked or not,
 * says which items the same people use (valuing X by event weight did worse on validation).
 */
export function trainCollaborative(
  histories: Iterable<readonly string[]>,
  p: CollaborativeParams = DEFAULT_COLLABORATIVE,
): CollaborativeModel {
  const lists: string[][] = [];
  const users = new Map<string, number>();
  for (const h of histories) {
    const distinct = [...new Set(h)];
    if (distinct.length < 2) continue;
    lists.push(distinct);
    for (const id of distinct) users.set(id, (users.get(id) ?? 0) + 1);
  }
  const ids = [...users]
    .filter(([, n]) => n >= p.minUsers)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, p.maxItems)
    .map(([id]) => id);
  const n = ids.length;
  const index = new Map(ids.map((id, i) => [id, i]));
  const rows: SparseRow[] = [];
  for (const list of lists) {
    const idx: number[] = [];
    for (const id of list) {
      const i = index.get(id);
      if (i !== undefined) idx.push(i);
    }
    if (idx.length > 0) rows.push({ idx, val: idx.map(() => 1) });
  }
  const offsets = new Uint32Array(n + 1);
  if (n < 2)
    return { ids, offsets, cols: new Uint32Array(0), weights: new Float32Array(0), users: lists.length };
  const b = easeFromGram(gramMatrix(rows, n), n, p.lambda);
  const cols: number[] = [];
  const weights: number[] = [];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let m = 0;
    for (let j = 0; j < n; j++) if (j !== i && b[row + j] > 0) order[m++] = j;
    const best = Array.from(order.subarray(0, m))
      .sort((x, y) => b[row + y] - b[row + x] || x - y)
      .slice(0, p.neighbours);
    for (const j of best) {
      cols.push(j);
      weights.push(b[row + j]);
    }
    offsets[i + 1] = cols.length;
  }
  return {
    ids,
    offsets,
    cols: Uint32Array.from(cols),
    weights: Float32Array.from(weights),
    users: lists.length,
  };
}

/** A model ready to score: the id → row lookup built once per load. */
export class CollaborativeScorer {
  private readonly rowOf: Map<string, number>;

  constructor(readonly model: CollaborativeModel) {
    this.rowOf = new Map(model.ids.map((id, i) => [id, i]));
  }

  /** Modelled items only. */
  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /**
   * Items the user's recent history (oldest first) points to, best first: Σ over seeds of seed weight × B[seed][item].
   * `exclude` drops items (seen, ineligible); `k` cuts the list.
   */
  score(recent: readonly Interaction[], exclude?: (id: string) => boolean, k = Infinity): ScoredItem[] {
    const { offsets, cols, weights, ids } = this.model;
    const acc = new Map<number, number>();
    const seen = new Set<string>();
    let position = 0;
    // Newest first; an item's latest event decides whether it seeds, and unmodelled seeds still take a position.
    for (let i = recent.length - 1; i >= 0 && position < COLLABORATIVE_SEEDS.lastN; i--) {
      const { itemId, weight } = recent[i];
      if (seen.has(itemId)) continue;
      seen.add(itemId);
      if (!(weight > 0)) continue;
      const r = Math.pow(COLLABORATIVE_SEEDS.recencyDecay, position++);
      const row = this.rowOf.get(itemId);
      if (row === undefined) continue;
      for (let t = offsets[row]; t < offsets[row + 1]; t++) {
        const j = cols[t];
        acc.set(j, (acc.get(j) ?? 0) + r * weights[t]);
      }
    }
    const out: ScoredItem[] = [];
    for (const [j, score] of acc) {
      const id = ids[j];
      if (score > 0 && !exclude?.(id)) out.push({ id, score });
    }
    out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    return Number.isFinite(k) ? out.slice(0, k) : out;
  }
}

const MAGIC = 0x43464d31; // "CFM1"

/** Binary form for Redis: magic, header length, JSON header {ids, users}, then offsets, cols, weights. */
export function encodeCollaborative(m: CollaborativeModel): Buffer {
  const header = Buffer.from(JSON.stringify({ ids: m.ids, users: m.users }));
  const pad = (4 - (header.length % 4)) % 4;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(header.length + pad, 4);
  return Buffer.concat([
    head,
    header,
    Buffer.alloc(pad, 0x20),
    Buffer.from(m.offsets.buffer, m.offsets.byteOffset, m.offsets.byteLength),
    Buffer.from(m.cols.buffer, m.cols.byteOffset, m.cols.byteLength),
    Buffer.from(m.weights.buffer, m.weights.byteOffset, m.weights.byteLength),
  ]);
}

export function decodeCollaborative(buf: Buffer): CollaborativeModel {
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC) throw new Error('not a collaborative model');
  const headerLength = buf.readUInt32LE(4);
  const { ids, users } = JSON.parse(buf.subarray(8, 8 + headerLength).toString()) as {
    ids: string[];
    users: number;
  };
  // Copied into aligned arrays (a Buffer from Redis may sit at any byte offset of its pool).
  let at = 8 + headerLength;
  const take = (bytes: number) => {
    const part = new Uint8Array(buf.subarray(at, at + bytes));
    at += bytes;
    if (part.length !== bytes) throw new Error('truncated collaborative model');
    return part.buffer;
  };
  const offsets = new Uint32Array(take(4 * (ids.length + 1)));
  const nnz = offsets[ids.length] ?? 0;
  const cols = new Uint32Array(take(4 * nnz));
  const weights = new Float32Array(take(4 * nnz));
  return { ids, offsets, cols, weights, users };
}
