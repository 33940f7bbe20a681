import { createHash, randomBytes } from 'node:crypto';
import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { CatalogueService } from '../catalogue/catalogue.service';
import { getOrInsert } from '../common/maps';
import { atMostEvery } from '../common/throttled';
import type { Item } from '../domain/item';
import type { ItemMap } from '../domain/item-map';
import { excludedFromHistory, wantsHistoryExclusions } from '../domain/personalization/exclusions';
import type { HistoryEvent } from '../domain/personalization/user-interests';
import {
  assignVariant,
  compareRankings,
  eligibilityChecks,
  estimateMatchFraction,
  isEmptyFilters,
  isHideRule,
  isRuleActive,
  parseRankingConfig,
  rank,
  recommendVector,
  similarCandidates,
  type Candidate,
  type SimilarOptions,
  type Comparison,
  type Explanation,
  type RankingConfig,
  type SourceName,
} from '../domain/ranking';
import { isVersioned, NeighbourCache } from '../domain/neighbour-cache';
import { FilterMemo, type VectorIndex } from '../domain/vector-index';
import { EmbedderService } from '../embedding/embedder.service';
import { IndexRegistry, type CatalogueView } from '../index/index-registry';
import {
  RankingConfigService,
  DEFAULT_CONFIG_NAME,
  type ResolvedConfig,
} from '../ranking/ranking-config.service';
import type { CompareRequest, ConfigRef, RecommendContext, RecommendRequest } from './recommend.dto';
import { RecommendationRepository, type ServedList } from './recommendation.repository';
import { SignalsReader, type SignalRequest } from './signals.reader';

export interface RecommendedItem {
  id: string;
  score: number;
  item: Item;
  explain?: Explanation;
}

export interface RecommendResponse {
  items: RecommendedItem[];
  recommId: string;
  /** Next page, or null when this page came back short. */
  cursor: string | null;
  config: { name: string; version: number };
  variant?: { experiment: string; name: string };
}

export interface RankOptions {
  alreadyServed?: ReadonlySet<string>;
  explain?: boolean;
  /** Cap the sources (similar endpoint): only these run. */
  onlySources?: ReadonlySet<SourceName>;
}

// Context items beyond this many become one averaged query, so a long session cannot fan out into many ANN walks.
const MAX_SEPARATE_QUERIES = 10;
const QUERY_CACHE_SIZE = 1000;
const FRACTION_TTL_MS = 5_000;
const MIN_TOP_UP = 50;
const FRACTION_CACHE_SIZE = 1000;
// Filter memos per index: a byte per indexed item each (1 MB per million items), so only the most recent
// (config, filter set) pairs keep one.
const MEMO_CACHE_SIZE = 16;
// How long a cursor read waits for a served list that may still be on its way (see storedFor).
const SERVED_WRITE_GRACE_MS = 50;
const CPU_SOURCES: ReadonlySet<SourceName> = new Set(['similar', 'new_arrivals']);

/** Recommendations: candidate sources → rank() → served-list bookkeeping for cursors. */
@Injectable()
export class RecommendService {
  private readonly queryVectors = new Map<string, Float32Array>();
  private readonly fractions = new WeakMap<
    VectorIndex,
    WeakMap<RankingConfig, Map<string, { fraction: number; at: number }>>
  >();
  private readonly memos = new WeakMap<VectorIndex, Map<string, FilterMemo>>();
  /** A number per config object (a new version is a new object), for the memo keys. */
  private readonly configIds = new WeakMap<RankingConfig, number>();
  private nextConfigId = 0;
  private readonly logger = new Logger(RecommendService.name);
  private readonly savingFailed = atMostEvery(60_000, (err: unknown) =>
    this.logger.warn(
      `Could not store a served list; its cursor will not continue (at most one warning a minute): ${String(err)}`,
    ),
  );

  constructor(
    private readonly registry: IndexRegistry,
    private readonly catalogues: CatalogueService,
    private readonly configs: RankingConfigService,
    private readonly served: RecommendationRepository,
    private readonly signals: SignalsReader,
    private readonly embedders: EmbedderService,
    private readonly neighbours: NeighbourCache,
  ) {}

  async recommend(c: string, req: RecommendRequest): Promise<RecommendResponse> {
    const view = await this.view(c);
    let configName = req.config ?? DEFAULT_CONFIG_NAME;
    let variant: RecommendResponse['variant'];
    if (req.experiment !== undefined) {
      const experiment = await this.configs.experiment(c, req.experiment);
      const unit = req.userId ?? req.sessionId ?? '';
      const chosen = assignVariant(experiment.variants, unit, req.experiment).variant;
      configName = chosen.config;
      variant = { experiment: req.experiment, name: chosen.name ?? chosen.config };
    }
    const resolved = await this.configs.resolve(c, configName);

    const fingerprint = fingerprintOf(req);
    let recommId: string;
    let page = 1;
    let list: ServedList;
    if (req.cursor !== undefined) {
      const cur = decodeCursor(req.cursor);
      const stored = await this.storedFor(c, cur);
      if (!stored) {
        throw new BadRequestException({
          message: 'Cursor expired or unknown for this catalogue; start again without a cursor',
          errors: [{ path: 'cursor', message: 'expired or not from this catalogue' }],
        });
      }
      const mismatch =
        stored.experiment !== req.experiment
          ? `experiment '${stored.experiment ?? '(none)'}'`
          : stored.experiment === undefined && stored.config !== configName
            ? `config '${stored.config}'`
            : stored.fingerprint !== fingerprint
              ? 'a different request context'
              : undefined;
      if (mismatch || cur.page > stored.pages.length + 1) {
        throw new BadRequestException({
          message: `Cursor belongs to ${mismatch ?? 'a page not served yet'}; send the same request with it`,
          errors: [{ path: 'cursor', message: 'does not match this request' }],
        });
      }
      recommId = cur.recommId;
      page = cur.page;
      list = { ...stored, pages: stored.pages.slice(0, page - 1) };
    } else {
      recommId = randomBytes(12).toString('base64url');
      list = { config: configName, experiment: req.experiment, fingerprint, pages: [] };
    }

    const alreadyServed = new Set<string>();
    for (const p of list.pages) for (const id of p) alreadyServed.add(id);
    const ranked = await this.rank(c, view, resolved.config, req, { alreadyServed, explain: req.explain });
    list.pages.push(ranked.map((r) => r.id));
    // Not waited for: the write is on its way to Redis before the response is (see save), and storedFor gives a
    // cursor read that still comes first a moment. Waiting added a turn of the event loop to every request, queued
    // behind whatever else the replica was doing, with the request's working set held across it (realistic config,
    // 100k items, 500 req/s: p99 37-224 ms waiting vs 35-67 ms not, alternating runs). A failed write leaves this
    // page's cursor to answer 400 (expired or unknown) and is logged.
    this.served.save(c, recommId, list).catch((err: unknown) => this.savingFailed(err));

    return {
      items: ranked,
      recommId,
      cursor: ranked.length < req.limit ? null : encodeCursor(recommId, page + 1),
      config: { name: resolved.name, version: resolved.version },
      ...(variant ? { variant } : {}),
    };
  }

  /**
   * The served list a cursor continues. A list too short for the cursor's page, or none, is read once more after
   * SERVED_WRITE_GRACE_MS: the previous page's response did not wait for its write (recommend), so a client fast
   * enough, on another replica, can be there first.
   */
  private async storedFor(
    c: string,
    cur: { recommId: string; page: number },
  ): Promise<ServedList | undefined> {
    const stored = await this.served.get(c, cur.recommId);
    if (stored && cur.page <= stored.pages.length + 1) return stored;
    await new Promise((r) => setTimeout(r, SERVED_WRITE_GRACE_MS));
    return (await this.served.get(c, cur.recommId)) ?? stored;
  }

  /** Both configs on the same request context, side by side with overlap@k and Kendall tau. */
  async compare(c: string, req: CompareRequest): Promise<{ a: CompareSide; b: CompareSide } & Comparison> {
    const view = await this.view(c);
    const [ra, rb] = await Promise.all([this.configFor(c, req.a, 'a'), this.configFor(c, req.b, 'b')]);
    const [la, lb] = await Promise.all([
      this.rank(c, view, ra.config, req.request),
      this.rank(c, view, rb.config, req.request),
    ]);
    const k = req.k ?? req.request.limit;
    const cmp = compareRankings(
      la.map((r) => r.id),
      lb.map((r) => r.id),
      k,
    );
    const side = (r: ResolvedConfig, list: RecommendedItem[]): CompareSide => ({
      config: { name: r.name, version: r.version },
      items: list.map(({ id, score, item }) => ({ id, score, title: item.title })),
    });
    return { a: side(ra, la), b: side(rb, lb), ...cmp };
  }

  /** Candidate sources for one request, then rank(); the shared core of recommendations, compare and similar. */
  async rank(
    c: string,
    view: CatalogueView | undefined,
    config: RankingConfig,
    req: Pick<
      RecommendContext,
      | 'userId'
      | 'sessionId'
      | 'itemIds'
      | 'sessionItemIds'
      | 'positive'
      | 'negative'
      | 'query'
      | 'filters'
      | 'exclude'
      | 'limit'
    >,
    opts: RankOptions = {},
  ): Promise<RecommendedItem[]> {
    if (!view) return [];
    const items = view.items;
    const index = view.index?.index;
    const now = Date.now();
    const contextIds = [...req.itemIds, ...req.sessionItemIds, ...req.positive, ...req.negative];
    // One history read per request, shared by the exclusions below and the behavioural sources.
    let historyRead: Promise<readonly HistoryEvent[]> | undefined;
    const history = (): Promise<readonly HistoryEvent[]> =>
      (historyRead ??=
        req.userId || req.sessionId
          ? this.signals.history(c, { userId: req.userId, sessionId: req.sessionId })
          : Promise.resolve([]));
    // Purchased / recently seen items of this user or session, only when the config asks.
    const fromHistory =
      wantsHistoryExclusions(config.exclude) && (req.userId || req.sessionId)
        ? excludedFromHistory(await history(), config.exclude, now)
        : undefined;
    const { eligible, excludedId, itemPasses } = eligibilityChecks({
      config,
      filters: req.filters,
      exclude: fromHistory && fromHistory.size > 0 ? [...req.exclude, ...fromHistory] : req.exclude,
      contextIds,
      alreadyServed: opts.alreadyServed,
      now,
    });
    // Checked again where ids meet (source, rank()): a check allocates nothing and costs less than a per-request memo
    // (graph walks remember the item part per item across requests instead, in a FilterMemo).
    const accept = (id: string): boolean => {
      const item = items.get(id);
      return item !== undefined && eligible(id, item);
    };
    // Unfiltered requests skip the sampled match-fraction estimate; filtered ones estimate once per request.
    const unfiltered =
      isEmptyFilters(config.filters, req.filters) &&
      !config.rules.some(isHideRule) &&
      config.exclude.ids.length === 0;
    let matchFraction: number | undefined = unfiltered ? 1 : undefined;
    // Looked up on the first walk and shared by the request's later ones.
    let walkFilters: Pick<SimilarOptions, 'filter' | 'itemFilter' | 'memo'> | undefined;
    // Ids the sample cannot see coming (served pages, explicit and context exclusions) get room in the first walk.
    const reserve =
      (opts.alreadyServed?.size ?? 0) + req.exclude.length + contextIds.length + (fromHistory?.size ?? 0);
    // Sources asking around the same vector (similar and a one-interest user, say) share one walk per request.
    const walks = new Map<Float32Array, { k: number; found: Candidate[] }>();
    const itemQueries = new Map<Float32Array, string>();
    const neighbours = this.neighbours;
    const nearest =
      index && isVersioned(index) && neighbours.capacity > 0
        ? (q: Float32Array, k: number) => {
            const id = itemQueries.get(q);
            return id === undefined ? undefined : neighbours.nearest(index, id, k);
          }
        : undefined;
    const search = (queries: readonly Float32Array[], k: number): Candidate[] => {
      if (!index || queries.length === 0) return [];
      const prior = queries.length === 1 ? walks.get(queries[0]) : undefined;
      // A wider earlier walk holds the top k; a shorter answer than it asked for was everything there is.
      if (prior && (prior.k >= k || prior.found.length < prior.k)) return prior.found.slice(0, k);
      if (!walkFilters) {
        const filtersKey = req.filters === undefined ? '' : JSON.stringify(req.filters);
        matchFraction ??= this.matchFraction(index, config, filtersKey, accept, now);
        // The walk asks the item test once per item while the items and this filter set stay the same.
        walkFilters = unfiltered
          ? { filter: accept }
          : {
              filter: (id) => !excludedId(id),
              itemFilter: (id) => {
                const item = items.get(id);
                return item !== undefined && itemPasses(item);
              },
              memo: this.filterMemo(index, config, filtersKey, items, now),
            };
      }
      const found = similarCandidates(index, queries, k, {
        ...walkFilters,
        matchFraction,
        reserve: Math.min(reserve, k),
        // The unfiltered walk's survivors are the nearest eligible items; once they fill the page, a filter that
        // removed most of the neighbourhood is not walked through for the source's full limit. If they cannot,
        // the filtered walk goes as far as the diversity window can use.
        enough: req.limit,
        topUp: Math.max(MIN_TOP_UP, 5 * req.limit),
        oversample: 1,
        nearest,
      }).candidates;
      if (queries.length === 1) walks.set(queries[0], { k, found });
      return found;
    };

    const signalReq: SignalRequest = {
      catalogue: c,
      userId: req.userId,
      sessionId: req.sessionId,
      itemIds: [...req.itemIds, ...req.sessionItemIds, ...req.positive],
      limit: 0,
      accept,
      searchVectors: search,
      history,
      scope: new Map(),
    };
    const run = async (source: SourceName, limit: number): Promise<[SourceName, Candidate[]]> => {
      switch (source) {
        case 'similar':
          return [source, search(this.contextQueries(index, req, itemQueries), limit)];
        case 'query': {
          if (!req.query || !view.index) return [source, []];
          const v = await this.embedQuery(view.index.model, req.query);
          return [source, search([v], limit)];
        }
        case 'new_arrivals':
          return [source, this.newArrivals(items, limit, accept)];
        case 'trending':
          return [source, await this.signals.trending({ ...signalReq, limit })];
        case 'bought_together':
          return [source, await this.signals.boughtTogether({ ...signalReq, limit })];
        case 'collaborative':
          // Seeded by a history or by context items; without either it has nothing to go on.
          if (!req.userId && !req.sessionId && signalReq.itemIds.length === 0) return [source, []];
          return [source, await this.signals.collaborative({ ...signalReq, limit })];
        case 'user_interests':
          // Interests belong to a user or a session; around bare context items `similar` already runs that search.
          if (!req.userId && !req.sessionId && req.sessionItemIds.length === 0) return [source, []];
          return [source, await this.signals.userInterests({ ...signalReq, limit })];
      }
    };
    // I/O-bound sources start first, so their round trips overlap the CPU-bound ANN walks.
    const sources = config.candidates
      .filter((c) => !opts.onlySources || opts.onlySources.has(c.source))
      .sort((a, b) => Number(CPU_SOURCES.has(a.source)) - Number(CPU_SOURCES.has(b.source)));
    const lists = await Promise.all(sources.map((c) => run(c.source, c.limit)));
    const candidates = new Map<SourceName, Candidate[]>(lists);

    let popularity: ((id: string) => number) | undefined;
    if (config.score.popularity > 0) {
      // Repeats are fine: the reader asks Redis once per id it has not read lately.
      const ids: string[] = [];
      for (let i = 0; i < lists.length; i++) for (const cand of lists[i][1]) ids.push(cand.id);
      if (ids.length > 0) {
        const pops = await this.signals.popularity(c, ids);
        popularity = (id) => pops.get(id) ?? 0;
      }
    }

    const ranked = rank({
      candidates,
      item: (id) => items.get(id),
      popularity,
      similarity: index && config.diversity.mmrLambda < 1 ? (a, b) => index.similarity(a, b) : undefined,
      config,
      filters: req.filters,
      exclude: req.exclude,
      contextIds,
      alreadyServed: opts.alreadyServed,
      limit: req.limit,
      now,
      explain: opts.explain,
      eligible,
    });
    return ranked.map((r) => ({ ...r, score: round(r.score) }));
  }

  /**
   * Share of the index a config's and request's filters let through, from a 1,000-id sample, remembered for a few
   * seconds per (index, config, request filters): storefronts repeat the same few filter sets, and the estimate only
   * picks the search strategy (every path checks each candidate against the request's own filter).
   */
  private matchFraction(
    index: VectorIndex,
    config: RankingConfig,
    /** The request's filters as JSON ('' for none). */
    filtersKey: string,
    accept: (id: string) => boolean,
    now: number,
  ): number {
    const byConfig = getOrInsert(this.fractions, index, () => new WeakMap());
    const byFilters = getOrInsert(byConfig, config, () => new Map());
    const hit = byFilters.get(filtersKey);
    if (hit && now - hit.at < FRACTION_TTL_MS) return hit.fraction;
    const fraction = estimateMatchFraction(index, accept);
    if (byFilters.size >= FRACTION_CACHE_SIZE) byFilters.delete(byFilters.keys().next().value!);
    byFilters.set(filtersKey, { fraction, at: now });
    return fraction;
  }

  /**
   * The memo of one filter set's answers per item (config filters, request filters, the hide rules active now), for
   * this index, over the view's item map (changed items are asked again). At most MEMO_CACHE_SIZE per index.
   */
  private filterMemo(
    index: VectorIndex,
    config: RankingConfig,
    filtersKey: string,
    items: ItemMap,
    now: number,
  ): FilterMemo {
    const byKey = getOrInsert(this.memos, index, () => new Map());
    const configId = getOrInsert(this.configIds, config, () => this.nextConfigId++);
    let hides = '';
    for (const r of config.rules) if (isHideRule(r)) hides += isRuleActive(r, now) ? '1' : '0';
    const key = `${configId}\u0000${hides}\u0000${filtersKey}`;
    let memo = byKey.get(key);
    // Map order is insertion order: re-inserting a hit makes the first key the least recently used.
    if (memo) byKey.delete(key);
    else {
      memo = new FilterMemo(items);
      if (byKey.size >= MEMO_CACHE_SIZE) byKey.delete(byKey.keys().next().value!);
    }
    byKey.set(key, memo);
    memo.items = items;
    return memo;
  }

  /** The catalogue's in-memory view; 404 for an unknown catalogue, undefined when it exists but holds nothing yet. */
  async view(c: string): Promise<CatalogueView | undefined> {
    const view = this.registry.view(c);
    if (view) return view;
    await this.catalogues.requireCatalogue(c);
    return undefined;
  }

  /** Qdrant-style: positives (with the context items) minus negatives as one vector; plain context items one query each. */
  private contextQueries(
    index: VectorIndex | undefined,
    req: Pick<RecommendContext, 'itemIds' | 'sessionItemIds' | 'positive' | 'negative'>,
    /** Filled with stored vector → item id for the context items (queries that are one of them use its kept list). */
    itemQueries: Map<Float32Array, string>,
  ): Float32Array[] {
    if (!index) return [];
    const vectors = (ids: readonly string[]): Float32Array[] =>
      ids.map((id) => index.vector(id)).filter((v): v is Float32Array => v !== undefined);
    const context: Float32Array[] = [];
    for (const id of [...req.itemIds, ...req.sessionItemIds.slice(-MAX_SEPARATE_QUERIES)]) {
      const v = index.vector(id);
      if (!v) continue;
      context.push(v);
      // Keyed by the stored vector itself: only a query that is one (not an average) finds its item.
      itemQueries.set(v, id);
    }
    const positives = vectors(req.positive);
    const negatives = vectors(req.negative);
    if (positives.length === 0 && negatives.length === 0) {
      if (context.length <= MAX_SEPARATE_QUERIES) {
        // Each query is a stored item's own vector: its kept neighbour list can stand in for the walk.
        return context;
      }
      const avg = recommendVector(context);
      return avg ? [avg] : [];
    }
    const v = recommendVector([...positives, ...context], negatives);
    return v ? [v] : [];
  }

  private async embedQuery(model: string, text: string): Promise<Float32Array> {
    const key = `${model}\u0000${text}`;
    const hit = this.queryVectors.get(key);
    if (hit) {
      // Refresh recency: Map keeps insertion order, so the oldest key is evicted first.
      this.queryVectors.delete(key);
      this.queryVectors.set(key, hit);
      return hit;
    }
    const embedder = await this.embedders.get(model);
    const [v] = await embedder.embed([text]);
    this.queryVectors.set(key, v);
    if (this.queryVectors.size > QUERY_CACHE_SIZE) {
      const oldest = this.queryVectors.keys().next().value;
      if (oldest !== undefined) this.queryVectors.delete(oldest);
    }
    return v;
  }

  /** Newest eligible items by createdAt (the view keeps them in order as items change). */
  private newArrivals(items: ItemMap, limit: number, accept: (id: string) => boolean): Candidate[] {
    const out: Candidate[] = [];
    if (limit <= 0) return out;
    for (const id of items.newest()) {
      if (accept(id)) out.push({ id, score: limit - out.length });
      if (out.length >= limit) break;
    }
    return out;
  }

  private async configFor(c: string, ref: ConfigRef, side: 'a' | 'b'): Promise<ResolvedConfig> {
    if (ref.name !== undefined) {
      return ref.version !== undefined
        ? this.configs.resolveVersion(c, ref.name, ref.version)
        : this.configs.resolve(c, ref.name);
    }
    const parsed = parseRankingConfig(ref.config);
    if (!parsed.ok) {
      throw new BadRequestException({
        message: `Invalid inline config in ${side}`,
        errors: parsed.errors.map((e) => ({ ...e, path: `${side}.config.${e.path}` })),
      });
    }
    return { name: '(inline)', version: 0, config: parsed.config };
  }
}

export interface CompareSide {
  config: { name: string; version: number };
  items: { id: string; score: number; title: string }[];
}

function fingerprintOf(req: RecommendRequest): string {
  const ctx = [
    req.userId,
    req.sessionId,
    req.itemIds,
    req.sessionItemIds,
    req.positive,
    req.negative,
    req.query,
    req.filters,
    req.exclude,
  ];
  return createHash('sha1').update(JSON.stringify(ctx)).digest('base64url');
}

function encodeCursor(recommId: string, page: number): string {
  return Buffer.from(`${recommId}.${page}`).toString('base64url');
}

function decodeCursor(cursor: string): { recommId: string; page: number } {
  const m = /^([A-Za-z0-9_-]{16})\.(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m || Number(m[2]) < 2) {
    throw new BadRequestException({
      message: 'Malformed cursor; pass the cursor of a previous response unchanged',
      errors: [{ path: 'cursor', message: 'malformed' }],
    });
  }
  return { recommId: m[1], page: Number(m[2]) };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
