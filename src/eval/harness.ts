// Runs each recommender over the protocol's cases, in-process on the pure domain functions (no Redis).
import { ExactIndex } from '../domain/exact-index';
import { normalize } from '../domain/vector-math';
import {
  CoOccurrenceStore,
  pairUpdates,
  replayInteractions,
  scoreCoOccurrence,
  type CoOccurrenceResult,
  type CoOccurrenceScoring,
  type CoOccurrenceWindow,
  type Interaction,
} from '../domain/personalization/co-occurrence';
import { PopularityCounter } from '../domain/personalization/popularity';
import {
  userInterestCandidates,
  type ClusterParams,
  type DislikeParams,
  type HistoryEvent,
  USER_HISTORY_LENGTH,
} from '../domain/personalization/user-interests';
import { blend, type BlendParams, type SourceList } from '../domain/personalization/blend';
import type { Rating } from './movielens';
import { buildCases, summarise, type EvalCase, type Metrics, type Split } from './protocol';

const DAY = 86400;

export interface ResearchConfig {
  /** Event weight of a rating as replayed (the service's per-event-type weight). */
  eventWeight: (rating: number) => number;
  window: CoOccurrenceWindow;
  scoring: CoOccurrenceScoring;
  /** Neighbours kept per item, as in the Redis sorted sets. */
  cap: number;
  /** Lists are trimmed back to `cap` when they reach capSlack·cap. */
  capSlack: number;
  /** Co-occurrence only from events before each user's request time (as live), instead of all replayed histories. */
  causal: boolean;
  /**
   * Research: window.userActivity counts the user's whole history (classic inverse user frequency) instead of
   * the interactions so far (what a live worker can know). Not with `causal`.
   */
  activityWholeHistory?: boolean;
  /** Share of users whose histories feed co-occurrence (< 1 simulates a sparse catalogue). */
  coocUserShare: number;
  trendingHalfLifeDays: number;
  interests: {
    /** How many recent interactions are considered. */
    recentN: number;
    minPositiveRating: number;
    maxDislikedRating: number;
    halfLifeDays: number;
    cluster: ClusterParams;
    dislike: DislikeParams;
  };
  /** Candidates each source hands to the blend. */
  depth: number;
  blend: BlendParams;
}

export type Method = 'popularity' | 'trending' | 'content' | 'user_interests' | 'co_occurrence' | 'default';
export const METHODS: Method[] = [
  'popularity',
  'trending',
  'content',
  'user_interests',
  'co_occurrence',
  'default',
];

export interface Dataset {
  itemIds: string[];
  vectors: Float32Array[];
  ratings: Rating[];
}

export class Harness {
  readonly cases: EvalCase[];
  private readonly index: ExactIndex;
  private readonly vec = new Map<string, Float32Array>();
  private coocStore?: CoOccurrenceStore;
  private coocKey = '';
  private popular?: string[];
  private trending?: Map<string, string[]>;
  private trendingKey = '';
  private interestCache = new Map<string, ReturnType<Harness['computeInterests']>>();

  constructor(
    readonly data: Dataset,
    readonly split: Split,
  ) {
    this.cases = buildCases(data.ratings, split);
    this.index = new ExactIndex(data.vectors[0].length);
    data.itemIds.forEach((id, i) => {
      this.index.upsert(id, data.vectors[i]);
      this.vec.set(id, data.vectors[i]);
    });
  }

  private interactions(history: readonly Rating[], cfg: ResearchConfig): Interaction[] {
    return history.map((r) => ({ itemId: r.itemId, ts: r.ts, weight: cfg.eventWeight(r.rating) }));
  }

  /** Co-occurrence from every user's replayed history; rebuilt only when the window, weights or cap change. */
  store(cfg: ResearchConfig): CoOccurrenceStore {
    const key = JSON.stringify([
      cfg.window,
      cfg.cap,
      cfg.capSlack,
      cfg.coocUserShare,
      cfg.activityWholeHistory ?? false,
      [0.5, 1, 2, 3, 3.5, 4, 4.5, 5].map(cfg.eventWeight),
    ]);
    if (this.coocStore && key === this.coocKey) return this.coocStore;
    const s = new CoOccurrenceStore(cfg.cap, cfg.capSlack);
    for (const c of this.cases) {
      // A fixed pseudo-random share of users, so sparse runs are repeatable.
      if (cfg.coocUserShare < 1 && ((Number(c.userId) * 2654435761) % 1000) / 1000 >= cfg.coocUserShare)
        continue;
      replayInteractions(
        s,
        this.interactions(c.history, cfg),
        cfg.window,
        USER_HISTORY_LENGTH,
        cfg.activityWholeHistory,
      );
    }
    s.compact();
    this.coocStore = s;
    this.coocKey = key;
    return s;
  }

  /** All-time count of replayed events (the plain popularity baseline). */
  private popularity(): string[] {
    if (this.popular) return this.popular;
    const count = new Map<string, number>();
    for (const c of this.cases)
      for (const r of c.history) count.set(r.itemId, (count.get(r.itemId) ?? 0) + 1);
    this.popular = [...count].sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0])).map((e) => e[0]);
    return this.popular;
  }

  /** Decayed popularity as the service would see it at each user's request time: only events up to then. */
  private trendingAt(cfg: ResearchConfig): Map<string, string[]> {
    const key = JSON.stringify([
      cfg.trendingHalfLifeDays,
      [0.5, 1, 2, 3, 3.5, 4, 4.5, 5].map(cfg.eventWeight),
    ]);
    if (this.trending && key === this.trendingKey) return this.trending;
    const events = this.cases.flatMap((c) => c.history).sort((a, b) => a.ts - b.ts);
    const byTime = [...this.cases].sort((a, b) => requestTime(a) - requestTime(b));
    const counter = new PopularityCounter({
      halfLifeSeconds: cfg.trendingHalfLifeDays * DAY,
      epochSeconds: events[0].ts,
    });
    const out = new Map<string, string[]>();
    let e = 0;
    for (const c of byTime) {
      const now = requestTime(c);
      while (e < events.length && events[e].ts <= now) {
        counter.add(events[e].itemId, cfg.eventWeight(events[e].rating), events[e].ts);
        e++;
      }
      const seen = new Set(c.history.map((h) => h.itemId));
      out.set(
        c.userId,
        counter.top(cfg.depth, now, (id) => seen.has(id)).map((x) => x.id),
      );
    }
    this.trending = out;
    this.trendingKey = key;
    return out;
  }

  private causalCache = new Map<string, Map<string, CoOccurrenceResult>>();

  /** Replays every history in global time order and scores each user at their request time. */
  private causalCooc(cfg: ResearchConfig): Map<string, CoOccurrenceResult> {
    const key = JSON.stringify([cfg.window, cfg.scoring, cfg.cap, cfg.capSlack, cfg.depth]);
    const hit = this.causalCache.get(key);
    if (hit) return hit;
    const events = this.cases
      .flatMap((c) => c.history.map((r, i) => ({ r, i })))
      .sort((a, b) => a.r.ts - b.r.ts || Number(a.r.userId) - Number(b.r.userId) || a.i - b.i);
    const byTime = [...this.cases].sort((a, b) => requestTime(a) - requestTime(b));
    const store = new CoOccurrenceStore(cfg.cap, cfg.capSlack);
    const perUser = new Map<string, Interaction[]>();
    const out = new Map<string, CoOccurrenceResult>();
    let e = 0;
    for (const c of byTime) {
      for (; e < events.length && events[e].r.ts <= requestTime(c); e++) {
        const r = events[e].r;
        const prev = perUser.get(r.userId) ?? [];
        const ev = { itemId: r.itemId, ts: r.ts, weight: cfg.eventWeight(r.rating) };
        store.apply(
          pairUpdates(
            prev.slice(-cfg.window.maxSteps),
            ev,
            cfg.window,
            Math.min(prev.length, USER_HISTORY_LENGTH),
          ),
        );
        prev.push(ev);
        perUser.set(r.userId, prev);
      }
      const seen = new Set(c.history.map((h) => h.itemId));
      const recent = this.interactions(c.history, cfg);
      out.set(
        c.userId,
        scoreCoOccurrence(recent, store, cfg.scoring, (id) => seen.has(id), cfg.depth),
      );
    }
    this.causalCache.set(key, out);
    return out;
  }

  private coocFor(c: EvalCase, cfg: ResearchConfig, k: number): CoOccurrenceResult {
    if (cfg.causal) {
      const r = this.causalCooc({ ...cfg, depth: Math.max(k, cfg.depth) }).get(c.userId)!;
      return { items: r.items.slice(0, k), evidence: r.evidence };
    }
    const seen = new Set(c.history.map((h) => h.itemId));
    return scoreCoOccurrence(
      this.interactions(c.history, cfg),
      this.store(cfg),
      cfg.scoring,
      (id) => seen.has(id),
      k,
    );
  }

  sources(c: EvalCase, cfg: ResearchConfig, only?: string[]): SourceList[] {
    const seen = new Set(c.history.map((h) => h.itemId));
    const exclude = (id: string) => seen.has(id);
    const lists: SourceList[] = [];
    const want = (s: string) => !only || only.includes(s);
    if (want('bought_together')) {
      const r = this.coocFor(c, cfg, cfg.depth);
      lists.push({ source: 'bought_together', items: r.items, evidence: r.evidence });
    }
    if (want('user_interests'))
      lists.push({ source: 'user_interests', items: this.userInterests(c, cfg, exclude) });
    if (want('trending')) {
      const ids = this.trendingAt(cfg).get(c.userId) ?? [];
      lists.push({ source: 'trending', items: ids.map((id, i) => ({ id, score: ids.length - i })) });
    }
    return lists;
  }

  /** Cached per user and interest settings: clustering plus index queries dominate the run time. */
  userInterests(c: EvalCase, cfg: ResearchConfig, exclude: (id: string) => boolean) {
    const key = JSON.stringify([c.userId, cfg.interests, cfg.depth, [1, 2, 3, 4, 5].map(cfg.eventWeight)]);
    let hit = this.interestCache.get(key);
    if (!hit) this.interestCache.set(key, (hit = this.computeInterests(c, cfg, exclude)));
    return hit;
  }

  private computeInterests(c: EvalCase, cfg: ResearchConfig, exclude: (id: string) => boolean) {
    const p = cfg.interests;
    const history: HistoryEvent[] = c.history.map((r) => ({
      itemId: r.itemId,
      ts: r.ts,
      weight: cfg.eventWeight(r.rating),
      polarity:
        r.rating >= p.minPositiveRating
          ? 'positive'
          : r.rating <= p.maxDislikedRating
            ? 'negative'
            : 'neutral',
    }));
    return userInterestCandidates(this.index, history, requestTime(c), cfg.depth, {
      exclude,
      dislike: p.dislike,
      cluster: p.cluster,
      recentN: p.recentN,
      halfLifeSeconds: p.halfLifeDays * DAY,
    });
  }

  top10(c: EvalCase, method: Method, cfg: ResearchConfig): string[] {
    const seen = new Set(c.history.map((h) => h.itemId));
    const exclude = (id: string) => seen.has(id);
    switch (method) {
      case 'popularity':
        return this.popularity()
          .filter((id) => !seen.has(id))
          .slice(0, 10);
      case 'trending':
        return (this.trendingAt(cfg).get(c.userId) ?? []).slice(0, 10);
      case 'content': {
        const last = [...new Set(c.history.map((h) => h.itemId))].slice(-5);
        const mean = new Float32Array(this.index.dimension);
        for (const id of last) this.vec.get(id)?.forEach((x, i) => (mean[i] += x));
        return this.index.search(normalize(mean), 10, { filter: (id) => !exclude(id) }).map((n) => n.id);
      }
      case 'user_interests':
        return this.userInterests(c, { ...cfg, depth: 10 }, exclude).map((n) => n.id);
      case 'co_occurrence':
        return this.coocFor(c, cfg, 10).items.map((n) => n.id);
      case 'default':
        return blend(this.sources(c, cfg), 10, cfg.blend).map((b) => b.id);
    }
  }

  evaluate(method: Method, cfg: ResearchConfig, cases: readonly EvalCase[] = this.cases): Metrics {
    const results = cases.map((c) => ({ top: this.top10(c, method, cfg), target: c.target.itemId }));
    return summarise(results, this.data.itemIds.length);
  }
}

/** The moment the user asks: just after their last replayed event. */
export function requestTime(c: EvalCase): number {
  return c.history[c.history.length - 1].ts;
}

export const BASE_CONFIG: ResearchConfig = {
  eventWeight: () => 1,
  window: { maxSteps: 5, distanceDecay: 1, backwardWeight: 1 },
  scoring: { lastN: 5, recencyDecay: 0.5, seedNormalisation: 0.5, popularityDamping: 0 },
  cap: Infinity,
  capSlack: 2,
  coocUserShare: 1,
  causal: false,
  trendingHalfLifeDays: 30,
  interests: {
    recentN: 50,
    minPositiveRating: 4,
    maxDislikedRating: 2,
    halfLifeDays: 30,
    cluster: { maxK: 5, minSilhouette: 0.1, minMedoidDistance: 0.2 },
    dislike: { threshold: 0.9, mode: 'drop', penalty: 0.5 },
  },
  depth: 100,
  blend: {
    rankOffset: 10,
    sources: {
      bought_together: { weight: 1, evidenceHalf: 2, normalise: 'score' },
      user_interests: { weight: 0.15, normalise: 'rank' },
      trending: { weight: 0.2, normalise: 'rank' },
    },
  },
};
