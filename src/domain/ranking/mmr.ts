import { cosine } from '../vector-math';

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
    const n = v ? Math.sqrt(dot(v, v)) : 0;
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
  const capped = (c: T): boolean =>
    cap !== undefined && (c.categories ?? []).some((cat) => (perCategory.get(cat) ?? 0) >= cap);
  const take = (c: T): void => {
    for (const cat of new Set(c.categories ?? [])) perCategory.set(cat, (perCategory.get(cat) ?? 0) + 1);
  };

  if (!sim) {
    const out: T[] = [];
    for (const c of sorted) {
      if (out.length >= limit) break;
      if (capped(c)) continue;
      out.push(c);
      take(c);
    }
    return out;
  }

  const lambda = opts.lambda;
  const maxScore = sorted.reduce((m, c) => Math.max(m, c.score), 0) || 1;
  const windowSize = Math.max(opts.window ?? Math.max(30, 5 * limit), limit);
  // Pool slots: the candidate and its highest similarity to anything chosen so far.
  const pool: { c: T; maxSim: number }[] = [];
  let next = 0;
  const out: T[] = [];

  while (out.length < limit) {
    // Refill the window in score order; a new entrant must catch up on similarity to what is already chosen.
    while (pool.length < windowSize && next < sorted.length) {
      const c = sorted[next++];
      if (capped(c)) continue;
      let maxSim = 0;
      for (const s of out) maxSim = Math.max(maxSim, sim(c.id, s.id));
      pool.push({ c, maxSim });
    }
    if (pool.length === 0) break;
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < pool.length; i++) {
      const p = pool[i];
      if (capped(p.c)) continue;
      const value = (lambda * p.c.score) / maxScore - (1 - lambda) * p.maxSim;
      // Strict ">" keeps the earlier (higher-scored, then smaller id) item on ties.
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    // Counts only grow, so a capped item never becomes eligible again: drop them from the window.
    if (best === -1) {
      pool.length = 0;
      continue;
    }
    const picked = pool[best];
    pool.splice(best, 1);
    out.push(picked.c);
    take(picked.c);
    if (out.length >= limit) break;
    if (cap !== undefined) {
      for (let i = pool.length - 1; i >= 0; i--) if (capped(pool[i].c)) pool.splice(i, 1);
    }
    for (const p of pool) {
      const s = sim(p.c.id, picked.c.id);
      if (s > p.maxSim) p.maxSim = s;
    }
  }
  return out;
}

interface Unit {
  v: Float32Array;
  inv: number;
}

// Vectors of another dimension (a model change mid-reindex) count as unrelated rather than throwing.
function unitSimilarity(a: Unit, b: Unit): number {
  return a.v.length === b.v.length ? dot(a.v, b.v) * a.inv * b.inv : 0;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length - (a.length % 4);
  let i = 0;
  for (; i < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
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
