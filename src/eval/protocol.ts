// The offline protocol of issue 7: leave-last-positive-out per user, full-catalogue ranking, HR/NDCG/coverage@10.
import type { Rating } from './movielens';

/** test: last qualifying target; validation: the one before; validation-N: N qualifying targets back (extra tuning folds). */
export type Split = 'test' | 'validation' | `validation-${number}`;

export function splitDepth(split: Split): number {
  if (split === 'test') return 0;
  if (split === 'validation') return 1;
  const n = Number(split.slice('validation-'.length));
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad split ${split}`);
  return n;
}

export interface EvalCase {
  userId: string;
  /** Every interaction before the target, oldest first (any rating). */
  history: Rating[];
  target: Rating;
}

/** Ratings by timestamp, ties by numeric movie id (the protocol's order). */
export function byTime(a: Rating, b: Rating): number {
  return (
    a.ts - b.ts ||
    Number(a.itemId) - Number(b.itemId) ||
    (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0)
  );
}

/** Test: target = last interaction rated ≥ minTargetRating; validation: the one before it. */
export function buildCases(
  ratings: readonly Rating[],
  split: Split,
  minHistory = 3,
  minTargetRating = 4,
): EvalCase[] {
  const perUser = new Map<string, Rating[]>();
  for (const r of ratings) {
    const list = perUser.get(r.userId) ?? [];
    list.push(r);
    perUser.set(r.userId, list);
  }
  const cases: EvalCase[] = [];
  for (const [userId, list] of perUser) {
    list.sort(byTime);
    const qualifying: number[] = [];
    list.forEach((r, i) => r.rating >= minTargetRating && qualifying.push(i));
    const pick = qualifying.length - 1 - splitDepth(split);
    if (pick < 0) continue;
    const t = qualifying[pick];
    const history = list.slice(0, t);
    if (new Set(history.map((h) => h.itemId)).size < minHistory) continue;
    cases.push({ userId, history, target: list[t] });
  }
  return cases.sort((a, b) => Number(a.userId) - Number(b.userId));
}

/** 0-based rank of the target in a ranked list, −1 if absent. */
export function rankOf(ranked: readonly string[], target: string): number {
  return ranked.indexOf(target);
}

/** 1/log2(rank+2) for a 0-based rank below k, else 0. */
export function ndcgAt(rank: number, k = 10): number {
  return rank >= 0 && rank < k ? 1 / Math.log2(rank + 2) : 0;
}

export function hitAt(rank: number, k = 10): number {
  return rank >= 0 && rank < k ? 1 : 0;
}

export interface Metrics {
  users: number;
  hr: number;
  ndcg: number;
  /** Distinct items in anyone's top-k over the catalogue size. */
  coverage: number;
}

export function summarise(
  results: readonly { top: readonly string[]; target: string }[],
  catalogueSize: number,
  k = 10,
): Metrics {
  let hr = 0;
  let ndcg = 0;
  const shown = new Set<string>();
  for (const r of results) {
    const top = r.top.slice(0, k);
    top.forEach((id) => shown.add(id));
    const rank = rankOf(top, r.target);
    hr += hitAt(rank, k);
    ndcg += ndcgAt(rank, k);
  }
  const n = Math.max(1, results.length);
  return { users: results.length, hr: hr / n, ndcg: ndcg / n, coverage: shown.size / catalogueSize };
}
