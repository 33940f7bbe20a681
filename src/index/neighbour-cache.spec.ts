import { ExactIndex } from '../domain/exact-index';
import { NeighbourCache, NEIGHBOURS_PER_LIST } from '../domain/neighbour-cache';
import type { NeighbourList } from '../domain/vector-index';
import { cosine, normalize } from '../domain/vector-math';
import { HnswIndex } from './hnsw-index';

function randomVectors(n: number, dim: number, seed = 7): Float32Array[] {
  let s = seed;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, () => normalize(Float32Array.from({ length: dim }, rnd)));
}

const DIM = 24;

/** An HNSW index (ef high enough to be exact at this size) and the exact oracle, kept in step. */
function indexes(n: number) {
  const hnsw = new HnswIndex(DIM, { m: 16, efConstruction: 200, efSearch: 400, initialCapacity: 64 });
  const exact = new ExactIndex(DIM);
  const upsert = (id: string, v: Float32Array) => {
    hnsw.upsert(id, v);
    exact.upsert(id, v);
  };
  const remove = (id: string) => {
    hnsw.remove(id);
    exact.remove(id);
  };
  randomVectors(n, DIM).forEach((v, i) => upsert(`i${i}`, v));
  const walks = jest.spyOn(hnsw, 'search');
  const truth = (id: string, k: number) => exact.search(exact.vector(id)!, k).map((n) => n.id);
  return { hnsw, exact, upsert, remove, walks, truth };
}

const ids = (list: NeighbourList | undefined, k: number) => list!.ids.slice(0, k);

/** A vector close to `v` (cosine ~0.99). */
function near(v: Float32Array, seed: number): Float32Array {
  const noise = randomVectors(1, DIM, seed)[0];
  return normalize(v.map((x, i) => x + 0.1 * noise[i]));
}

describe('NeighbourCache', () => {
  it('walks once, then catches up with upserts and removes: always the exact top k, no second walk', () => {
    const { hnsw, upsert, remove, walks, truth } = indexes(800);
    const cache = new NeighbourCache(100);
    const k = 30;
    expect(ids(cache.nearest(hnsw, 'i1', k), k)).toEqual(truth('i1', k));
    expect(walks).toHaveBeenCalledTimes(1);

    // A new item right next to i1 comes in second (after i1 itself), with the score a walk gives it.
    upsert('new', near(hnsw.vector('i1')!, 99));
    const after = cache.nearest(hnsw, 'i1', k)!;
    expect(ids(after, k)).toEqual(truth('i1', k));
    expect(after.ids[1]).toBe('new');
    const walked = hnsw.search(hnsw.vector('i1')!, 3).find((n) => n.id === 'new')!;
    expect(after.scores[1]).toBeCloseTo(walked.score, 5);
    walks.mockClear();

    // A neighbour removed, another moved far away, a far item added: each handled where it now belongs.
    const [, , second, third] = truth('i1', 4);
    remove(second);
    upsert(third, randomVectors(1, DIM, 1234)[0]);
    upsert(
      'far',
      hnsw.vector('i1')!.map((x) => -x),
    );
    expect(ids(cache.nearest(hnsw, 'i1', k), k)).toEqual(truth('i1', k));
    expect(cache.nearest(hnsw, 'i1', k)!.ids.some((id) => id === second || id === 'far')).toBe(false);
    expect(walks).not.toHaveBeenCalled();
  });

  it("walks again when the item's own vector changed, or too much changed since", () => {
    const { hnsw, upsert, walks, truth } = indexes(600);
    const cache = new NeighbourCache(100);
    cache.nearest(hnsw, 'i5', 20);
    upsert('i5', randomVectors(1, DIM, 555)[0]);
    expect(ids(cache.nearest(hnsw, 'i5', 20), 20)).toEqual(truth('i5', 20));
    expect(walks).toHaveBeenCalledTimes(2);

    randomVectors(300, DIM, 77).forEach((v, i) => upsert(`bulk${i}`, v));
    expect(ids(cache.nearest(hnsw, 'i5', 20), 20)).toEqual(truth('i5', 20));
    expect(walks).toHaveBeenCalledTimes(3);
  });

  it('walks again for a longer list than it holds, and when removals leave it short', () => {
    const { hnsw, remove, walks, truth } = indexes(600);
    const cache = new NeighbourCache(100);
    cache.nearest(hnsw, 'i2', 8); // walks for 10
    cache.nearest(hnsw, 'i2', 10);
    expect(walks).toHaveBeenCalledTimes(1);
    expect(ids(cache.nearest(hnsw, 'i2', 40), 40)).toEqual(truth('i2', 40));
    expect(walks).toHaveBeenCalledTimes(2);

    // 50 kept; with 45 of them removed only 5 are known to be the best, so 8 needs a new walk.
    for (const id of truth('i2', 46).slice(1)) remove(id);
    expect(ids(cache.nearest(hnsw, 'i2', 8), 8)).toEqual(truth('i2', 8));
    expect(walks).toHaveBeenCalledTimes(3);
  });

  it('a list covering the whole index takes every new item', () => {
    const { hnsw, upsert, walks, truth } = indexes(12);
    const cache = new NeighbourCache(100);
    expect(cache.nearest(hnsw, 'i0', 50)!.ids).toHaveLength(12);
    upsert(
      'far',
      hnsw.vector('i0')!.map((x) => -x),
    );
    expect(ids(cache.nearest(hnsw, 'i0', 50), 13)).toEqual(truth('i0', 13));
    expect(walks).toHaveBeenCalledTimes(1);
  });

  it('keeps `capacity` lists of NEIGHBOURS_PER_LIST per index, the least recently used going first', () => {
    const { hnsw, walks } = indexes(2000);
    const cache = new NeighbourCache(2); // 800 neighbours: two lists walked for 300 (375 each), not three
    cache.nearest(hnsw, 'i1', 300);
    cache.nearest(hnsw, 'i2', 300);
    cache.nearest(hnsw, 'i1', 300);
    cache.nearest(hnsw, 'i3', 300); // i2 goes
    expect(walks).toHaveBeenCalledTimes(3);
    cache.nearest(hnsw, 'i1', 300);
    expect(walks).toHaveBeenCalledTimes(3);
    cache.nearest(hnsw, 'i2', 300);
    expect(walks).toHaveBeenCalledTimes(4);
    // A list longer than the whole budget is still kept (alone), so a deep read is not walked twice in a row.
    const deep = cache.nearest(hnsw, 'i4', 4 * NEIGHBOURS_PER_LIST)!;
    expect(deep.ids.length).toBeGreaterThan(2 * NEIGHBOURS_PER_LIST);
    cache.nearest(hnsw, 'i4', 4 * NEIGHBOURS_PER_LIST);
    expect(walks).toHaveBeenCalledTimes(5);
    cache.nearest(hnsw, 'i1', 300); // both i1 and i2 went for it
    expect(walks).toHaveBeenCalledTimes(6);
  });

  it('answers undefined for an id not in the index, and when turned off', () => {
    const { hnsw, walks } = indexes(50);
    expect(new NeighbourCache(10).nearest(hnsw, 'nope', 5)).toBeUndefined();
    expect(new NeighbourCache(0).nearest(hnsw, 'i1', 5)).toBeUndefined();
    expect(walks).not.toHaveBeenCalled();
  });

  it('within(): every item at least that close to any of the ids, as a scan of all vectors finds them', () => {
    const { hnsw, exact, upsert } = indexes(800);
    // i3 gets 50 near duplicates (more than the first list holds), i4 three, i5 none.
    for (let j = 0; j < 50; j++) upsert(`d3-${j}`, near(exact.vector('i3')!, 100 + j));
    for (let j = 0; j < 3; j++) upsert(`d4-${j}`, near(exact.vector('i4')!, 200 + j));
    const cache = new NeighbourCache(100);
    const scan = (from: string[], threshold: number) => {
      const out: string[] = [];
      for (const n of exact.search(exact.vector('i0')!, exact.size)) {
        if (from.some((f) => cosine(exact.vector(f)!, exact.vector(n.id)!) >= threshold)) out.push(n.id);
      }
      return out.sort();
    };
    for (const threshold of [0.9, 0.95]) {
      const from = ['i3', 'i4', 'i5', 'not-there'];
      const { near: found, notWalked } = cache.within(hnsw, from, threshold);
      expect(notWalked).toEqual([]);
      const got = [...found].sort();
      expect(got).toEqual(scan(from.slice(0, 3), threshold));
      expect(got.filter((id) => id.startsWith('d3-')).length).toBeGreaterThan(32);
      expect(got).toEqual(expect.arrayContaining(['i3', 'i4', 'i5', 'd4-0', 'd4-1', 'd4-2']));
    }
    // Off: nothing read off lists, every id in the index left to the caller.
    expect(new NeighbourCache(0).within(hnsw, ['i3', 'not-there'], 0.9)).toEqual({
      near: new Set(),
      notWalked: ['i3'],
    });
  });

  it('within(): walks at most maxWalks lists per call and names the rest; kept lists cost no walk', () => {
    const { hnsw, exact, upsert, walks } = indexes(400);
    for (let j = 0; j < 3; j++) upsert(`d3-${j}`, near(exact.vector('i3')!, 300 + j));
    for (let j = 0; j < 3; j++) upsert(`d4-${j}`, near(exact.vector('i4')!, 400 + j));
    const cache = new NeighbourCache(100);
    const from = ['i3', 'not-there', 'i4', 'i5'];
    const first = cache.within(hnsw, from, 0.9, 1);
    expect(walks).toHaveBeenCalledTimes(1);
    expect(first.notWalked).toEqual(['i4', 'i5']);
    expect([...first.near].sort()).toEqual(['d3-0', 'd3-1', 'd3-2', 'i3']);
    // The next call reads i3 off its kept list and walks the next one.
    const second = cache.within(hnsw, from, 0.9, 1);
    expect(walks).toHaveBeenCalledTimes(2);
    expect(second.notWalked).toEqual(['i5']);
    expect([...second.near].sort()).toEqual(['d3-0', 'd3-1', 'd3-2', 'd4-0', 'd4-1', 'd4-2', 'i3', 'i4']);
    const third = cache.within(hnsw, from, 0.9, 1);
    expect(walks).toHaveBeenCalledTimes(3);
    expect(third.notWalked).toEqual([]);
    expect(third.near).toEqual(cache.within(hnsw, from, 0.9).near);
    expect(walks).toHaveBeenCalledTimes(3);
    // A changed item's list is walked again, within the budget like any other.
    upsert('i3', near(exact.vector('i3')!, 500));
    expect(cache.within(hnsw, from, 0.9, 0).notWalked).toEqual(['i3']);
    expect(walks).toHaveBeenCalledTimes(3);
    expect(cache.within(hnsw, from, 0.9, 1).notWalked).toEqual([]);
    expect(walks).toHaveBeenCalledTimes(4);
  });
});
