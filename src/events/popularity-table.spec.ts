import { PopularityTable, type PopularitySource } from './popularity-table';

/** A source over a plain map, recording calls; `gate` holds readAll until released. */
function source(initial: Record<string, number>) {
  const table = new Map(Object.entries(initial));
  const calls: string[] = [];
  let gate: Promise<void> | undefined;
  let failing = false;
  const s: PopularitySource = {
    async readAll(c) {
      calls.push(`all:${c}`);
      await gate;
      if (failing) throw new Error('redis down');
      return { ids: [...table.keys()], values: [...table.values()] };
    },
    async readSome(c, ids) {
      calls.push(`some:${c}:${ids.join(',')}`);
      if (failing) throw new Error('redis down');
      return ids.map((id) => table.get(id) ?? 0);
    },
  };
  return {
    s,
    table,
    calls,
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
    fail: (on: boolean) => (failing = on),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

/** A table over `src` whose copy of catalogue `c` is already in (one request made, its background read done). */
async function loaded(
  src: ReturnType<typeof source>,
  clock: () => number,
  c = 'c',
  onError?: (err: unknown) => void,
): Promise<PopularityTable> {
  const table = new PopularityTable(src.s, 1_000, clock, onError);
  await table.read(c, ['a']);
  await settle();
  return table;
}

describe('PopularityTable', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 10_000;
  });

  it('answers the first request with its own ids while the whole table loads, then from memory without reads', async () => {
    const src = source({ a: 3, b: 1 });
    const table = new PopularityTable(src.s, 1_000, clock);
    const release = src.hold();
    const first = await table.read('c', ['a', 'x', 'a']);
    expect([first.get('a'), first.get('x')]).toEqual([3, 0]);
    expect(src.calls).toEqual(['all:c', 'some:c:a,x']);
    release();
    await settle();
    src.calls.length = 0;
    for (let i = 0; i < 5; i++) {
      now += 100;
      const m = await table.read('c', ['a', 'b', 'y']);
      expect([m.get('a'), m.get('b'), m.get('y')]).toEqual([3, 1, undefined]);
    }
    expect(src.calls).toEqual([]);
  });

  it('reads the table again once it is ttl old, serving the old copy meanwhile, one read at a time', async () => {
    const src = source({ a: 3 });
    const table = await loaded(src, clock);
    src.table.set('a', 7);
    src.calls.length = 0;
    now += 999;
    expect((await table.read('c', ['a'])).get('a')).toBe(3);
    expect(src.calls).toEqual([]);
    now += 1;
    const release = src.hold();
    expect((await table.read('c', ['a'])).get('a')).toBe(3);
    expect((await table.read('c', ['a'])).get('a')).toBe(3);
    expect(src.calls).toEqual(['all:c']);
    release();
    await settle();
    expect((await table.read('c', ['a'])).get('a')).toBe(7);
  });

  it('reads a big table less often: at most idsPerSecond ids a second', async () => {
    const big: Record<string, number> = {};
    for (let i = 0; i < 5_000; i++) big[`i${i}`] = i;
    const src = source(big);
    const table = new PopularityTable(src.s, 1_000, clock, undefined, 1_000);
    expect(table.interval(5_000)).toBe(5_000);
    expect(table.interval(10)).toBe(1_000);
    await table.read('c', ['i1']);
    await settle();
    src.calls.length = 0;
    now += 4_999;
    await table.read('c', ['i1']);
    expect(src.calls).toEqual([]);
    now += 1;
    await table.read('c', ['i1']);
    expect(src.calls).toEqual(['all:c']);
  });

  it('keeps the old copy when a read fails, says so, and tries again an interval later', async () => {
    const src = source({ a: 3 });
    const errors: unknown[] = [];
    const table = await loaded(src, clock, 'c', (e) => errors.push(e));
    src.fail(true);
    src.table.set('a', 9);
    now += 1_000;
    expect((await table.read('c', ['a'])).get('a')).toBe(3);
    await settle();
    expect(errors).toHaveLength(1);
    src.calls.length = 0;
    now += 500;
    expect((await table.read('c', ['a'])).get('a')).toBe(3);
    expect(src.calls).toEqual([]);
    src.fail(false);
    now += 500;
    await table.read('c', ['a']);
    await settle();
    expect((await table.read('c', ['a'])).get('a')).toBe(9);
  });

  it('keeps catalogues apart', async () => {
    const src = source({ a: 3 });
    const table = await loaded(src, clock, 'one');
    src.table.set('a', 5);
    expect((await table.read('two', ['a'])).get('a')).toBe(5);
    expect((await table.read('one', ['a'])).get('a')).toBe(3);
  });

  it('with ttl 0 keeps no copy: every request reads its own ids', async () => {
    const src = source({ a: 3 });
    const table = new PopularityTable(src.s, 0, clock);
    await table.read('c', ['a']);
    src.table.set('a', 4);
    expect((await table.read('c', ['a'])).get('a')).toBe(4);
    expect(src.calls).toEqual(['some:c:a', 'some:c:a']);
  });

  it('keeps each copy as it was read: the next one drops ids that left, the old one answers as before', async () => {
    const src = source({ a: 3, b: 1 });
    const table = await loaded(src, clock);
    const first = await table.read('c', []);
    src.table.delete('b');
    src.table.set('n', 7);
    src.table.set('a', 4);
    now += 1_000;
    await table.read('c', []);
    await settle();
    const second = await table.read('c', []);
    expect([second.get('a'), second.get('b'), second.get('n')]).toEqual([4, undefined, 7]);
    expect([first.get('a'), first.get('b'), first.get('n')]).toEqual([3, 1, undefined]);
    // Thousands of ids come and go (the slot map starts over on the way): answers stay those of the last read.
    for (let round = 0; round < 4; round++) {
      src.table.clear();
      for (let i = 0; i < 1500; i++) src.table.set(`r${round}-${i}`, i + 0.5);
      now += 1_000;
      await table.read('c', []);
      await settle();
    }
    const last = await table.read('c', []);
    expect([last.get('r3-5'), last.get('r3-1499'), last.get('r2-5'), last.get('a')]).toEqual([
      5.5,
      1499.5,
      undefined,
      undefined,
    ]);
  });

  it('makes the copy of a big table over several turns of the event loop, serving the old one until it is whole', async () => {
    const src = source({});
    for (let i = 0; i < 50_000; i++) src.table.set(`i${i}`, i);
    const table = await loaded(src, clock);
    let first = await table.read('c', []);
    for (let i = 0; i < 100 && first.get('i49999') === undefined; i++) {
      await settle();
      first = await table.read('c', []);
    }
    expect(first.get('i49999')).toBe(49_999);
    for (let i = 0; i < 50_000; i++) src.table.set(`i${i}`, i + 0.25);
    src.table.set('new', 1);
    now += table.interval(50_000);
    await table.read('c', []);
    // Turns of the event loop (requests could be served in each) until the new copy is in.
    let turns = 0;
    while ((await table.read('c', [])) === first && turns < 1000) {
      expect(first.get('i7')).toBe(7);
      expect(first.get('new')).toBeUndefined();
      turns++;
      await settle();
    }
    expect(turns).toBeGreaterThanOrEqual(5);
    const second = await table.read('c', []);
    expect([second.get('i0'), second.get('i25000'), second.get('i49999'), second.get('new')]).toEqual([
      0.25, 25_000.25, 49_999.25, 1,
    ]);
  });
});
