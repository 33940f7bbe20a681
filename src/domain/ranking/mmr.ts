import { cosine, dot4 } from '../vector-math';

export interface DiversityCandidate {
  id: string;
  /** Relevance; any non-negative scale (it is divided by the list's maximum). */
  score: number;
  categories?: readonly string[];
}

export interface DiversityOptions {
  /** 1 = pure relevance (MMR off), 0 = pure novelty. */
  lambda: number;
  maxPerCategory?: number;
  /** Cosine of two items by id (e.g. the index's int8 copies); preferred over `vector` when both are given. */
  similarity?: (a: string, b: string) => number | undefined;
  vector?: (id: string) => Float32Array | undefined;
  /** Items MMR compares at once; later ones enter as earlier ones are taken or dropped. Default max(30, 5 × limit). */
  window?: number;
}

/** Item-to-item cosine for one selection: the caller's, or one from vectors (each unit vector computed once). */
function pairSimilarity(opts: DiversityOptions): ((a: string, b: string) => number) | undefined {
  if (opts.lambda >= 1) return undefined;
  const { similarity, vector } = opts;
  if (similarity) return (a, b) => similarity(a, b) ?? 0;
  if (!vector) return undefined;
  const units = new Map<string, Unit | undefined>();
  const unit = (id: string): Unit | undefined => {
    if (units.has(id)) return units.get(id);
    const v = vector(id);
    const n = v ? Math.sqrt(dot4(v, v)) : 0;
    const u = v && n > 0 ? { v, inv: 1 / n } : undefined;
    units.set(id, u);
    return u;
  };
  return (a, b) => {
    const ua = unit(a);
    const ub = unit(b);
    return ua && ub ? unitSimilarity(ua, ub) : 0;
  };
}

/** Greedy MMR (λ·relevance − (1−λ)·max cosine to the chosen) under a per-category cap; no similarity = dissimilar, every category counts. */
export function selectDiverse<T extends DiversityCandidate>(
  sorted: readonly T[],
  limit: number,
  opts: DiversityOptions,
): T[] {
  const cap = opts.maxPerCategory;
  const sim = pairSimilarity(opts);
  if (!sim && cap === undefined) return sorted.slice(0, limit);

  const perCategory = new Map<string, number>();
  const capped = (c: T): boolean => {
    const cats = c.categories;
    if (cap === undefined || !cats) return false;
    for (let i = 0; i < cats.length; i++) if ((perCategory.get(cats[i]) ?? 0) >= cap) return true;
    return false;
  };
  const take = (c: T): void => {
    const cats = c.categories;
    if (!cats) return;
    // A category listed twice on one item counts once.
    for (let i = 0; i < cats.length; i++) {
      if (cats.indexOf(cats[i]) === i) perCategory.set(cats[i], (perCategory.get(cats[i]) ?? 0) + 1);
    }
  };

  if (!sim) {
    const out: T[] = [];
    for (const c of sorted) {
      if (out.length >= limit) break;
      if (capped(c)) continue;
      out.push(c);
      take(c);
    }
    return backfill(out, sorted, limit);
  }

  const lambda = opts.lambda;
  const maxScore = sorted.reduce((m, c) => Math.max(m, c.score), 0) || 1;
  const windowSize = Math.max(opts.window ?? Math.max(30, 5 * limit), limit);
  // Lazy greedy: an entry's max similarity to the chosen only grows, so its MMR value computed against the first
  // `seen` picks is an upper bound. Each round, the best bound is brought up to date until the best is exact;
  // same picks as the eager loop, with a fraction of the similarity computations.
  const pool: { c: T; maxSim: number; seen: number }[] = [];
  let next = 0;
  const out: T[] = [];
  const value = (p: { c: T; maxSim: number }): number =>
    (lambda * p.c.score) / maxScore - (1 - lambda) * p.maxSim;

  while (out.length < limit) {
    // Refill the window in score order; entrants catch up on similarity when they reach the top.
    while (pool.length < windowSize && next < sorted.length) {
      const c = sorted[next++];
      if (!capped(c)) pool.push({ c, maxSim: 0, seen: 0 });
    }
    if (pool.length === 0) break;
    let best = -1;
    for (;;) {
      best = -1;
      let bestValue = -Infinity;
      // Capped items never stay in the window (dropped on entry and after each pick), so every slot is a contender.
      // Strict ">" keeps the earlier (higher-scored, then smaller id) item on ties.
      for (let i = 0; i < pool.length; i++) {
        const v = value(pool[i]);
        if (v > bestValue) {
          bestValue = v;
          best = i;
        }
      }
      if (best === -1) break;
      const top = pool[best];
      if (top.seen === out.length) break;
      for (; top.seen < out.length; top.seen++) {
        const s = sim(top.c.id, out[top.seen].id);
        if (s > top.maxSim) top.maxSim = s;
      }
    }
    // Only non-finite scores leave nothing chosen: skip this window's items rather than loop.
    if (best === -1) {
      pool.length = 0;
      continue;
    }
    const picked = pool[best];
    pool.splice(best, 1);
    out.push(picked.c);
    take(picked.c);
    if (cap !== undefined && capped(picked.c)) {
      // The pick filled one of its categories: drop what else is in it.
      for (let i = pool.length - 1; i >= 0; i--) if (capped(pool[i].c)) pool.splice(i, 1);
    }
  }
  return cap === undefined ? out : backfill(out, sorted, limit);
}

/**
 * The cap spreads a page over categories while other candidates exist; when they run out (every candidate shares
 * a capped category) the best remaining ones fill the page rather than leaving it short.
 */
function backfill<T extends DiversityCandidate>(out: T[], sorted: readonly T[], limit: number): T[] {
  if (out.length >= limit || out.length >= sorted.length) return out;
  const chosen = new Set(out);
  for (const c of sorted) {
    if (out.length >= limit) break;
    if (!chosen.has(c)) out.push(c);
  }
  return out;
}

interface Unit {
  v: Float32Array;
  inv: number;
}

// Vectors of another dimension (a model change mid-reindex) count as unrelated rather than throwing.
function unitSimilarity(a: Unit, b: Unit): number {
  return a.v.length === b.v.length ? dot4(a.v, b.v) * a.inv * b.inv : 0;
}

/** Mean cosine over all pairs of a list: the quantity MMR is meant to lower. */
export function meanPairwiseSimilarity(vectors: readonly Float32Array[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      sum += cosine(vectors[i], vectors[j]);
      pairs++;
    }
  }
  return pairs === 0 ? 0 : sum / pairs;
}
