// A user's interests: k-medoids over the embeddings of their recent positive items, one index query per interest.
import { dot4, maxCosine, normalize } from '../vector-math';
import type { Neighbour, VectorIndex } from '../vector-index';

export interface PositiveItem {
  id: string;
  vector: Float32Array;
  /** Event weight already decayed by age (see decayedWeight). */
  weight: number;
}

export interface Interest {
  /** An actual item: the member with the least weighted distance to the others. */
  medoidId: string;
  memberIds: string[];
  weight: number;
}

export interface ClusterParams {
  /** At most this many interests (≤ 5). */
  maxK: number;
  /** Split into k > 1 interests only if the best mean silhouette reaches this. */
  minSilhouette: number;
  /** And only if every two medoids are at least this cosine distance apart (silhouette alone is scale-free). */
  minMedoidDistance: number;
}

export const DEFAULT_CLUSTER: ClusterParams = { maxK: 5, minSilhouette: 0.1, minMedoidDistance: 0.2 };

/** Interactions kept per user (the history list length). */
export const USER_HISTORY_LENGTH = 200;
/** Most recent interactions the interests are clustered from. */
export const INTEREST_RECENT_N = 50;
export const INTEREST_HALF_LIFE_SECONDS = 30 * 86400;

/** w·2^(−age/halfLife): recent events count more. */
export function decayedWeight(weight: number, ageSeconds: number, halfLifeSeconds: number): number {
  return weight * Math.pow(2, -Math.max(0, ageSeconds) / halfLifeSeconds);
}

export function cosineDistances(vectors: readonly Float32Array[]): number[][] {
  const n = vectors.length;
  // Unit copies once, then one dot product per pair (cosine() would take each pair's norms again).
  const units = vectors.map(normalize);
  const d = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const c = units[i].length === units[j].length ? dot4(units[i], units[j]) : 0;
      d[i][j] = d[j][i] = Math.max(0, 1 - c);
    }
  return d;
}

export interface Clustering {
  medoids: number[];
  assign: number[];
  cost: number;
}

/** Weighted PAM (BUILD, then best-improvement SWAP) on a distance matrix; deterministic. */
export function kMedoids(dist: number[][], weights: readonly number[], k: number, maxSwaps = 50): Clustering {
  const n = dist.length;
  k = Math.max(1, Math.min(k, n));
  // Each point's distance to its nearest and second-nearest medoid, and which medoid is nearest (the first of equals):
  // a candidate's cost then takes O(n) instead of O(n·k), the same sum term by term, so the same choices.
  const near1 = new Float64Array(n).fill(Infinity);
  const near2 = new Float64Array(n).fill(Infinity);
  const nearest = new Int32Array(n).fill(-1);
  /** Brings near1/near2/nearest up to date with `meds`; returns their cost. */
  const track = (meds: readonly number[]): number => {
    near1.fill(Infinity);
    near2.fill(Infinity);
    let cost = 0;
    for (let i = 0; i < n; i++) {
      for (let m = 0; m < meds.length; m++) {
        const d = dist[i][meds[m]];
        if (d < near1[i]) {
          near2[i] = near1[i];
          near1[i] = d;
          nearest[i] = m;
        } else if (d < near2[i]) near2[i] = d;
      }
      cost += weights[i] * near1[i];
    }
    return cost;
  };
  const medoids: number[] = [];
  let cost = 0;
  // BUILD: greedily add the point that lowers the total cost most.
  while (medoids.length < k) {
    let bestPoint = -1;
    let bestCost = Infinity;
    for (let c = 0; c < n; c++) {
      if (medoids.includes(c)) continue;
      let trial = 0;
      for (let i = 0; i < n; i++) trial += weights[i] * Math.min(near1[i], dist[i][c]);
      if (trial < bestCost - 1e-12) [bestCost, bestPoint] = [trial, c];
    }
    medoids.push(bestPoint);
    cost = track(medoids);
  }
  for (let it = 0; it < maxSwaps; it++) {
    let best: { m: number; c: number; cost: number } | undefined;
    for (let m = 0; m < k; m++)
      for (let c = 0; c < n; c++) {
        if (medoids.includes(c)) continue;
        // Medoid m swapped for point c: a point of m's goes to c or its second-nearest, any other to c or stays.
        let trial = 0;
        for (let i = 0; i < n; i++) {
          const other = nearest[i] === m ? near2[i] : near1[i];
          trial += weights[i] * Math.min(other, dist[i][c]);
        }
        if (trial < (best?.cost ?? cost) - 1e-9) best = { m, c, cost: trial };
      }
    if (!best) break;
    medoids[best.m] = best.c;
    cost = track(medoids);
  }
  return { medoids, assign: Array.from(nearest), cost };
}

/** Mean silhouette; singletons score 0 as usual. */
export function silhouette(dist: number[][], assign: readonly number[], k: number): number {
  const n = dist.length;
  if (k < 2 || n <= k) return -1;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sum = new Array<number>(k).fill(0);
    const cnt = new Array<number>(k).fill(0);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      sum[assign[j]] += dist[i][j];
      cnt[assign[j]]++;
    }
    const own = assign[i];
    if (cnt[own] === 0) continue;
    const a = sum[own] / cnt[own];
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && cnt[c] > 0) b = Math.min(b, sum[c] / cnt[c]);
    total += Number.isFinite(b) && Math.max(a, b) > 0 ? (b - a) / Math.max(a, b) : 0;
  }
  return total / n;
}

/** Up to maxK interests, K chosen by silhouette (1 when no split is clearly better), heaviest first. */
export function clusterInterests(
  items: readonly PositiveItem[],
  p: ClusterParams = DEFAULT_CLUSTER,
): Interest[] {
  if (items.length === 0) return [];
  const dist = cosineDistances(items.map((i) => i.vector));
  const weights = items.map((i) => i.weight);
  let chosen = kMedoids(dist, weights, 1);
  let bestSil = p.minSilhouette;
  for (let k = 2; k <= Math.min(p.maxK, 5, items.length - 1); k++) {
    const c = kMedoids(dist, weights, k);
    if (!separated(dist, c.medoids, p.minMedoidDistance)) continue;
    const s = silhouette(dist, c.assign, k);
    if (s > bestSil) [bestSil, chosen] = [s, c];
  }
  const interests: Interest[] = chosen.medoids.map((m) => ({
    medoidId: items[m].id,
    memberIds: [],
    weight: 0,
  }));
  items.forEach((item, i) => {
    interests[chosen.assign[i]].memberIds.push(item.id);
    interests[chosen.assign[i]].weight += item.weight;
  });
  return interests.filter((i) => i.memberIds.length > 0).sort((a, b) => b.weight - a.weight);
}

function separated(dist: number[][], medoids: readonly number[], min: number): boolean {
  for (let a = 0; a < medoids.length; a++)
    for (let b = a + 1; b < medoids.length; b++) if (dist[medoids[a]][medoids[b]] < min) return false;
  return true;
}

/** Largest-remainder apportionment of `total` slots by weight; ties go to the earlier entry. */
export function allocateSlots(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, w) => a + Math.max(0, w), 0);
  if (weights.length === 0 || total <= 0) return weights.map(() => 0);
  if (sum <= 0)
    return allocateSlots(
      weights.map(() => 1),
      total,
    );
  const quotas = weights.map((w) => (Math.max(0, w) / sum) * total);
  const slots = quotas.map(Math.floor);
  let left = total - slots.reduce((a, s) => a + s, 0);
  const order = quotas.map((q, i) => ({ i, r: q - Math.floor(q) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left-- <= 0) break;
    slots[i]++;
  }
  return slots;
}

export interface DislikeParams {
  /** Candidates at least this cosine-similar to a disliked item are affected. */
  threshold: number;
  /** drop: remove them; penalise: subtract penalty·(sim−threshold)/(1−threshold) from the score. */
  mode: 'drop' | 'penalise';
  penalty: number;
}

export const DEFAULT_DISLIKE: DislikeParams = { threshold: 0.9, mode: 'drop', penalty: 0.5 };

/** Pushes results away from disliked items; returns the survivors re-sorted by score. */
export function applyDislikes(
  candidates: readonly Neighbour[],
  vectorOf: (id: string) => Float32Array | undefined,
  disliked: readonly Float32Array[],
  p: DislikeParams = DEFAULT_DISLIKE,
): Neighbour[] {
  if (disliked.length === 0) return candidates.slice();
  const units = disliked.map(normalize);
  const out: Neighbour[] = [];
  for (const c of candidates) {
    const v = vectorOf(c.id);
    const sim = v ? maxCosine(v, units) : -1;
    if (sim < p.threshold) out.push(c);
    else if (p.mode === 'penalise')
      out.push({
        id: c.id,
        score: c.score - (p.penalty * (sim - p.threshold)) / Math.max(1e-9, 1 - p.threshold),
      });
  }
  return out.sort((a, b) => b.score - a.score);
}

export interface InterestCandidate extends Neighbour {
  /** Index of the interest (heaviest first) this candidate came from. */
  interest: number;
}

export interface InterestQuery {
  /** Items never to return (already seen, unavailable). */
  exclude?: (id: string) => boolean;
  disliked?: readonly Float32Array[];
  dislike?: DislikeParams;
  /** Extra candidates fetched per slot so that exclusions and dislikes leave enough. */
  oversample?: number;
}

/** One index query per interest (medoid vector), slots ∝ weight, interleaved so interest i's j-th item sits at ~j/slots_i. */
export function interestCandidates(
  index: VectorIndex,
  interests: readonly Interest[],
  k: number,
  q: InterestQuery = {},
): InterestCandidate[] {
  const slots = allocateSlots(
    interests.map((i) => i.weight),
    k,
  );
  const taken = new Set<string>();
  const keyed: { c: InterestCandidate; key: number }[] = [];
  interests.forEach((interest, i) => {
    const query = index.vector(interest.medoidId);
    if (!query || slots[i] === 0) return;
    const fetch = slots[i] + (q.oversample ?? 20) + k;
    const filter = q.exclude ? (id: string) => !q.exclude!(id) : undefined;
    let hits = index.search(query, fetch, { filter });
    if (q.disliked?.length) hits = applyDislikes(hits, (id) => index.vector(id), q.disliked, q.dislike);
    let j = 0;
    for (const h of hits) {
      if (j >= slots[i]) break;
      if (taken.has(h.id)) continue;
      taken.add(h.id);
      keyed.push({ c: { ...h, interest: i }, key: (j + 0.5) / slots[i] });
      j++;
    }
  });
  return keyed.sort((a, b) => a.key - b.key || b.c.score - a.c.score).map((x) => x.c);
}

export interface HistoryEvent {
  itemId: string;
  /** Unix seconds. */
  ts: number;
  /** Event weight from the ranking config (view < cart < purchase). */
  weight: number;
  /** positive feeds interests, negative (dislike) pushes results away, neutral is ignored here. */
  polarity: 'positive' | 'neutral' | 'negative';
  /** Event type (view, purchase, …) when recorded; histories written before it was stored lack it. */
  type?: string;
}

export interface InterestInputs {
  positives: PositiveItem[];
  disliked: Float32Array[];
}

/** From a user's history (oldest first): the recent positive items with decayed, summed weights, and disliked vectors. */
export function interestInputs(
  history: readonly HistoryEvent[],
  vectorOf: (id: string) => Float32Array | undefined,
  nowSeconds: number,
  recentN = INTEREST_RECENT_N,
  halfLifeSeconds = INTEREST_HALF_LIFE_SECONDS,
): InterestInputs {
  const positive = new Map<string, PositiveItem>();
  const disliked: Float32Array[] = [];
  for (const e of history.slice(-recentN)) {
    const v = vectorOf(e.itemId);
    if (!v) continue;
    if (e.polarity === 'negative') disliked.push(v);
    if (e.polarity !== 'positive') continue;
    const w = decayedWeight(e.weight, nowSeconds - e.ts, halfLifeSeconds);
    const prev = positive.get(e.itemId);
    positive.set(e.itemId, { id: e.itemId, vector: v, weight: (prev?.weight ?? 0) + w });
  }
  return { positives: [...positive.values()], disliked };
}

export interface UserInterestOptions extends InterestQuery {
  cluster?: ClusterParams;
  recentN?: number;
  halfLifeSeconds?: number;
}

/** The user_interests source end to end: history → interests → k candidates (empty for a user without positives). */
export function userInterestCandidates(
  index: VectorIndex,
  history: readonly HistoryEvent[],
  nowSeconds: number,
  k: number,
  o: UserInterestOptions = {},
): InterestCandidate[] {
  const { positives, disliked } = interestInputs(
    history,
    (id) => index.vector(id),
    nowSeconds,
    o.recentN,
    o.halfLifeSeconds,
  );
  const interests = clusterInterests(positives, o.cluster ?? DEFAULT_CLUSTER);
  return interestCandidates(index, interests, k, { ...o, disliked: [...(o.disliked ?? []), ...disliked] });
}
