import { RecentReads } from './recent-reads';

describe('RecentReads', () => {
  let now = 0;
  const clock = () => now;
  const fetcher = () => {
    const calls: string[][] = [];
    let version = 1;
    const fetch = async (missing: string[]) => {
      calls.push(missing);
      return missing.map((k) => `${k}@${version}`);
    };
    return { calls, fetch, bump: () => version++ };
  };

  beforeEach(() => {
    now = 1_000;
  });

  it('asks only for keys not read within the window, each once', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    const a = await cache.read('c', ['x', 'y', 'x'], f.fetch);
    expect(f.calls).toEqual([['x', 'y']]);
    expect([a.get('x'), a.get('y')]).toEqual(['x@1', 'y@1']);
    now += 999;
    const b = await cache.read('c', ['y', 'z'], f.fetch);
    expect(f.calls).toEqual([['x', 'y'], ['z']]);
    expect([b.get('y'), b.get('z')]).toEqual(['y@1', 'z@1']);
  });

  it('serves a value from the window before at once and reads it again in the background, each key once', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    await cache.read('c', ['x', 'y'], f.fetch);
    f.bump();
    now += 1_000;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async (keys: string[]) => {
      await gate;
      return f.fetch(keys);
    };
    // Served from the previous window while the re-read is still out; a second read does not ask again.
    const m = await cache.read('c', ['x'], slow);
    expect(m.get('x')).toBe('x@1');
    expect((await cache.read('c', ['x', 'y'], slow)).get('y')).toBe('y@1');
    expect(f.calls).toEqual([['x', 'y']]);
    release();
    await waitUntil(() => f.calls.length === 3);
    expect(f.calls.slice(1)).toEqual([['x'], ['y']]);
    await new Promise((r) => setImmediate(r));
    const after = await cache.read('c', ['x', 'y'], f.fetch);
    expect([after.get('x'), after.get('y')]).toEqual(['x@2', 'y@2']);
    expect(f.calls).toHaveLength(3);
  });

  it('waits for keys read in neither of the last two windows, so nothing served is older than 3 × ttl', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    await cache.read('c', ['x'], f.fetch);
    f.bump();
    now += 2_000;
    let resolved = false;
    const pending = cache.read('c', ['x'], f.fetch).then((m) => {
      resolved = true;
      return m;
    });
    expect(resolved).toBe(false);
    expect((await pending).get('x')).toBe('x@2');
  });

  it('keeps serving the stale value when the background read fails, and says so', async () => {
    const errors: unknown[] = [];
    const cache = new RecentReads<string>(1_000, 100, clock, (e) => errors.push(e));
    const f = fetcher();
    await cache.read('c', ['x'], f.fetch);
    now += 1_000;
    const m = await cache.read('c', ['x'], async () => {
      throw new Error('Redis down');
    });
    expect(m.get('x')).toBe('x@1');
    await waitUntil(() => errors.length === 1);
    expect(String(errors[0])).toContain('Redis down');
    // The failed key can be asked again.
    f.bump();
    await cache.read('c', ['x'], f.fetch);
    await waitUntil(() => f.calls.length === 2);
  });

  it('keeps catalogues apart', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    await cache.read('a', ['x'], f.fetch);
    await cache.read('b', ['x'], f.fetch);
    expect(f.calls).toEqual([['x'], ['x']]);
  });

  it('with ttl 0 reads every time', async () => {
    const cache = new RecentReads<string>(0, 100, clock);
    const f = fetcher();
    await cache.read('c', ['x'], f.fetch);
    f.bump();
    expect((await cache.read('c', ['x'], f.fetch)).get('x')).toBe('x@2');
    expect(await cache.one('c', 'page', async () => 'p1')).toBe('p1');
    expect(await cache.one('c', 'page', async () => 'p2')).toBe('p2');
  });

  it('starts a window over when it holds maxKeys', async () => {
    const cache = new RecentReads<string>(1_000, 2, clock);
    const f = fetcher();
    await cache.read('c', ['x', 'y'], f.fetch);
    await cache.read('c', ['x'], f.fetch);
    expect(f.calls).toEqual([['x', 'y'], ['x']]);
  });

  it('hands back every key asked for when the window rolls over during the fetch', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    await cache.read('c', ['x'], f.fetch);
    const m = await cache.read('c', ['x', 'y'], async (missing) => {
      now += 2_000; // the round trip outlives the window
      return f.fetch(missing);
    });
    expect([m.get('x'), m.get('y')]).toEqual(['x@1', 'y@1']);
  });

  it('one(): a fixed key is fetched once per window, then served stale while it is read again', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    let n = 0;
    const page = async () => `page${++n}`;
    expect(await cache.one('c', '0:100', page)).toBe('page1');
    expect(await cache.one('c', '0:100', page)).toBe('page1');
    now += 1_000;
    expect(await cache.one('c', '0:100', page)).toBe('page1');
    await waitUntil(() => n === 2);
    await new Promise((r) => setImmediate(r));
    expect(await cache.one('c', '0:100', page)).toBe('page2');
    now += 5_000;
    expect(await cache.one('c', '0:100', page)).toBe('page3');
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
