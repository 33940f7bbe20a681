/** What `read` hands back: a value for every key asked for. Read it before the next call, never change it. */
export interface ReadValues<V> {
  get(key: string): V | undefined;
}

interface Window<V> {
  at: number;
  values: Map<string, V>;
}

/**
 * Catalogue-wide signals read recently (popularity per item, trending pages). The worker moves them slowly — a
 * decayed count with a half-life of days — so requests share one Redis read instead of each asking for the same few
 * hundred ids. Per catalogue, values read within one window of `ttlMs` are served as they are; when the window ends
 * they move to the previous window, from which they are still served at once but read again in the background (each
 * key at most once in flight), so a request waits for Redis only for keys read in neither window. Nothing served is
 * older than 3 × `ttlMs`; `ttlMs` 0 turns the cache off (every read waits for Redis).
 */
export class RecentReads<V> {
  private readonly windows = new Map<string, { current: Window<V>; previous?: Window<V> }>();
  /** Keys being read again in the background, per catalogue. */
  private readonly inFlight = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    /** A window holding this many keys starts over (memory stays bounded on a huge catalogue). */
    private readonly maxKeys = 100_000,
    private readonly clock: () => number = Date.now,
    /** A background read failed (the stale value stays until its window ends; the next reads try again). */
    private readonly onRefreshError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * A value for every one of `keys`: the ones read within the last two windows at once, the rest fetched in one call
   * (`fetch` gets each missing key once and returns their values in the same order).
   */
  async read(
    catalogue: string,
    keys: Iterable<string>,
    fetch: (missing: string[]) => Promise<V[]>,
  ): Promise<ReadValues<V>> {
    const { current, previous } = this.windows_(catalogue);
    let missing: string[] | undefined;
    let asked: Set<string> | undefined;
    let stale: string[] | undefined;
    for (const k of keys) {
      if (current.values.has(k) || asked?.has(k)) continue;
      asked ??= new Set();
      asked.add(k);
      if (previous?.values.has(k)) (stale ??= []).push(k);
      else (missing ??= []).push(k);
    }
    if (!missing) {
      if (stale) this.refresh(catalogue, stale, fetch);
      return stale ? either(current.values, previous!.values) : current.values;
    }
    // A round trip is needed anyway: stale keys ride along in it.
    const all = stale ? [...missing, ...stale] : missing;
    const fetched = await fetch(all);
    if (this.ttlMs <= 0) return new Map(all.map((k, i) => [k, fetched[i]]));
    const now = this.windows_(catalogue).current;
    all.forEach((k, i) => now.values.set(k, fetched[i]));
    // The window may have rolled over during the round trip: earlier keys may sit in the one before.
    return now === current ? current.values : either(now.values, current.values);
  }

  /** One value under a fixed key (e.g. a trending page): at once when read within the last two windows, else fetched. */
  async one(catalogue: string, key: string, fetch: () => Promise<V>): Promise<V> {
    const { current, previous } = this.windows_(catalogue);
    const hit = current.values.get(key);
    if (hit !== undefined) return hit;
    const old = previous?.values.get(key);
    if (old !== undefined) {
      this.refresh(catalogue, [key], async () => [await fetch()]);
      return old;
    }
    const v = await fetch();
    if (this.ttlMs > 0) this.windows_(catalogue).current.values.set(key, v);
    return v;
  }

  /** Reads stale keys again without anyone waiting; keys already being read are left to that read. */
  private refresh(catalogue: string, keys: string[], fetch: (keys: string[]) => Promise<V[]>): void {
    let pending = this.inFlight.get(catalogue);
    if (!pending) {
      pending = new Set();
      this.inFlight.set(catalogue, pending);
    }
    const mine = keys.filter((k) => !pending.has(k));
    if (mine.length === 0) return;
    for (const k of mine) pending.add(k);
    fetch(mine)
      .then((values) => {
        const into = this.windows_(catalogue).current.values;
        mine.forEach((k, i) => into.set(k, values[i]));
      })
      .catch(this.onRefreshError)
      .finally(() => {
        for (const k of mine) pending.delete(k);
      });
  }

  private windows_(catalogue: string): { current: Window<V>; previous?: Window<V> } {
    const now = this.clock();
    let w = this.windows.get(catalogue);
    if (!w || now - w.current.at >= this.ttlMs || w.current.values.size >= this.maxKeys) {
      // The ending window serves (stale) for one more window, unless it ended long ago.
      const previous = w && this.ttlMs > 0 && now - w.current.at < 2 * this.ttlMs ? w.current : undefined;
      w = { current: { at: now, values: new Map() }, previous };
      this.windows.set(catalogue, w);
    }
    return w;
  }
}

/** The first map's value, else the second's. */
function either<V>(first: ReadonlyMap<string, V>, second: ReadonlyMap<string, V>): ReadValues<V> {
  return { get: (k) => (first.has(k) ? first.get(k) : second.get(k)) };
}
