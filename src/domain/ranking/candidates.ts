import { exactSearch } from '../exact-index';
import type { FilterMemo, Neighbour, NeighbourList, SearchOptions, VectorIndex } from '../vector-index';
import { normalize } from '../vector-math';

/** One candidate from one source; `score` is on the source's own scale (cosine for vector sources). */
export interface Candidate {
  id: string;
  score: number;
}

export interface SimilarOptions {
  /** Only ids passing this come back (exclusions, already-served: whatever is particular to the request). */
  filter?: (id: string) => boolean;
  /** And this, a test of the items alone (filters, hides), which the index may remember per item in `memo`. */
  itemFilter?: (id: string) => boolean;
  memo?: FilterMemo;
  /** Never returned (context items, explicit excludes); cheaper than folding them into `filter`. */
  excludeIds?: ReadonlySet<string>;
  /** ANN asks for k × oversample neighbours so post-filtered results still fill k; default 2. */
  oversample?: number;
  /** Below this estimated match fraction, scan the matching ids exactly instead of walking the graph; default 0.02. */
  exactBelowFraction?: number;
  /** Known match fraction (e.g. from a secondary index); skips the sampled estimate. */
  matchFraction?: number;
  /** Ids `filter` is known to drop beyond the sampled fraction (explicit exclusions, already served): extra room in k. */
  reserve?: number;
  /** At or above this match fraction, walk the graph unfiltered for k / fraction and filter after; default 0.25. */
  postFilterAbove?: number;
  /**
   * Fewer than k is acceptable from this many on when reaching k would take a filtered walk after the unfiltered
   * one (the filter removed most of the query's neighbourhood); default k. Callers set what their page needs.
   */
  enough?: number;
  /** How far that filtered walk goes when it is needed after all (at least `enough`); default k. */
  topUp?: number;
  /** Ids sampled for the estimate; default 1000. */
  sampleSize?: number;
  /**
   * The unfiltered top k around a query when already known (a stored item's kept neighbour list), best first;
   * used instead of the unfiltered walk, with the filters applied here. Undefined: walk.
   */
  nearest?: (query: Float32Array, k: number) => NeighbourList | undefined;
  ef?: number;
}

export interface SimilarResult {
  candidates: Candidate[];
  /**
   * Which path produced the list: ANN (filter inside the walk), ANN then filter (most items match), exact scan
   * (selective filter), or a fallback after the first path came back short.
   */
  strategy: 'ann' | 'ann-post' | 'ann-post+ann' | 'exact' | 'ann+exact';
  estimatedMatchFraction: number;
}

/** Share of indexed ids passing `accept`, from an evenly strided sample (insertion order is not random). */
export function estimateMatchFraction(
  index: VectorIndex,
  accept: (id: string) => boolean,
  sampleSize = 1000,
): number {
  const size = index.size;
  if (size === 0) return 0;
  if (index.sample) {
    const ids = index.sample(sampleSize);
    return ids.length === 0 ? 0 : ids.filter(accept).length / ids.length;
  }
  const stride = Math.max(1, Math.floor(size / sampleSize));
  let seen = 0;
  let hits = 0;
  let i = 0;
  for (const id of index.ids()) {
    if (i++ % stride !== 0) continue;
    seen++;
    if (accept(id)) hits++;
  }
  return seen === 0 ? 0 : hits / seen;
}

// How much deeper than the post-filtered walk a kept neighbour list is read before a filtered walk is tried.
const KEPT_DEEPER = 4;

/** Best score first, ties by id: the one order every candidate list and page uses. */
export const byScoreThenId = (a: { score: number; id: string }, b: { score: number; id: string }): number =>
  b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function mergeMax(lists: Neighbour[][], k: number): Candidate[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  // One walk never repeats an id: only the order (ties by id) and the cut are left to do.
  if (nonEmpty.length <= 1) return (nonEmpty[0] ?? []).slice().sort(byScoreThenId).slice(0, k);
  const best = new Map<string, number>();
  for (const list of lists) {
    for (const n of list) {
      const prev = best.get(n.id);
      if (prev === undefined || n.score > prev) best.set(n.id, n.score);
    }
  }
  return [...best]
    .map(([id, score]) => ({ id, score }))
    .sort(byScoreThenId)
    .slice(0, k);
}

function exactScan(index: VectorIndex, queries: Float32Array[], k: number, accept: (id: string) => boolean) {
  const matching: [string, Float32Array][] = [];
  for (const id of index.ids()) {
    if (!accept(id)) continue;
    const v = index.vector(id);
    if (v) matching.push([id, v]);
  }
  return mergeMax(
    queries.map((q) => exactSearch(matching, q, k)),
    k,
  );
}

/** Top-k nearest to any query vector; an exact scan of the matches replaces ANN when the filter is selective or ANN falls short. */
export function similarCandidates(
  index: VectorIndex,
  queryVectors: readonly Float32Array[],
  k: number,
  options: SimilarOptions = {},
): SimilarResult {
  const queries = queryVectors.filter((q) => q.length === index.dimension);
  if (k <= 0 || queries.length === 0 || index.size === 0) {
    return { candidates: [], strategy: 'ann', estimatedMatchFraction: 0 };
  }
  const { filter, excludeIds, itemFilter } = options;
  const excludes = excludeIds !== undefined && excludeIds.size > 0;
  const constrained = filter !== undefined || excludes || itemFilter !== undefined;
  const perRequest =
    filter || excludes
      ? (id: string): boolean => !(excludeIds?.has(id) ?? false) && (filter ? filter(id) : true)
      : undefined;
  const accept = (id: string): boolean =>
    (perRequest === undefined || perRequest(id)) && (itemFilter === undefined || itemFilter(id));
  // The index applies both: the item test (remembered per item when a memo is given) and the request's own.
  const filters: SearchOptions = itemFilter
    ? { filter: itemFilter, memo: options.memo, also: perRequest, ef: options.ef }
    : { filter: perRequest, ef: options.ef };

  const fraction = !constrained
    ? 1
    : (options.matchFraction ?? estimateMatchFraction(index, accept, options.sampleSize ?? 1000));
  const threshold = options.exactBelowFraction ?? 0.02;
  const oversample = Math.max(1, options.oversample ?? 2);
  // Exact when few ids match, or when the whole index is small enough that a scan costs less than a walk.
  if (constrained && (fraction < threshold || fraction * index.size <= k * oversample)) {
    return {
      candidates: exactScan(index, queries, k, accept),
      strategy: 'exact',
      estimatedMatchFraction: fraction,
    };
  }

  // Most items match: one walk without a per-node JS callback, asked for enough that k survive the filter.
  const reserve = Math.max(0, options.reserve ?? 0);
  const enough = Math.min(k, Math.max(1, Math.floor(options.enough ?? k)));
  let survivors: Neighbour[][] = [];
  if (constrained && fraction >= (options.postFilterAbove ?? 0.25)) {
    // A margin for sampling error only when every one of k is needed; otherwise a few short of k is fine.
    const margin = enough < k ? 4 : Math.ceil(0.1 * k) + 4;
    const wide = Math.min(index.size, Math.ceil((k + reserve) / fraction) + margin);
    const known = (q: Float32Array, depth: number): Neighbour[] | undefined => {
      const list = options.nearest?.(q, depth);
      if (!list) return undefined;
      if (index.keep) return index.keep(list, depth, filters);
      const passing: Neighbour[] = [];
      for (let i = 0; i < list.ids.length && i < depth; i++) {
        if (accept(list.ids[i])) passing.push({ id: list.ids[i], score: list.scores[i] });
      }
      return passing;
    };
    survivors = queries.map(
      (q) => known(q, wide) ?? index.search(q, wide, { ...filters, filterAfter: true }),
    );
    const merged = mergeMax(survivors, k);
    if (merged.length >= enough || wide >= index.size) {
      return { candidates: merged, strategy: 'ann-post', estimatedMatchFraction: fraction };
    }
    // The filter removed most of the query's neighbourhood. Kept lists can go deeper for what the filtered walk
    // below would find: the deeper list is walked once and kept, where the filtered walk crosses the rejected
    // neighbourhood again on every request.
    if (options.nearest && wide * KEPT_DEEPER < index.size) {
      const deep = queries.map((q) => known(q, wide * KEPT_DEEPER));
      if (deep.every((d) => d !== undefined)) {
        const found = mergeMax(deep, k);
        if (found.length >= enough) {
          return { candidates: found, strategy: 'ann-post', estimatedMatchFraction: fraction };
        }
      }
    }
  }

  // The filter runs inside the walk. After a short post-filtered walk (the filter removed the query's own
  // neighbourhood) it only has to reach `enough`: each extra result costs a long walk through rejected items.
  const target = survivors.length > 0 ? Math.min(k, Math.max(enough, Math.floor(options.topUp ?? k))) : k;
  const annK = Math.min(index.size, Math.ceil(target * oversample));
  const lists = queries.map((q) => index.search(q, annK, filters));
  const merged = mergeMax([...survivors, ...lists], k);
  if (merged.length >= target || merged.length >= index.size) {
    return {
      candidates: merged,
      strategy: survivors.length > 0 ? 'ann-post+ann' : 'ann',
      estimatedMatchFraction: fraction,
    };
  }
  // The sample overestimated the matches or the graph lost reachability (deletes): the scan is the ground truth.
  return {
    candidates: exactScan(index, queries, k, accept),
    strategy: 'ann+exact',
    estimatedMatchFraction: fraction,
  };
}

/** Qdrant's average_vector: avgPos + (avgPos − avgNeg) over unit inputs so no long vector dominates; undefined without positives. */
export function recommendVector(
  positives: readonly Float32Array[],
  negatives: readonly Float32Array[] = [],
): Float32Array | undefined {
  if (positives.length === 0) return undefined;
  const dim = positives[0].length;
  const avg = (vs: readonly Float32Array[]): Float32Array => {
    const out = new Float32Array(dim);
    for (const v of vs) {
      const u = normalize(v);
      for (let i = 0; i < dim; i++) out[i] += u[i] / vs.length;
    }
    return out;
  };
  const pos = avg(positives);
  if (negatives.length === 0) return normalize(pos);
  const neg = avg(negatives);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = 2 * pos[i] - neg[i];
  return normalize(out);
}
