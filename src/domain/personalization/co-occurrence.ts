// Item co-occurrence ("bought together"): pairs of items one user/session touched close together in time.

export interface Interaction {
  itemId: string;
  /** Unix seconds. */
  ts: number;
  /** Event weight (e.g. view 1, purchase 3); must be > 0 to count. */
  weight: number;
}

export interface CoOccurrenceWindow {
  /** Pair an incoming event with at most this many previous interactions of the same user/session. */
  maxSteps: number;
  /** And only with those at most this many seconds older (undefined: no time limit). */
  maxSeconds?: number;
  /** Pair weight multiplier per extra step apart: decay^(distance-1). */
  distanceDecay: number;
  /** Weight of the reverse edge (later → earlier); 1 makes the relation symmetric. */
  backwardWeight: number;
  /** Pair weight halves per this many seconds between the two events (undefined: no time decay). */
  gapHalfLifeSeconds?: number;
  /**
   * Research only (the worker does not apply it): inverse user activity ("inverse user frequency" of item-kNN), a
   * pair counts 1/activityFactor(n), n = the user's/session's interactions before the incoming one (at most as many
   * as the worker keeps). Undefined: off. No gain on MovieLens validation (`tune-validation.ts activity`).
   */
  userActivity?: UserActivity;
}

export interface UserActivity {
  /** 'log': 1/log2(2+n)^power; 'power': 1/(1+n)^power. */
  form: 'log' | 'power';
  power: number;
}

/** The divisor a pair is weighed down by, given n interactions before the incoming one (1 when off). */
export function activityFactor(n: number, a?: UserActivity): number {
  if (!a || a.power === 0) return 1;
  const base = a.form === 'log' ? Math.log2(2 + Math.max(0, n)) : 1 + Math.max(0, n);
  return Math.pow(base, a.power);
}

export interface PairUpdate {
  from: string;
  to: string;
  weight: number;
}

/** Chosen on the MovieLens validation split; a one-day limit keeps pairs within a visit on product data. */
export const DEFAULT_WINDOW: CoOccurrenceWindow = {
  maxSteps: 5,
  maxSeconds: 24 * 3600,
  distanceDecay: 1,
  backwardWeight: 1,
};

/** Edge increments an incoming event produces against the user's previous interactions (oldest first). */
export function pairUpdates(
  previous: readonly Interaction[],
  incoming: Interaction,
  w: CoOccurrenceWindow = DEFAULT_WINDOW,
  /** Interactions of this user/session before `incoming` (for userActivity); default: previous.length. */
  priorCount = previous.length,
): PairUpdate[] {
  const out: PairUpdate[] = [];
  if (incoming.weight <= 0) return out;
  const activity = activityFactor(priorCount, w.userActivity);
  let steps = 0;
  for (let i = previous.length - 1; i >= 0 && steps < w.maxSteps; i--) {
    const prev = previous[i];
    if (w.maxSeconds !== undefined && incoming.ts - prev.ts > w.maxSeconds) break;
    steps++;
    // A repeat of the same item is one step of distance but no pair.
    if (prev.itemId === incoming.itemId || prev.weight <= 0) continue;
    const gap = w.gapHalfLifeSeconds
      ? Math.pow(2, -Math.max(0, incoming.ts - prev.ts) / w.gapHalfLifeSeconds)
      : 1;
    const pw =
      (gap * Math.pow(w.distanceDecay, steps - 1) * Math.sqrt(prev.weight * incoming.weight)) / activity;
    out.push({ from: prev.itemId, to: incoming.itemId, weight: pw });
    if (w.backwardWeight > 0)
      out.push({ from: incoming.itemId, to: prev.itemId, weight: pw * w.backwardWeight });
  }
  return out;
}

/** Read side of the co-occurrence store: a capped neighbour list and an edge total per item. */
export interface NeighbourSource {
  neighbours(itemId: string): Iterable<[string, number]>;
  /** Sum of all edge weight that ever left this item (kept even when the list is capped). */
  total(itemId: string): number;
}

/** Mirror of the Redis layout: a sorted set per item, trimmed to `cap` at slack·cap so new pairs can grow before the cut. */
export class CoOccurrenceStore implements NeighbourSource {
  private readonly edges = new Map<string, Map<string, number>>();
  private readonly totals = new Map<string, number>();

  constructor(
    private readonly cap = Infinity,
    /** Trim a list once it holds slack·cap members (ZREMRANGEBYRANK after ZINCRBY). */
    private readonly slack = 2,
  ) {}

  apply(updates: readonly PairUpdate[]): void {
    for (const u of updates) this.add(u.from, u.to, u.weight);
  }

  add(from: string, to: string, weight: number): void {
    let row = this.edges.get(from);
    if (!row) this.edges.set(from, (row = new Map<string, number>()));
    row.set(to, (row.get(to) ?? 0) + weight);
    this.totals.set(from, (this.totals.get(from) ?? 0) + weight);
    if (row.size >= this.slack * this.cap) this.edges.set(from, topOf(row, this.cap));
  }

  /** Final trim (what a compaction pass does) so every list is at most `cap` long. */
  compact(): void {
    for (const [id, row] of this.edges) if (row.size > this.cap) this.edges.set(id, topOf(row, this.cap));
  }

  neighbours(itemId: string): Iterable<[string, number]> {
    return this.edges.get(itemId) ?? [];
  }

  total(itemId: string): number {
    return this.totals.get(itemId) ?? 0;
  }
}

function topOf(row: Map<string, number>, n: number): Map<string, number> {
  return new Map([...row].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n));
}

/** Replays one user's/session's time-ordered interactions into a store. */
export function replayInteractions(
  store: CoOccurrenceStore,
  interactions: readonly Interaction[],
  w: CoOccurrenceWindow = DEFAULT_WINDOW,
  /** The most interactions a user's/session's list keeps (the activity count stops there). */
  historyLength = Infinity,
  /** Research: count activity as the whole history's length instead of the interactions so far. */
  wholeHistory = false,
): void {
  for (let i = 0; i < interactions.length; i++) {
    const n = Math.min(wholeHistory ? interactions.length - 1 : i, historyLength);
    store.apply(pairUpdates(interactions.slice(Math.max(0, i - w.maxSteps), i), interactions[i], w, n));
  }
}

export interface CoOccurrenceScoring {
  /** How many of the user's most recent distinct items seed the score. */
  lastN: number;
  /** Seed weight multiplier per position back from the most recent item. */
  recencyDecay: number;
  /** Seed weight also halves per this many seconds it is older than the newest seed (an earlier visit counts less). */
  seedHalfLifeSeconds?: number;
  /** Divide each seed's edges by its total^this (1: a seed is a distribution; 0: raw counts). */
  seedNormalisation: number;
  /** Divide candidate scores by the candidate's own total^this (damps items that co-occur with everything). */
  popularityDamping: number;
  /**
   * Multiply a candidate's score by (number of seeds it neighbours)^this: an item several recent items agree on
   * ranks above one seed's single strong neighbour (a search engine's coordination factor; 0 = off).
   */
  agreementPower?: number;
  /**
   * Research only (the reader does not set it): seed weight also times (its latest event's weight)^this, so a
   * purchase seeds more than a view (0/undefined = off). No gain on MovieLens validation (`tune-validation.ts norm`).
   */
  seedWeightPower?: number;
}

/**
 * Chosen on the MovieLens validation splits (3 folds; `tune-validation.ts seeds`): ten seeds with agreement beat five
 * without on every fold, and also with co-occurrence from 10% / 3% of users and in a causal replay.
 */
export const DEFAULT_SCORING: CoOccurrenceScoring = {
  lastN: 10,
  recencyDecay: 0.5,
  seedHalfLifeSeconds: 86400,
  seedNormalisation: 0.5,
  popularityDamping: 0,
  agreementPower: 0.25,
};

export interface Seed {
  id: string;
  /** Recency weight. */
  r: number;
}

/**
 * The most recent distinct items of a history (oldest first) with their recency weights, newest first. An item
 * whose latest event is negative (a dislike) is not a seed.
 */
export function seedsOf(recent: readonly Interaction[], s: CoOccurrenceScoring = DEFAULT_SCORING): Seed[] {
  const seeds: Seed[] = [];
  const seen = new Set<string>();
  const newest = recent.length > 0 ? recent[recent.length - 1].ts : 0;
  for (let i = recent.length - 1; i >= 0 && seeds.length < s.lastN; i--) {
    const { itemId: id, ts, weight } = recent[i];
    if (seen.has(id)) continue;
    seen.add(id);
    if (weight < 0) continue;
    let r = Math.pow(s.recencyDecay, seeds.length);
    if (s.seedHalfLifeSeconds) r *= Math.pow(2, -Math.max(0, newest - ts) / s.seedHalfLifeSeconds);
    if (s.seedWeightPower && weight > 0) r *= Math.pow(weight, s.seedWeightPower);
    seeds.push({ id, r });
  }
  return seeds;
}

/** Neighbours kept per item in the store (Redis sorted set length). */
export const DEFAULT_NEIGHBOUR_CAP = 200;

export interface ScoredItem {
  id: string;
  score: number;
}

export interface CoOccurrenceResult {
  items: ScoredItem[];
  /** Raw edge weight behind the list (recency-weighted), used to trust this source more or less. */
  evidence: number;
}

/** Candidates from the user's recent items (oldest first, any polarity), best first; `exclude` drops seen items. */
export function scoreCoOccurrence(
  recent: readonly Interaction[],
  store: NeighbourSource,
  s: CoOccurrenceScoring = DEFAULT_SCORING,
  exclude?: (id: string) => boolean,
  k = Infinity,
): CoOccurrenceResult {
  const seeds = seedsOf(recent, s);
  const scores = new Map<string, number>();
  const support = new Map<string, number>();
  let evidence = 0;
  for (const seed of seeds) {
    const total = store.total(seed.id);
    if (total <= 0) continue;
    const norm = Math.pow(total, s.seedNormalisation);
    for (const [id, w] of store.neighbours(seed.id)) {
      evidence += seed.r * w;
      if (exclude?.(id)) continue;
      scores.set(id, (scores.get(id) ?? 0) + (seed.r * w) / norm);
      support.set(id, (support.get(id) ?? 0) + 1);
    }
  }
  const items: ScoredItem[] = [];
  for (const [id, sc] of scores) {
    const damp = s.popularityDamping > 0 ? Math.pow(Math.max(store.total(id), 1), s.popularityDamping) : 1;
    const agree = s.agreementPower ? Math.pow(support.get(id)!, s.agreementPower) : 1;
    items.push({ id, score: (sc * agree) / damp });
  }
  items.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return { items: Number.isFinite(k) ? items.slice(0, k) : items, evidence };
}
