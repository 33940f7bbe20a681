import type { Item } from './item';
import { ItemMap } from './item-map';

const item = (id: string, createdAt?: string): Item => ({
  id,
  title: id,
  available: true,
  ...(createdAt ? { createdAt } : {}),
});
const day = (d: number): string => new Date(Date.UTC(2026, 0, 1 + d)).toISOString();

/** The order a full sort of the map gives: dated items newest first, ties by id. */
function sorted(map: Map<string, Item>): string[] {
  return [...map.values()]
    .filter((i) => i.createdAt !== undefined && !Number.isNaN(Date.parse(i.createdAt)))
    .sort((a, b) => Date.parse(b.createdAt!) - Date.parse(a.createdAt!) || (a.id < b.id ? -1 : 1))
    .map((i) => i.id);
}

describe('ItemMap.newest', () => {
  it('lists dated items newest first, ties by id, undated and invalid dates left out', () => {
    const m = new ItemMap();
    m.set('b', item('b', day(3)));
    m.set('a', item('a', day(3)));
    m.set('c', item('c', day(5)));
    m.set('u', item('u'));
    m.set('x', item('x', 'not a date'));
    expect([...m.newest()]).toEqual(['c', 'a', 'b']);
  });

  it('stays equal to a full sort through random sets, re-dates and deletes after it was built', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const m = new ItemMap();
    for (let i = 0; i < 300; i++) m.set(`i${i}`, item(`i${i}`, rand(4) === 0 ? undefined : day(rand(50))));
    expect([...m.newest()]).toEqual(sorted(m));
    for (let round = 0; round < 50; round++) {
      for (let j = 0; j < 20; j++) {
        const id = `i${rand(400)}`;
        const op = rand(4);
        if (op === 0) m.delete(id);
        else m.set(id, item(id, op === 1 ? undefined : day(rand(50))));
      }
      expect([...m.newest()]).toEqual(sorted(m));
    }
  });

  it('prepareNewest() sorts once up front; the first read after it sorts nothing and changes are patched in', () => {
    const m = new ItemMap();
    for (let i = 0; i < 2000; i++) m.set(`i${i}`, item(`i${i}`, day(i % 90)));
    const sort = jest.spyOn(Array.prototype, 'sort');
    try {
      m.prepareNewest();
      expect(sort).toHaveBeenCalledTimes(1);
      m.set('late', item('late', day(200)));
      const got = [...m.newest()];
      expect(sort).toHaveBeenCalledTimes(1);
      sort.mockRestore();
      expect(got).toEqual(sorted(m));
      expect(got[0]).toBe('late');
    } finally {
      sort.mockRestore();
    }
  });

  it('rebuilds after a bulk change between reads and after clear', () => {
    const m = new ItemMap();
    m.set('a', item('a', day(1)));
    expect([...m.newest()]).toEqual(['a']);
    for (let i = 0; i < 2500; i++) m.set(`n${i}`, item(`n${i}`, day(2 + (i % 7))));
    expect([...m.newest()]).toEqual(sorted(m));
    m.clear();
    expect([...m.newest()]).toEqual([]);
    m.set('z', item('z', day(9)));
    expect([...m.newest()]).toEqual(['z']);
  });
});

describe('ItemMap.version', () => {
  it('changes with every set, delete and clear, and not with reads', () => {
    const m = new ItemMap();
    const seen = [m.version];
    m.set('a', item('a'));
    seen.push(m.version);
    m.get('a');
    expect([...m.newest()]).toEqual([]);
    expect(m.version).toBe(seen[1]);
    m.set('a', item('a', '2026-01-01T00:00:00Z'));
    seen.push(m.version);
    m.delete('a');
    seen.push(m.version);
    m.clear();
    seen.push(m.version);
    expect(new Set(seen).size).toBe(seen.length);
    // A map built to replace another never takes one of its versions.
    const rebuilt = new ItemMap();
    rebuilt.set('a', item('a'));
    expect(seen).not.toContain(rebuilt.version);
  });
});

describe('ItemMap.changedSince', () => {
  it('lists the ids changed after a version, and says when it no longer knows', () => {
    const m = new ItemMap();
    m.set('a', item('a'));
    const v = m.version;
    expect(m.changedSince(v)).toEqual([]);
    m.set('b', item('b'));
    m.delete('a');
    expect(m.changedSince(v)).toEqual(['a', 'b']);
    // A version from before the map existed, and one from before a clear, are not something it can answer for.
    expect(m.changedSince(0)).toBeUndefined();
    const beforeClear = m.version;
    m.clear();
    expect(m.changedSince(beforeClear)).toBeUndefined();
    // A reader far behind (more changes than the log keeps) is told to start over; a recent one is answered.
    const old = m.version;
    for (let i = 0; i < 3000; i++) m.set(`i${i}`, item(`i${i}`));
    expect(m.changedSince(old)).toBeUndefined();
    const recent = m.version;
    m.set('z', item('z'));
    expect(m.changedSince(recent)).toEqual(['z']);
  });
});
