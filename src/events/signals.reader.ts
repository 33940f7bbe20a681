import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Candidate } from '../domain/ranking';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { interestShare } from '../domain/personalization/blend';
import {
  DEFAULT_SCORING,
  scoreCoOccurrence,
  seedsOf,
  type CoOccurrenceResult,
  type CoOccurrenceScoring,
  type NeighbourSource,
} from '../domain/personalization/co-occurrence';
import {
  DEFAULT_DISLIKE,
  userInterestCandidates,
  USER_HISTORY_LENGTH,
  type HistoryEvent,
  type InterestCandidate,
  type UserInterestOptions,
} from '../domain/personalization/user-interests';
import { isVersioned, NeighbourCache } from '../domain/neighbour-cache';
import type { VectorIndex } from '../domain/vector-index';
import { maxCosine, normalize } from '../domain/vector-math';
import { atMostEvery } from '../common/throttled';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { IndexRegistry } from '../index/index-registry';
import { SignalsReader, type SignalRequest } from '../recommend/signals.reader';
import { sendNow } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import { CollaborativeModels } from './collaborative-models';
import { PopularityTable } from './popularity-table';
import { RecentReads, type ReadValues } from './recent-reads';

export interface Who {
  userId?: string;
  sessionId?: string;
}

interface RequestContext {
  /** History (oldest first) then the request's context items. */
  recent: HistoryEvent[];
  /** The request's eligibility minus disliked items and their near duplicates. */
  accept: (id: string) => boolean;
  cooc?: Promise<CoOccurrenceResult>;
}

const REQUEST_CONTEXT = Symbol('signals request context');
// Disliked items whose neighbour lists one request may walk (~0.25 ms each); see buildContext.
const DISLIKE_WALKS_PER_REQUEST = 8;

export interface Scored {
  id: string;
  score: number;
}

/** Reads the signals the worker keeps (popularity, history, co-occurrence) for the recommendation sources. */
@Injectable()
export class EventSignalsReader extends SignalsReader {
  // Catalogue-wide and slow-moving, asked for by every request: a copy per replica, read again every SIGNALS_CACHE_MS
  // (longer for a big table); trending pages shared for SIGNALS_CACHE_MS.
  private readonly popularityTable: PopularityTable;
  private readonly trendingReads: RecentReads<TrendingPage>;
  private readonly logger = new Logger(EventSignalsReader.name);

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly registry: IndexRegistry,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'SIGNALS_CACHE_MS'>,
    private readonly collaborativeModels: CollaborativeModels,
    private readonly itemNeighbours: NeighbourCache,
  ) {
    super();
    // Background re-reads that fail leave the stale values in place; one warning a minute says so.
    const warn = atMostEvery(60_000, (err: unknown) =>
      this.logger.warn(
        `Background re-read of popularity/trending failed (serving what was read before): ${String(err)}`,
      ),
    );
    this.popularityTable = new PopularityTable(
      {
        readAll: (catalogue) => this.popularityOfAll(catalogue),
        readSome: (catalogue, ids) => this.popularityOf(catalogue, ids),
      },
      config.SIGNALS_CACHE_MS,
      Date.now,
      warn,
    );
    this.trendingReads = new RecentReads(config.SIGNALS_CACHE_MS, 1_000, Date.now, warn);
  }

  /** Seam: trending = decayed popularity (minus what the user disliked). */
  async trending(req: SignalRequest): Promise<Candidate[]> {
    const { accept } = await this.contextFor(req);
    return this.trendingItems(req.catalogue, req.limit, accept);
  }

  /** Seam: co-occurrence from the user's/session's recent items followed by the context items. */
  async boughtTogether(req: SignalRequest): Promise<Candidate[]> {
    const ctx = await this.contextFor(req);
    return (await this.coocFor(req, ctx)).items.slice(0, req.limit);
  }

  /** Seam: the catalogue's trained item-item model from history plus context items (nothing before a model exists). */
  async collaborative(req: SignalRequest): Promise<Candidate[]> {
    const model = await this.collaborativeModels.get(req.catalogue);
    if (!model) return [];
    const ctx = await this.contextFor(req);
    if (!ctx.recent.some((e) => e.polarity !== 'negative')) return [];
    return model.score(ctx.recent, (id) => !ctx.accept(id), req.limit);
  }

  /** Seam: user_interests from history plus context items (anonymous sessions pass sessionItemIds). */
  async userInterests(req: SignalRequest): Promise<Candidate[]> {
    const index = this.registry.get(req.catalogue)?.index;
    if (!index || index.size === 0) return [];
    const ctx = await this.contextFor(req);
    if (ctx.recent.length === 0) return [];
    const candidates = this.interestsFrom(index, ctx.recent, req.limit, { exclude: (id) => !ctx.accept(id) });
    // rank() adds this to the max-normalised co-occurrence score: interests lead only where co-occurrence is thin.
    const share = interestShare((await this.coocFor(req, ctx)).evidence);
    return candidates.map((c) => ({ id: c.id, score: Math.max(0, c.score) * share }));
  }

  /** The request's full co-occurrence list and evidence, computed once for both sources. */
  private coocFor(req: SignalRequest, ctx: RequestContext): Promise<CoOccurrenceResult> {
    ctx.cooc ??= (async () => {
      if (!ctx.recent.some((e) => e.polarity !== 'negative')) return { items: [], evidence: 0 };
      // Disliked items (latest event negative) are not seeds; seedsOf skips them.
      return this.boughtTogetherFrom(req.catalogue, ctx.recent, Infinity, (id) => !ctx.accept(id));
    })();
    return ctx.cooc;
  }

  /** Per request, once (in the request's scope): history with context items as the newest positives, and `accept` minus dislikes. */
  private contextFor(req: SignalRequest): Promise<RequestContext> {
    let pending = req.scope.get(REQUEST_CONTEXT) as Promise<RequestContext> | undefined;
    if (!pending) {
      pending = this.buildContext(req);
      req.scope.set(REQUEST_CONTEXT, pending);
    }
    return pending;
  }

  private async buildContext(req: SignalRequest): Promise<RequestContext> {
    const history = await req.history();
    const now = Date.now() / 1000;
    const recent = [
      ...history,
      ...req.itemIds.map((itemId): HistoryEvent => ({ itemId, ts: now, weight: 1, polarity: 'positive' })),
    ];
    // An item's latest non-neutral event decides: a dislike after a view is a dislike.
    const last = new Map<string, HistoryEvent['polarity']>();
    for (const e of recent) if (e.polarity !== 'neutral') last.set(e.itemId, e.polarity);
    const disliked = [...last].filter(([, p]) => p === 'negative').map(([id]) => id);
    if (disliked.length === 0) return { recent, accept: req.accept };
    const index = this.registry.get(req.catalogue)?.index;
    const dislikedIds = new Set(disliked);
    const threshold = DEFAULT_DISLIKE.threshold;
    // The disliked items' kept neighbour lists name everything that close: one set lookup per candidate. A few
    // lists are walked per request; dislikes without one yet are compared with each candidate by their int8 copies
    // until later requests have walked theirs (a cold user with 140 dislikes took ~40 ms walking them all).
    if (index && isVersioned(index) && this.itemNeighbours.capacity > 0) {
      const { near, notWalked } = this.itemNeighbours.within(
        index,
        disliked,
        threshold,
        DISLIKE_WALKS_PER_REQUEST,
      );
      const accept = (id: string): boolean => {
        if (dislikedIds.has(id) || near.has(id) || !req.accept(id)) return false;
        for (let i = 0; i < notWalked.length; i++) {
          if ((index.similarity(id, notWalked[i]) ?? 0) >= threshold) return false;
        }
        return true;
      };
      return { recent, accept };
    }
    // Without kept lists: normalised once here, so each candidate costs one norm and a dot product per dislike.
    const units: Float32Array[] = [];
    for (const id of disliked) {
      const v = index?.vector(id);
      if (v) units.push(normalize(v));
    }
    const accept = (id: string): boolean => {
      if (dislikedIds.has(id) || !req.accept(id)) return false;
      const v = units.length > 0 ? index?.vector(id) : undefined;
      return !v || maxCosine(v, units, threshold) < threshold;
    };
    return { recent, accept };
  }

  /** Most popular (decayed) eligible items, best first; scores are decayed counts as of the newest event. */
  async trendingItems(
    catalogue: string,
    limit: number,
    eligible?: (id: string) => boolean,
  ): Promise<Scored[]> {
    const out: Scored[] = [];
    const size = Math.max(100, limit * 2);
    for (let start = 0; out.length < limit; start += size) {
      const page = await this.trendingReads.one(catalogue, `${start}:${size}`, () =>
        this.trendingPage(catalogue, start, size),
      );
      for (let i = 0; i < page.ids.length && out.length < limit; i++) {
        if (!eligible || eligible(page.ids[i])) out.push({ id: page.ids[i], score: page.scores[i] });
      }
      if (page.ids.length < size) break;
    }
    return out;
  }

  private async trendingPage(catalogue: string, start: number, size: number): Promise<TrendingPage> {
    const { reply, scale } = await this.scaled<string[]>(catalogue, (p, key) =>
      p.zrevrange(key, start, start + size - 1, 'WITHSCORES'),
    );
    const flat = reply ?? [];
    const page: TrendingPage = { ids: [], scores: [] };
    for (let i = 0; i + 1 < flat.length; i += 2) {
      page.ids.push(flat[i]);
      page.scores.push(Number(flat[i + 1]) * scale);
    }
    return page;
  }

  /** Popularity of some items on the trending scale (0 when never seen); the map may hold other ids too. */
  popularity(catalogue: string, ids: Iterable<string>): Promise<ReadValues<number>> {
    return this.popularityTable.read(catalogue, ids);
  }

  private async popularityOf(catalogue: string, ids: string[]): Promise<number[]> {
    const { reply, scale } = await this.scaled<(string | null)[]>(catalogue, (p, key) =>
      p.zmscore(key, ...ids),
    );
    return ids.map((_, i) => (reply?.[i] == null ? 0 : Number(reply[i]) * scale));
  }

  /**
   * The whole popularity set, in pages (ZSCAN: every id there from start to end is seen), on the scale of the meta
   * read after it. The worker rescales every stored score when it moves the epoch (rare): a read that overlapped one
   * is thrown away and done again.
   */
  private async popularityOfAll(catalogue: string): Promise<{ ids: string[]; values: number[] }> {
    const key = this.keys.popularity(catalogue);
    const metaKey = this.keys.popularityMeta(catalogue);
    for (let attempt = 1; ; attempt++) {
      const before = await this.redis.hmget(metaKey, ...POPULARITY_META);
      // ZSCAN may return an id twice (a later value is as good): the table keeps one.
      const ids: string[] = [];
      const values: number[] = [];
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.zscan(key, cursor, 'COUNT', 1000);
        for (let i = 0; i + 1 < flat.length; i += 2) {
          ids.push(flat[i]);
          values.push(Number(flat[i + 1]));
        }
        cursor = next;
      } while (cursor !== '0');
      const after = await this.redis.hmget(metaKey, ...POPULARITY_META);
      // epoch and half-life fix what a stored score means; `latest` only moves the read-back scale.
      if (before[0] === after[0] && before[1] === after[1]) {
        const scale = popularityScale(after);
        for (let i = 0; i < values.length; i++) values[i] *= scale;
        return { ids, values };
      }
      if (attempt >= 3)
        throw new Error(`popularity of '${catalogue}' was rescaled during each of ${attempt} reads`);
    }
  }

  /** One read of the popularity set and, in the same round trip, the meta that puts its scores on one scale. */
  private async scaled<T>(
    catalogue: string,
    read: (pipe: ChainableCommander, key: string) => ChainableCommander,
  ): Promise<{ reply: T | null; scale: number }> {
    const pipe = read(this.redis.pipeline(), this.keys.popularity(catalogue));
    const res = (await pipe.hmget(this.keys.popularityMeta(catalogue), ...POPULARITY_META).exec()) ?? [];
    return {
      reply: (res[0]?.[1] as T | null) ?? null,
      scale: popularityScale(res[1]?.[1] as (string | null)[] | null),
    };
  }

  /** The user's (or session's) interactions, oldest first; a user and a session are merged by time. */
  async history(catalogue: string, who: Who, n = USER_HISTORY_LENGTH): Promise<HistoryEvent[]> {
    const lists: string[] = [];
    if (who.userId) lists.push(this.keys.userHistory(catalogue, who.userId));
    if (who.sessionId) lists.push(this.keys.sessionHistory(catalogue, who.sessionId));
    if (lists.length === 0) return [];
    // Sent now, not at the end of the turn: callers start this read before their graph walks, so its round trip
    // overlaps them. One command each, not a pipeline object (several KB, on every personalised request).
    const res = (await Promise.all(
      lists.map((k) => sendNow(this.redis, 'lrange', [k, 0, n - 1])),
    )) as string[][];
    const seen = new Set<string>();
    const events: HistoryEvent[] = [];
    for (const raw of res) {
      for (const line of raw) {
        // A session event also stored for the user appears in both lists once each.
        if (lists.length > 1 && seen.has(line)) continue;
        seen.add(line);
        const e = parseHistory(line);
        if (e) events.push(e);
      }
    }
    // Lists are newest first; a stable sort keeps the push order for equal timestamps.
    return events.reverse().sort((a, b) => a.ts - b.ts);
  }

  /** Co-occurrence candidates from the most recent distinct items of a history (oldest first; dislikes do not seed). */
  async boughtTogetherFrom(
    catalogue: string,
    recent: readonly { itemId: string; ts: number; weight: number }[],
    limit: number,
    exclude?: (id: string) => boolean,
    scoring: CoOccurrenceScoring = DEFAULT_SCORING,
  ): Promise<CoOccurrenceResult> {
    const seeds = seedsOf(recent, scoring).map((s) => s.id);
    const source = await this.neighbours(catalogue, seeds);
    return scoreCoOccurrence(recent, source, scoring, exclude, limit);
  }

  /** Items bought/viewed together with one item, best first. */
  async together(catalogue: string, itemId: string, limit: number, exclude?: (id: string) => boolean) {
    return this.boughtTogetherFrom(catalogue, [{ itemId, ts: 0, weight: 1 }], limit, exclude);
  }

  /** The seeds' neighbour lists and totals in one round trip (plus candidate totals when damping). */
  async neighbours(catalogue: string, seeds: readonly string[]): Promise<NeighbourSource> {
    const rows = new Map<string, [string, number][]>();
    const totals = new Map<string, number>();
    if (seeds.length > 0) {
      const pipe = this.redis.pipeline();
      for (const s of seeds) pipe.zrevrange(this.keys.coocPrefix(catalogue) + s, 0, -1, 'WITHSCORES');
      pipe.hmget(this.keys.coocTotals(catalogue), ...seeds);
      const res = (await pipe.exec()) ?? [];
      seeds.forEach((s, i) => {
        const flat = (res[i][1] as string[] | null) ?? [];
        const row: [string, number][] = [];
        for (let j = 0; j < flat.length; j += 2) row.push([flat[j], Number(flat[j + 1])]);
        rows.set(s, row);
      });
      const t = (res[seeds.length][1] as (string | null)[] | null) ?? [];
      seeds.forEach((s, i) => totals.set(s, t[i] === null || t[i] === undefined ? 0 : Number(t[i])));
    }
    return { neighbours: (id) => rows.get(id) ?? [], total: (id) => totals.get(id) ?? 0 };
  }

  /** user_interests: cluster the history's recent positives, one index query per interest. */
  interestsFrom(
    index: VectorIndex,
    history: readonly HistoryEvent[],
    limit: number,
    options: UserInterestOptions = {},
    nowSeconds = Date.now() / 1000,
  ): InterestCandidate[] {
    return userInterestCandidates(index, history, nowSeconds, limit, options);
  }
}

interface TrendingPage {
  ids: string[];
  scores: number[];
}

const POLARITY = { p: 'positive', n: 'negative', z: 'neutral' } as const;

/** `item|ts|weight|polarity|type`; lines written before the type was recorded end at the polarity. */
export function parseHistory(line: string): HistoryEvent | undefined {
  // Item ids never contain '|' (itemIdSchema), so fields sit at fixed positions.
  const parts = line.split('|');
  if (parts.length < 4 || parts.length > 5) return undefined;
  const e: HistoryEvent = {
    itemId: parts[0],
    ts: Number(parts[1]),
    weight: Number(parts[2]),
    polarity: POLARITY[parts[3] as keyof typeof POLARITY] ?? 'neutral',
  };
  if (parts.length === 5 && parts[4]) e.type = parts[4];
  return e;
}

const POPULARITY_META = ['epoch', 'halfLifeSeconds', 'latest'] as const;

/**
 * Stored popularity is relative to an epoch the worker moves now and then (and when the half-life changes), so it
 * is read back as the decayed count as of the newest event: the same numbers whatever the epoch, which matters
 * because the ranker compares log-scaled popularity. (Not as of the wall clock: a replayed or quiet catalogue
 * would decay to nothing and lose the log scale's meaning.)
 */
export function popularityScale(meta: readonly (string | null)[] | null | undefined): number {
  const [epoch, half, latest] = (meta ?? []).map((v) => (v === null || v === undefined ? NaN : Number(v)));
  if (!Number.isFinite(epoch) || !Number.isFinite(half) || half <= 0 || !Number.isFinite(latest)) return 1;
  return Math.pow(2, -(latest - epoch) / half);
}
