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

  it('reads again once the window has passed, so nothing served is older than the ttl', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    const f = fetcher();
    await cache.read('c', ['x'], f.fetch);
    f.bump();
    now += 1_000;
    const m = await cache.read('c', ['x'], f.fetch);
    expect(m.get('x')).toBe('x@2');
    expect(f.calls).toEqual([['x'], ['x']]);
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

  it('one(): a fixed key is fetched once per window', async () => {
    const cache = new RecentReads<string>(1_000, 100, clock);
    let n = 0;
    const page = async () => `page${++n}`;
    expect(await cache.one('c', '0:100', page)).toBe('page1');
    expect(await cache.one('c', '0:100', page)).toBe('page1');
    now += 1_000;
    expect(await cache.one('c', '0:100', page)).toBe('page2');
  });
});
