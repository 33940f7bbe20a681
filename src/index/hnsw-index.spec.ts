import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExactIndex } from '../domain/exact-index';
import { ItemMap } from '../domain/item-map';
import { NeighbourCache } from '../domain/neighbour-cache';
import { FilterMemo } from '../domain/vector-index';
import { normalize } from '../domain/vector-math';
import { HnswIndex } from './hnsw-index';

function randomVectors(n: number, dim: number, seed = 1): Float32Array[] {
  let s = seed;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, () => normalize(Float32Array.from({ length: dim }, rnd)));
}

// Snapshot files go in temp dirs, removed once the file's tests are done (failed ones included).
const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hnsw-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('HnswIndex', () => {
  const params = { m: 16, efConstruction: 200, efSearch: 64, initialCapacity: 16 };

  it('grows past its initial capacity and matches an exact scan', () => {
    const vectors = randomVectors(3000, 32);
    const hnsw = new HnswIndex(32, params);
    const exact = new ExactIndex(32);
    vectors.forEach((v, i) => {
      hnsw.upsert(`id-${i}`, v);
      exact.upsert(`id-${i}`, v);
    });
    expect(hnsw.size).toBe(3000);
    let hits = 0;
    for (let q = 0; q < 50; q++) {
      const truth = new Set(exact.search(vectors[q * 7], 10).map((n) => n.id));
      hits += hnsw.search(vectors[q * 7], 10).filter((n) => truth.has(n.id)).length;
    }
    expect(hits / 500).toBeGreaterThanOrEqual(0.95);
  });

  it('never returns a removed id, reuses its slot, and updates in place', () => {
    const vectors = randomVectors(200, 16, 7);
    const hnsw = new HnswIndex(16, params);
    vectors.forEach((v, i) => hnsw.upsert(`id-${i}`, v));
    expect(hnsw.remove('id-5')).toBe(true);
    expect(hnsw.remove('id-5')).toBe(false);
    expect(hnsw.search(vectors[5], 200).map((n) => n.id)).not.toContain('id-5');
    expect(hnsw.tombstones).toBe(1);
    hnsw.upsert('new', vectors[5]);
    expect(hnsw.tombstones).toBe(0);
    expect(hnsw.search(vectors[5], 1)[0]).toEqual({ id: 'new', score: expect.closeTo(1, 4) });
    hnsw.upsert('new', vectors[9]);
    expect(hnsw.size).toBe(200);
    expect(
      hnsw
        .search(vectors[9], 2)
        .map((n) => n.id)
        .sort(),
    ).toEqual(['id-9', 'new']);
  });

  it('applies a filter and rejects a vector of the wrong size', () => {
    const vectors = randomVectors(100, 8, 3);
    const hnsw = new HnswIndex(8, params);
    vectors.forEach((v, i) => hnsw.upsert(`id-${i}`, v));
    const got = hnsw.search(vectors[0], 5, { filter: (id) => id.endsWith('7') });
    expect(got.length).toBe(5);
    expect(got.every((n) => n.id.endsWith('7'))).toBe(true);
    expect(() => hnsw.upsert('x', new Float32Array(4))).toThrow(/4 dims/);
  });

  it('with a memo asks the item filter once per item; a changed item is asked again, a rebuilt map or a reused label starts over', () => {
    const vectors = randomVectors(400, 16, 5);
    const hnsw = new HnswIndex(16, params);
    let items = new ItemMap();
    vectors.forEach((v, i) => {
      hnsw.upsert(`id-${i}`, v);
      items.set(`id-${i}`, { id: `id-${i}`, title: `t${i}`, available: i % 3 === 0 });
    });
    const rebuilt = new ItemMap();
    for (const [id, item] of items) rebuilt.set(id, { ...item, available: !item.available });
    const asked = new Map<string, number>();
    const available = (id: string): boolean => items.get(id)?.available === true;
    const filter = (id: string): boolean => {
      asked.set(id, (asked.get(id) ?? 0) + 1);
      return available(id);
    };
    const truth = (q: number, k = 10) => hnsw.search(vectors[q], k, { filter: available });
    const memo = new FilterMemo(items);
    for (const q of [0, 1, 0, 1]) expect(hnsw.search(vectors[q], 10, { filter, memo })).toEqual(truth(q));
    expect(Math.max(...asked.values())).toBe(1);
    // A per-request test is asked every time and never remembered.
    const notFirst = (id: string): boolean => id !== truth(0)[0].id;
    expect(hnsw.search(vectors[0], 10, { filter, memo, also: notFirst })).toEqual(
      hnsw.search(vectors[0], 10, { filter: (id) => available(id) && notFirst(id) }),
    );
    expect(Math.max(...asked.values())).toBe(1);
    // One item changes: it alone is asked again (the walk may also reach items it never asked about), and its new
    // answer counts.
    const flip = truth(0)[0].id;
    items.set(flip, { ...items.get(flip)!, available: false });
    const before = new Set(asked.keys());
    asked.clear();
    const after = hnsw.search(vectors[0], 10, { filter, memo });
    expect(after).toEqual(truth(0));
    expect(after.map((n) => n.id)).not.toContain(flip);
    expect(asked.get(flip)).toBe(1);
    for (const id of asked.keys()) if (id !== flip) expect(before.has(id)).toBe(false);
    // A rebuilt map (another object, other answers, built before the last change it replaces) starts over.
    items = rebuilt;
    memo.items = rebuilt;
    expect(hnsw.search(vectors[0], 10, { filter, memo })).toEqual(truth(0));
    // A freed label reused by another id: the old id's answer does not carry over.
    const first = hnsw.search(vectors[7], 1, { filter, memo })[0].id;
    hnsw.remove(first);
    hnsw.upsert('other', vectors[7]);
    expect(hnsw.search(vectors[7], 1, { filter, memo })[0].id).not.toBe('other');
    items.set('other', { id: 'other', title: 'o', available: true });
    expect(hnsw.search(vectors[7], 1, { filter, memo })[0].id).toBe('other');
  });

  it('filterAfter walks unfiltered and keeps only what the filters pass', () => {
    const vectors = randomVectors(300, 16, 6);
    const hnsw = new HnswIndex(16, params);
    vectors.forEach((v, i) => hnsw.upsert(`id-${i}`, v));
    const even = (id: string): boolean => Number(id.slice(3)) % 2 === 0;
    const items = new ItemMap();
    const after = hnsw.search(vectors[3], 40, {
      filter: even,
      memo: new FilterMemo(items),
      filterAfter: true,
    });
    expect(after).toEqual(hnsw.search(vectors[3], 40).filter((n) => even(n.id)));
    expect(after.length).toBeGreaterThan(10);
  });
});

describe('HnswIndex.keep (kept neighbour lists)', () => {
  const params = { m: 16, efConstruction: 100, efSearch: 64, initialCapacity: 16 };

  it('answers as a lookup of every id would, through a removal, a reused label and a stale list', () => {
    const vectors = randomVectors(200, 16, 9);
    const hnsw = new HnswIndex(16, params);
    vectors.forEach((v, i) => hnsw.upsert(`id-${i}`, v));
    const cache = new NeighbourCache(100);
    const even = (id: string): boolean => id.startsWith('new') || Number(id.slice(3)) % 2 === 0;
    const expected = (ids: readonly string[], k: number) =>
      ids.slice(0, k).filter((id) => hnsw.has(id) && even(id));
    const list = cache.nearest(hnsw, 'id-0', 60)!;
    const first = hnsw.keep(list, 60, { filter: even }).map((n) => n.id);
    expect(first).toEqual(expected(list.ids, 60));
    // Read again at the same version (the remembered labels) and deeper than before.
    expect(hnsw.keep(list, 60, { filter: even }).map((n) => n.id)).toEqual(first);
    expect(hnsw.keep(list, 80, { filter: even }).map((n) => n.id)).toEqual(expected(list.ids, 80));

    // Its label goes to a new item: a list that has not caught up still names the removed id.
    const gone = first[1];
    hnsw.remove(gone);
    hnsw.upsert('new-1', vectors[150]);
    expect(list.ids).toContain(gone);
    const stale = hnsw.keep(list, 60, { filter: even }).map((n) => n.id);
    expect(stale).not.toContain(gone);
    expect(stale).toEqual(expected(list.ids, 60));

    const current = cache.nearest(hnsw, 'id-0', 60)!;
    expect(current.ids).not.toContain(gone);
    expect(hnsw.keep(current, 60, { filter: even }).map((n) => n.id)).toEqual(expected(current.ids, 60));
  });
});

describe('HnswIndex.similarity (int8 copies)', () => {
  const params = { m: 16, efConstruction: 100, efSearch: 64, initialCapacity: 16 };

  it('is within 0.01 of the exact cosine for unnormalised inputs, through growth, updates and deletes', () => {
    const dim = 512;
    const vectors = randomVectors(300, dim, 5).map((v, i) => v.map((x) => x * (1 + (i % 7))));
    const hnsw = new HnswIndex(dim, params);
    const exact = new ExactIndex(dim);
    vectors.forEach((v, i) => {
      hnsw.upsert(`id-${i}`, v);
      exact.upsert(`id-${i}`, v);
    });
    // Near duplicates too, where MMR and the dislike threshold care most.
    const near = normalize(vectors[0].map((x, j) => x + (j % 2 === 0 ? 0.01 : -0.01)));
    hnsw.upsert('near', near);
    exact.upsert('near', near);
    hnsw.upsert('id-1', vectors[2]);
    exact.upsert('id-1', vectors[2]);
    hnsw.remove('id-9');
    let worst = 0;
    for (let a = 0; a < 60; a++) {
      for (const b of ['near', 'id-1', `id-${(a * 13) % 300}`]) {
        const want = exact.similarity(`id-${a}`, b)!;
        const got = hnsw.similarity(`id-${a}`, b);
        if (a === 9) expect(got).toBeUndefined();
        else worst = Math.max(worst, Math.abs(got! - want));
      }
    }
    expect(worst).toBeLessThan(0.01);
    expect(hnsw.similarity('id-0', 'near')).toBeCloseTo(exact.similarity('id-0', 'near')!, 2);
    expect(hnsw.similarity('id-2', 'id-1')).toBeCloseTo(1, 2);
    expect(hnsw.similarity('id-0', 'missing')).toBeUndefined();
  });

  it('answers the same after a snapshot load (copies rebuilt from the graph on first use)', async () => {
    const vectors = randomVectors(100, 64, 9);
    const a = new HnswIndex(64, params);
    vectors.forEach((v, i) => a.upsert(`id-${i}`, v));
    const dir = tempDir();
    const file = path.join(dir, 'index.bin');
    const b = HnswIndex.load(64, params, file, await a.save(file));
    for (let i = 0; i < 50; i++) {
      expect(b.similarity(`id-${i}`, `id-${i + 50}`)).toBeCloseTo(
        a.similarity(`id-${i}`, `id-${i + 50}`)!,
        3,
      );
    }
  });

  it('reads the copies back from saveQuantised (deletes and a reused label included), else fills them lazily', async () => {
    const vectors = randomVectors(120, 64, 11);
    const a = new HnswIndex(64, params);
    vectors.forEach((v, i) => a.upsert(`id-${i}`, v));
    a.remove('id-3');
    a.remove('id-4');
    a.upsert('new', vectors[7]); // reuses a freed label
    const dir = tempDir();
    const file = path.join(dir, 'index.bin');
    const labels = await a.save(file);
    await a.saveQuantised(`${file}.q8`);

    const b = HnswIndex.load(64, params, file, labels, `${file}.q8`);
    expect(b.quantised).toBe(b.size);
    expect(b.size).toBe(119);
    for (let i = 5; i < 60; i++) {
      expect(b.similarity(`id-${i}`, `id-${i + 60}`)).toBe(a.similarity(`id-${i}`, `id-${i + 60}`));
    }
    expect(b.similarity('new', 'id-7')).toBeCloseTo(1, 2);
    expect(b.similarity('id-3', 'id-5')).toBeUndefined();

    // No file, or one for another index shape: nothing read, copies fill on first use with the same answers.
    const lazy = HnswIndex.load(64, params, file, labels, path.join(dir, 'missing.q8'));
    expect(lazy.quantised).toBe(0);
    fs.writeFileSync(`${file}.short`, fs.readFileSync(`${file}.q8`).subarray(0, 1000));
    const short = HnswIndex.load(64, params, file, labels, `${file}.short`);
    expect(short.quantised).toBe(0);
    expect(short.similarity('id-10', 'id-70')).toBe(a.similarity('id-10', 'id-70'));
    expect(short.quantised).toBe(2);
  });
});

describe('HnswIndex snapshots', () => {
  it('saves and loads to an index that answers identically, deletes and free slots included', async () => {
    const params = { m: 16, efConstruction: 100, efSearch: 64 };
    const vectors = randomVectors(500, 24, 11);
    const a = new HnswIndex(24, params);
    vectors.forEach((v, i) => a.upsert(`id-${i}`, v));
    a.remove('id-3');
    a.remove('id-4');
    a.upsert('id-4b', vectors[4]);
    const dir = tempDir();
    const file = path.join(dir, 'index.bin');
    const labels = await a.save(file);
    const b = HnswIndex.load(24, params, file, labels);
    expect(b.size).toBe(a.size);
    expect(b.tombstones).toBe(1);
    for (let q = 0; q < 40; q++) expect(b.search(vectors[q * 3], 10)).toEqual(a.search(vectors[q * 3], 10));
    expect(b.has('id-3')).toBe(false);
    b.upsert('again', vectors[3]);
    expect(b.tombstones).toBe(0);
    expect(() => HnswIndex.load(24, params, file, { ...labels, nextLabel: labels.nextLabel + 5 })).toThrow(
      /id map/,
    );
  });

  it('writes off the event loop: searches and lazy int8 fills go on, changes are refused until it settles', async () => {
    const params = { m: 16, efConstruction: 100, efSearch: 64 };
    const vectors = randomVectors(3000, 64, 13);
    const a = new HnswIndex(64, params);
    vectors.forEach((v, i) => a.upsert(`id-${i}`, v));
    const dir = tempDir();
    const file = path.join(dir, 'index.bin');
    // A copy loaded without its int8 file fills them lazily, i.e. while its own save is in flight below.
    const lazy = HnswIndex.load(64, params, file, await a.save(file));
    expect(lazy.quantised).toBe(0);

    const before = lazy.search(vectors[5], 10);
    const saving = Promise.all([lazy.save(`${file}.2`), lazy.saveQuantised(`${file}.2.q8`)]);
    // The save has not finished (it settles on a later turn of the event loop), yet the index answers.
    expect(lazy.search(vectors[5], 10)).toEqual(before);
    expect(lazy.similarity('id-1', 'id-2')).toBe(a.similarity('id-1', 'id-2'));
    expect(() => lazy.upsert('late', vectors[9])).toThrow(/being saved/);
    expect(() => lazy.remove('id-1')).toThrow(/being saved/);
    const [labels] = await saving;

    // Now changes apply, and the saved copy answers like the index did when the save began.
    lazy.upsert('late', vectors[9]);
    expect(lazy.has('late')).toBe(true);
    const b = HnswIndex.load(64, params, `${file}.2`, labels, `${file}.2.q8`);
    expect(b.has('late')).toBe(false);
    expect(b.size).toBe(3000);
    expect(b.search(vectors[5], 10)).toEqual(before);
    // Labels filled during the save are either saved filled (with their bytes) or left to fill on first use.
    expect(b.similarity('id-1', 'id-2')).toBe(a.similarity('id-1', 'id-2'));
  });
});
