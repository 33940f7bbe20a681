/**
 * Catalogue-wide signals read recently (popularity per item, trending pages). The worker moves them slowly — a
 * decayed count with a half-life of days — so requests within `ttlMs` of each other share one Redis read instead of
 * each asking for the same few hundred ids. Per catalogue, everything read in one window is dropped together when
 * the window ends, so nothing is older than `ttlMs`; `ttlMs` 0 turns the cache off.
 */
export class RecentReads<V> {
  private readonly windows = new Map<string, { at: number; values: Map<string, V> }>();

  constructor(
    private readonly ttlMs: number,
    /** A window holding this many keys starts over (memory stays bounded on a huge catalogue). */
    private readonly maxKeys = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * A map holding every one of `keys`: the ones read within the window, the rest fetched in one call (`fetch` gets
   * each missing key once and returns their values in the same order). The map is shared: read it, never change it.
   */
  async read(
    catalogue: string,
    keys: Iterable<string>,
    fetch: (missing: string[]) => Promise<V[]>,
  ): Promise<ReadonlyMap<string, V>> {
    const values = this.window(catalogue);
    let missing: string[] | undefined;
    let asked: Set<string> | undefined;
    for (const k of keys) {
      if (values.has(k)) continue;
      missing ??= [];
      asked ??= new Set();
      if (asked.has(k)) continue;
      asked.add(k);
      missing.push(k);
    }
    if (!missing) return values;
    const fetched = await fetch(missing);
    if (this.ttlMs <= 0) return new Map(missing.map((k, i) => [k, fetched[i]]));
    // The window may have rolled over during the round trip: the values go into the current one.
    const current = this.window(catalogue);
    missing.forEach((k, i) => current.set(k, fetched[i]));
    if (current === values) return current;
    // Hand back one map that holds every key asked for.
    const merged = new Map(values);
    for (const [k, v] of current) merged.set(k, v);
    return merged;
  }

  /** One value under a fixed key (e.g. a trending page), fetched when the window does not hold it. */
  async one(catalogue: string, key: string, fetch: () => Promise<V>): Promise<V> {
    const values = this.window(catalogue);
    const hit = values.get(key);
    if (hit !== undefined) return hit;
    const v = await fetch();
    if (this.ttlMs > 0) this.window(catalogue).set(key, v);
    return v;
  }

  private window(catalogue: string): Map<string, V> {
    const now = this.clock();
    let w = this.windows.get(catalogue);
    if (!w || now - w.at >= this.ttlMs || w.values.size >= this.maxKeys) {
      w = { at: now, values: new Map() };
      this.windows.set(catalogue, w);
    }
    return w.values;
  }
}
