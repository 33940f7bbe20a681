import type { Item } from '../item';
import { byScoreThenId, type Candidate } from './candidates';
import { compileFilters, compileHides, isPinRule, isRuleActive, matchesCondition } from './conditions';
import { selectDiverse } from './mmr';
import type { Filters, RankingConfig, SourceName } from './ranking-config.schema';

export type CandidateLists =
  ReadonlyMap<SourceName, readonly Candidate[]> | Partial<Record<SourceName, readonly Candidate[]>>;

export interface RankInput {
  /** Raw lists per source; sources absent from `config.candidates` are ignored, each list is cut to its limit. */
  candidates: CandidateLists;
  /** Item data; an id it cannot resolve (deleted item) is dropped. */
  item: (id: string) => Item | undefined;
  /** Decayed event popularity, any non-negative scale. */
  popularity?: (id: string) => number;
  /** Item-to-item cosine for MMR (e.g. the index's int8 copies); preferred over `vector`. */
  similarity?: (a: string, b: string) => number | undefined;
  /** Vectors for MMR when no `similarity` is given; with neither, MMR is skipped. */
  vector?: (id: string) => Float32Array | undefined;
  config: RankingConfig;
  /** Request-level filters, ANDed with the config's. */
  filters?: Filters;
  /** Request-level excluded ids. */
  exclude?: Iterable<string>;
  /** itemIds ∪ sessionItemIds ∪ positive ∪ negative: excluded when config.exclude.contextItems. */
  contextIds?: Iterable<string>;
  /** Ids served on earlier pages of this recommId; never served again. */
  alreadyServed?: ReadonlySet<string>;
  /** Items already served before this page, for pin positions; default alreadyServed.size. */
  offset?: number;
  limit: number;
  now?: number | Date;
  explain?: boolean;
  /** The request's eligibility when the caller already built it (`eligibility()` of the same input), e.g. memoised. */
  eligible?: (id: string, item: Item) => boolean;
}

export interface ScoreComponents {
  /** Combined relevance of the relevance sources: [0,1] by noisy-OR, up to their weights' sum by `sum`. */
  similarity: number;
  /** log-scaled popularity relative to the most popular candidate, [0,1]. */
  popularity: number;
  /** 2^(−age / halfLife), [0,1]; 0 without createdAt. */
  freshness: number;
  /** similarity·w + popularity·w + freshness·w. */
  base: number;
  /** Product of matching boost multipliers (1 when none). */
  boost: number;
  /** Product of matching bury multipliers (1 when none). */
  bury: number;
}

export interface Explanation {
  /** Sources that produced the item, in config order; `pin` for a pinned item. */
  sources: string[];
  /** Each source's score for the item after normalisation to [0,1] and source weight. */
  sourceScores: Partial<Record<SourceName, number>>;
  components: ScoreComponents;
  /** Indexes into config.score.boosts / buries that matched. */
  boosts: number[];
  buries: number[];
  /** 1-based position a pin rule put the item at. */
  pinnedAt?: number;
}

export interface RankedItem {
  id: string;
  score: number;
  item: Item;
  explain?: Explanation;
}

// Cosine sources are already on an absolute scale; the others are unbounded and get scaled by their list's best.
const COSINE_SOURCES: ReadonlySet<SourceName> = new Set(['similar', 'query', 'user_interests']);
// Sources that say "relevant to this request"; trending/new_arrivals only nominate (popularity/freshness score them).
const RELEVANCE_SOURCES: ReadonlySet<SourceName> = new Set([
  'similar',
  'query',
  'user_interests',
  'bought_together',
  'collaborative',
]);
const DAY_MS = 86_400_000;

interface Scored {
  id: string;
  item: Item;
  score: number;
  categories?: readonly string[];
  entry: MergedEntry | undefined;
  /** Only when explaining: each candidate's components, for the few that make the page. */
  parts?: ScoreComponents & { boosts: number[]; buries: number[] };
}

/**
 * One source's normalised, weighted score for an id, chained to the id's next source (config order). One object per
 * (id, source) pair: most ids come from one source, and this runs for every candidate of every request.
 */
interface MergedEntry {
  source: SourceName;
  value: number;
  next: MergedEntry | undefined;
}

// Shared by every candidate no boost (bury) matched; never mutated.
const NONE: number[] = [];

function listFor(lists: CandidateLists, source: SourceName): readonly Candidate[] | undefined {
  return lists instanceof Map
    ? (lists as ReadonlyMap<SourceName, readonly Candidate[]>).get(source)
    : (lists as Partial<Record<SourceName, readonly Candidate[]>>)[source];
}

/** Best first, finite scores only, ties by id; a list already in that order (every source's usual output) is not copied. */
function ordered(raw: readonly Candidate[]): readonly Candidate[] {
  for (let i = 0; i < raw.length; i++) {
    if (!Number.isFinite(raw[i].score) || (i > 0 && byScoreThenId(raw[i - 1], raw[i]) > 0)) {
      return raw.filter((c) => Number.isFinite(c.score)).sort(byScoreThenId);
    }
  }
  return raw;
}

/** Per-source scores normalised to [0,1] and weighted, merged by id, in config order. */
function mergeSources(input: RankInput): Map<string, MergedEntry> {
  const merged = new Map<string, MergedEntry>();
  for (const { source, limit, weight } of input.config.candidates) {
    const raw = listFor(input.candidates, source);
    if (!raw || raw.length === 0) continue;
    const list = ordered(raw);
    const n = Math.min(limit, list.length);
    const max = n > 0 ? list[0].score : 0;
    const cosine = COSINE_SOURCES.has(source);
    for (let i = 0; i < n; i++) {
      const c = list[i];
      const norm = cosine ? Math.min(1, Math.max(0, c.score)) : max > 0 ? Math.max(0, c.score) / max : 0;
      const s = Math.min(1, norm * weight);
      const first = merged.get(c.id);
      if (!first) {
        merged.set(c.id, { source, value: s, next: undefined });
        continue;
      }
      // A source listing an id twice keeps its best score; a new source goes last (config order).
      let e: MergedEntry = first;
      for (;;) {
        if (e.source === source) {
          if (s > e.value) e.value = s;
          break;
        }
        if (!e.next) {
          e.next = { source, value: s, next: undefined };
          break;
        }
        e = e.next;
      }
    }
  }
  return merged;
}

export type EligibilityInput = Pick<
  RankInput,
  'config' | 'filters' | 'exclude' | 'contextIds' | 'alreadyServed' | 'now'
>;

/** Eligibility in its two parts: what depends on the request's ids, and what only reads the item. */
export interface EligibilityChecks {
  /** Excluded (explicitly, as a context item, or already served on an earlier page). */
  excludedId(id: string): boolean;
  /** Passes the filters and no active hide rule matches: the same answer for every request with these inputs. */
  itemPasses(item: Item): boolean;
  /** Both together. */
  eligible(id: string, item: Item): boolean;
}

export function eligibilityChecks(input: EligibilityInput): EligibilityChecks {
  const { config } = input;
  const now =
    input.now === undefined ? Date.now() : typeof input.now === 'number' ? input.now : input.now.getTime();
  const served = input.alreadyServed ?? new Set<string>();
  const excluded = new Set<string>(config.exclude.ids);
  for (const id of input.exclude ?? []) excluded.add(id);
  if (config.exclude.contextItems) for (const id of input.contextIds ?? []) excluded.add(id);
  const passesFilters = compileFilters(config.filters, input.filters);
  const hidden = compileHides(config.rules, now);
  const excludedId = (id: string): boolean => excluded.has(id) || served.has(id);
  const itemPasses = (item: Item): boolean => passesFilters(item) && !hidden(item);
  return { excludedId, itemPasses, eligible: (id, item) => !excludedId(id) && itemPasses(item) };
}

/** Filters, active hides, excludes and served ids as one predicate; give it to the sources too so limits cut after filtering. */
export function eligibility(input: EligibilityInput): (id: string, item: Item) => boolean {
  return eligibilityChecks(input).eligible;
}

/** One page: merge sources → drop ineligible → score → sort (score, id) → MMR + category cap → pins; deterministic. */
export function rank(input: RankInput): RankedItem[] {
  const { config } = input;
  const limit = Math.max(0, Math.floor(input.limit));
  if (limit === 0) return [];
  const now =
    input.now === undefined ? Date.now() : typeof input.now === 'number' ? input.now : input.now.getTime();
  const served = input.alreadyServed ?? new Set<string>();
  const offset = input.offset ?? served.size;

  const eligible = input.eligible ?? eligibility({ ...input, now });

  const merged = mergeSources(input);
  const popularityOf = (id: string): number => Math.max(0, input.popularity?.(id) ?? 0);
  // The popularity scale comes from every merged candidate, served or not, so later pages score like the first.
  let maxPop = 0;
  if (input.popularity) for (const id of merged.keys()) maxPop = Math.max(maxPop, popularityOf(id));
  const logMaxPop = Math.log1p(maxPop);

  const w = config.score;
  const halfLifeMs = w.freshness.halfLifeDays * DAY_MS;
  const explain = input.explain === true;
  const score = (id: string, item: Item): Scored => {
    const entry = merged.get(id);
    // Noisy-OR: agreement between sources raises relevance, yet it stays in [0,1]; sum: agreement adds up.
    let miss = 1;
    let sum = 0;
    for (let e = entry; e; e = e.next) {
      if (!RELEVANCE_SOURCES.has(e.source)) continue;
      miss *= 1 - e.value;
      sum += e.value;
    }
    const similarity = w.combine === 'sum' ? sum : 1 - miss;
    const popularity = logMaxPop > 0 ? Math.min(1, Math.log1p(popularityOf(id)) / logMaxPop) : 0;
    // Parsing a date per candidate is not free: only when it counts or is shown.
    const created =
      item.createdAt && (w.freshness.weight !== 0 || explain) ? Date.parse(item.createdAt) : NaN;
    const freshness = Number.isNaN(created) ? 0 : Math.pow(2, -Math.max(0, now - created) / halfLifeMs);
    const base = w.similarity * similarity + w.popularity * popularity + w.freshness.weight * freshness;
    let boosts = NONE;
    let buries = NONE;
    let boost = 1;
    let bury = 1;
    for (let i = 0; i < w.boosts.length; i++) {
      if (!matchesCondition(item, w.boosts[i].when)) continue;
      boost *= w.boosts[i].multiply;
      if (explain) (boosts === NONE ? (boosts = []) : boosts).push(i);
    }
    for (let i = 0; i < w.buries.length; i++) {
      if (!matchesCondition(item, w.buries[i].when)) continue;
      bury *= w.buries[i].multiply;
      if (explain) (buries === NONE ? (buries = []) : buries).push(i);
    }
    const scored: Scored = { id, item, score: base * boost * bury, categories: item.categories, entry };
    if (explain) scored.parts = { similarity, popularity, freshness, base, boost, bury, boosts, buries };
    return scored;
  };

  // Pins that land on this page, by absolute position; later rules cannot take a slot an earlier one holds.
  const pins: { slot: number; scored: Scored }[] = [];
  const pinnedIds = new Set<string>();
  const activePins = config.rules
    .filter(isPinRule)
    .filter((r) => isRuleActive(r, now))
    .sort((a, b) => a.position - b.position);
  const takenSlots = new Set<number>();
  for (const r of activePins) {
    if (pinnedIds.has(r.pin)) continue;
    const slot = r.position - 1 - offset;
    if (slot < 0 || slot >= limit) continue;
    const item = input.item(r.pin);
    if (!item || !eligible(r.pin, item)) continue;
    let free = slot;
    while (takenSlots.has(free)) free++;
    if (free >= limit) continue;
    takenSlots.add(free);
    pinnedIds.add(r.pin);
    pins.push({ slot: free, scored: score(r.pin, item) });
  }

  const pool: Scored[] = [];
  for (const id of merged.keys()) {
    if (pinnedIds.has(id)) continue;
    const item = input.item(id);
    if (!item || !eligible(id, item)) continue;
    pool.push(score(id, item));
  }
  pool.sort(byScoreThenId);

  const organic = selectDiverse(pool, limit - pins.length, {
    lambda: config.diversity.mmrLambda,
    maxPerCategory: config.diversity.maxPerCategory,
    similarity: input.similarity,
    vector: input.vector,
  });

  // Fill slots: pins where they asked to be, organic in order around them; short lists close the gaps.
  const bySlot = new Map(pins.map((p) => [p.slot, p.scored]));
  const page: { scored: Scored; pinnedAt?: number }[] = [];
  let o = 0;
  for (let slot = 0; slot < limit; slot++) {
    const pin = bySlot.get(slot);
    if (pin) page.push({ scored: pin, pinnedAt: offset + page.length + 1 });
    else if (o < organic.length) page.push({ scored: organic[o++] });
  }

  return page.map(({ scored, pinnedAt }) => {
    const out: RankedItem = { id: scored.id, score: scored.score, item: scored.item };
    if (scored.parts) {
      const { boosts, buries, ...components } = scored.parts;
      const sources: string[] = [];
      const sourceScores: Explanation['sourceScores'] = {};
      for (let e = scored.entry; e; e = e.next) {
        sources.push(e.source);
        sourceScores[e.source] = e.value;
      }
      if (pinnedAt !== undefined) sources.push('pin');
      out.explain = {
        sources,
        sourceScores,
        components,
        boosts: [...boosts],
        buries: [...buries],
        ...(pinnedAt !== undefined ? { pinnedAt } : {}),
      };
    }
    return out;
  });
}
