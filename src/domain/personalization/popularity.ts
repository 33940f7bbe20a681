// Time-decayed popularity: every event adds w·2^(-(now-t)/halfLife) to its item.

// The half-life is the catalogue's `default` ranking config's popularity.halfLifeDays (the signals worker reads it).

export interface DecayParams {
  /** Seconds after which an event counts half. */
  halfLifeSeconds: number;
  /** Reference epoch (seconds) the stored scores are expressed at. */
  epochSeconds: number;
}

/** Stored increment w·2^((t−t0)/h): the sum at any `now` is stored·2^(−(now−t0)/h), so ZINCRBY never rescales other items. */
export function popularityIncrement(weight: number, eventSeconds: number, p: DecayParams): number {
  return weight * Math.pow(2, (eventSeconds - p.epochSeconds) / p.halfLifeSeconds);
}

/** The decayed count at `nowSeconds` from a stored (epoch-relative) score. */
export function decayedScore(stored: number, nowSeconds: number, p: DecayParams): number {
  return stored * Math.pow(2, -(nowSeconds - p.epochSeconds) / p.halfLifeSeconds);
}

/** Doubles overflow near 2^1023; move the epoch forward well before (every ~500 half-lives is plenty). */
export function needsRebase(nowSeconds: number, p: DecayParams, maxHalfLives = 500): boolean {
  return (nowSeconds - p.epochSeconds) / p.halfLifeSeconds > maxHalfLives;
}

/** Multiplier for every stored score when the epoch moves from p.epochSeconds to newEpoch (one pass, rare). */
export function rebaseFactor(newEpochSeconds: number, p: DecayParams): number {
  return Math.pow(2, -(newEpochSeconds - p.epochSeconds) / p.halfLifeSeconds);
}

/** In-memory mirror of the Redis sorted set: same stored scores, same ordering. */
export class PopularityCounter {
  private readonly stored = new Map<string, number>();
  private params: DecayParams;

  constructor(params: DecayParams) {
    this.params = { ...params };
  }

  add(itemId: string, weight: number, eventSeconds: number): void {
    if (needsRebase(eventSeconds, this.params)) this.rebase(eventSeconds);
    const inc = popularityIncrement(weight, eventSeconds, this.params);
    this.stored.set(itemId, (this.stored.get(itemId) ?? 0) + inc);
  }

  score(itemId: string, nowSeconds: number): number {
    return decayedScore(this.stored.get(itemId) ?? 0, nowSeconds, this.params);
  }

  /** Top-k by decayed count; the shared decay factor does not change the order, so sort by stored score. */
  top(k: number, nowSeconds: number, exclude?: (id: string) => boolean): { id: string; score: number }[] {
    const rows: { id: string; stored: number }[] = [];
    for (const [id, stored] of this.stored) if (!exclude?.(id)) rows.push({ id, stored });
    rows.sort((a, b) => b.stored - a.stored || (a.id < b.id ? -1 : 1));
    return rows
      .slice(0, k)
      .map((r) => ({ id: r.id, score: decayedScore(r.stored, nowSeconds, this.params) }));
  }

  get size(): number {
    return this.stored.size;
  }

  private rebase(newEpoch: number): void {
    const f = rebaseFactor(newEpoch, this.params);
    for (const [id, s] of this.stored) this.stored.set(id, s * f);
    this.params = { ...this.params, epochSeconds: newEpoch };
  }
}
