import { byScoreThenId } from './ranking/candidates';
import type { NeighbourList, VectorIndex, VersionedItems } from './vector-index';
import { dot } from './vector-math';

/** An index that says which ids changed since a version (HnswIndex): what the cache needs to stay exact. */
export type VersionedIndex = VectorIndex & VersionedItems;

export function isVersioned(index: VectorIndex): index is VersionedIndex {
  const v = index as Partial<VersionedItems>;
  return typeof v.version === 'number' && typeof v.changedSince === 'function';
}

interface Entry {
  /**
   * Best first (score, then id); every stored item scoring at least `floor` is in it, up to the walk's recall. Two
   * parallel arrays (the id strings are the index's own; the scores unboxed doubles): ~12 bytes per neighbour where
   * {id, score} objects took ~60.
   */
  ids: string[];
  scores: number[];
  /** -Infinity once the walk returned the whole index. */
  floor: number;
  /** The index's version the list is up to date with. */
  version: number;
}

// A walk asks for this much more than needed, so removals and slightly longer asks do not each need a new walk.
const HEADROOM = 1.25;
// More changes than this since an entry was last read and a new walk costs less than a cosine per change.
const MAX_CATCH_UP = 256;

// Neighbours budgeted per kept list: a list for a `similar` limit of 200 holds ~340 (walk for k / match fraction,
// plus headroom), a deeper one (a filter that removed the item's neighbourhood) ~5x that.
export const NEIGHBOURS_PER_LIST = 400;

/**
 * Unfiltered nearest neighbours of stored items, kept between requests: item-to-item lists as item-based
 * recommenders keep them, without a batch job. A list is walked on first use and then kept exact as the index
 * changes: at each read it catches up with the ids upserted or removed since (one cosine each), instead of walking
 * the graph again. Per index, the least recently used lists go first once they hold more than
 * `capacity` × NEIGHBOURS_PER_LIST neighbours in all (~12 bytes each, and 4 more where HnswIndex.keep remembers their
 * labels), so memory stays bounded however long the lists.
 */
export class NeighbourCache {
  private readonly byIndex = new WeakMap<VersionedIndex, { entries: Map<string, Entry>; held: number }>();

  constructor(
    /** Lists kept per index at NEIGHBOURS_PER_LIST each (~6 KB); fewer when they are longer; 0 turns the cache off. */
    readonly capacity: number,
  ) {}

  /**
   * At least the top `k` stored items around stored item `id` (itself included, as a walk finds it), best first,
   * or fewer when the index holds fewer; undefined when `id` is not in the index or the cache is off. The list is
   * the cache's own: read it before the next call, never change it.
   */
  nearest(index: VersionedIndex, id: string, k: number): NeighbourList | undefined {
    return this.list(index, id, k, true);
  }

  /** nearest() when the kept list can answer without a walk; otherwise undefined (and nothing is walked). */
  private list(index: VersionedIndex, id: string, k: number, mayWalk: boolean): NeighbourList | undefined {
    if (this.capacity <= 0 || k <= 0) return undefined;
    let kept = this.byIndex.get(index);
    if (!kept) {
      kept = { entries: new Map(), held: 0 };
      this.byIndex.set(index, kept);
    }
    const { entries } = kept;
    const old = entries.get(id);
    // Map order is insertion order: re-inserting makes the first key the least recently used.
    if (old) {
      entries.delete(id);
      kept.held -= old.ids.length;
    }
    const current = old && catchUp(index, id, old) && covers(old, k) ? old : undefined;
    if (!current && !mayWalk) {
      // Put back as it was (an entry that could not catch up walks on its next nearest()).
      if (old) {
        entries.set(id, old);
        kept.held += old.ids.length;
      }
      return undefined;
    }
    const entry = current ?? walk(index, id, k);
    if (!entry) return undefined;
    entries.set(id, entry);
    kept.held += entry.ids.length;
    const budget = this.capacity * NEIGHBOURS_PER_LIST;
    for (const [oldest, e] of entries) {
      if (kept.held <= budget || oldest === id) break;
      entries.delete(oldest);
      kept.held -= e.ids.length;
    }
    return entry;
  }

  /**
   * Every stored item with cosine ≥ `threshold` to one of `ids` (those in the index; they themselves included), read
   * off their kept lists: near duplicates of a user's dislikes cost a few list reads per request instead of a dot
   * product per candidate and dislike. A list whose every entry is that close is asked again for four times as many.
   * As exact as the lists (the graph walk's recall). With the cache off, every id in the index is in `notWalked`.
   *
   * At most `maxWalks` ids without a kept list are walked (in the order given): the rest come back in `notWalked`,
   * for the caller to compare with its candidates instead, so a first request for a user with a hundred dislikes
   * does not walk the graph a hundred times (~0.25 ms each) before answering. Their lists are walked on later calls,
   * `maxWalks` at a time.
   */
  within(
    index: VersionedIndex,
    ids: Iterable<string>,
    threshold: number,
    maxWalks = Infinity,
  ): { near: Set<string>; notWalked: string[] } {
    const near = new Set<string>();
    const notWalked: string[] = [];
    if (this.capacity <= 0) {
      for (const id of ids) if (index.has(id)) notWalked.push(id);
      return { near, notWalked };
    }
    let walks = 0;
    for (const id of ids) {
      for (let k = WITHIN_FIRST_K; ; k *= 4) {
        let list = this.list(index, id, k, false);
        if (!list && index.has(id)) {
          if (walks >= maxWalks) {
            notWalked.push(id);
            break;
          }
          walks++;
          list = this.list(index, id, k, true);
        }
        if (!list) break;
        let i = 0;
        for (; i < list.ids.length && list.scores[i] >= threshold; i++) near.add(list.ids[i]);
        // Done once the list goes below the threshold, or holds all there is.
        if (i < list.ids.length || list.ids.length < k || k >= index.size) break;
      }
    }
    return { near, notWalked };
  }
}

// Neighbours first asked for by within(): near duplicates of one item are rarely more.
const WITHIN_FIRST_K = 32;

/** The list holds the true top k (everything above its floor is in it) or the whole index. */
function covers(entry: Entry, k: number): boolean {
  return entry.ids.length >= k || entry.floor === -Infinity;
}

function walk(index: VersionedIndex, id: string, k: number): Entry | undefined {
  const vector = index.vector(id);
  if (!vector) return undefined;
  const found = index.search(vector, Math.ceil(k * HEADROOM)).sort(byScoreThenId);
  const n = found.length;
  const floor = n >= index.size ? -Infinity : n > 0 ? found[n - 1].score : Infinity;
  const ids = new Array<string>(n);
  const scores = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = found[i].id;
    scores[i] = found[i].score;
  }
  return { ids, scores, floor, version: index.version };
}

/**
 * Brings a list up to date with the ids changed since it was: drops each, and puts it back where it now scores
 * if it is still stored and scores at least the floor. False when only a new walk can tell (the item itself
 * changed, or too much did).
 */
function catchUp(index: VersionedIndex, id: string, entry: Entry): boolean {
  if (entry.version === index.version) return true;
  const changed = index.changedSince(entry.version);
  if (!changed || changed.length > MAX_CATCH_UP) return false;
  // Not kept in the entry (2 KB at 512 dimensions): read again only when there is something to catch up with.
  const vector = index.vector(id);
  if (!vector) return false;
  const done = new Set<string>();
  const { ids, scores } = entry;
  for (const other of changed) {
    if (other === id) return false;
    if (done.has(other)) continue;
    done.add(other);
    const at = ids.indexOf(other);
    if (at >= 0) {
      ids.splice(at, 1);
      scores.splice(at, 1);
    }
    const v = index.vector(other);
    if (!v || v.length !== vector.length) continue;
    const score = dot(vector, v);
    if (score < entry.floor) continue;
    // First position that does not sort before (score, other): best first, ties by id.
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (scores[mid] > score || (scores[mid] === score && ids[mid] < other)) lo = mid + 1;
      else hi = mid;
    }
    ids.splice(lo, 0, other);
    scores.splice(lo, 0, score);
  }
  entry.version = index.version;
  return true;
}
