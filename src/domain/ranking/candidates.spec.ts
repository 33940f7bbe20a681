import { ExactIndex } from '../exact-index';
import { ItemMap } from '../item-map';
import {
  FilterMemo,
  passesSearchFilters,
  type Neighbour,
  type SearchOptions,
  type VectorIndex,
} from '../vector-index';
import { cosine, normalize } from '../vector-math';
import type { Item } from '../item';
import { estimateMatchFraction, recommendVector, similarCandidates } from './candidates';
import { eligibility, rank } from './rank';
import { parseRankingConfig } from './ranking-config.schema';

import { HierarchicalNSW } from 'hnswlib-node';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomVector = (r: () => number, dim: number): Float32Array =>
  Float32Array.from({ length: dim }, () => r() * 2 - 1);

/** Test-local VectorIndex over hnswlib-node, the way the index/ adapter wraps it. */
class HnswIndex implements VectorIndex {
  private readonly hnsw: HierarchicalNSW;
  private readonly labels = new Map<string, number>();
  private readonly idsByLabel: string[] = [];
  private readonly vectors = new Map<string, Float32Array>();
  constructor(
    readonly dimension: number,
    capacity: number,
  ) {
    this.hnsw = new HierarchicalNSW('cosine', dimension);
    this.hnsw.initIndex(capacity, 16, 100, 42);
    this.hnsw.setEf(64);
  }
  get size(): number {
    return this.vectors.size;
  }
  has(id: string): boolean {
    return this.vectors.has(id);
  }
  upsert(id: string, vector: Float32Array): void {
    let label = this.labels.get(id);
    if (label === undefined) {
      label = this.idsByLabel.length;
      this.labels.set(id, label);
      this.idsByLabel.push(id);
    }
    this.vectors.set(id, vector);
    this.hnsw.addPoint(Array.from(vector), label);
  }
  remove(): boolean {
    throw new Error('not needed here');
  }
  vector(id: string): Float32Array | undefined {
    return this.vectors.get(id);
  }
  ids(): IterableIterator<string> {
    return this.vectors.keys();
  }
  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbour[] {
    const constrained = options.filter !== undefined || options.also !== undefined;
    const pass = (label: number): boolean => passesSearchFilters(this.idsByLabel[label], options);
    const n = Math.min(k, this.size);
    const res = this.hnsw.searchKnn(
      Array.from(query),
      n,
      constrained && !options.filterAfter ? pass : undefined,
    );
    return res.neighbors.flatMap((label, i) =>
      constrained && options.filterAfter && !pass(label)
        ? []
        : [{ id: this.idsByLabel[label], score: 1 - res.distances[i] }],
    );
  }
}

const DIM = 32;
const N = 5000;
const r = rng(7);
const data = Array.from({ length: N }, (_, i) => [`item-${i}`, randomVector(r, DIM)] as const);
const exact = new ExactIndex(DIM);
const hnsw = new HnswIndex(DIM, N);
for (const [id, v] of data) {
  exact.upsert(id, v);
  hnsw.upsert(id, v);
}
// 5 of 5,000 items (0.1%) match, spread over the catalogue.
const rare = new Set(['item-17', 'item-1303', 'item-2500', 'item-3777', 'item-4999']);
const isRare = (id: string): boolean => rare.has(id);
const query = randomVector(rng(99), DIM);

describe('similarCandidates with a selective filter', () => {
  it.each([
    ['ExactIndex', exact],
    ['HNSW', hnsw],
  ] as const)('%s: a filter matching 0.1% of 5,000 items still fills limit 5', (_, index) => {
    const res = similarCandidates(index, [query], 5, { filter: isRare });
    expect(res.candidates.map((c) => c.id).sort()).toEqual([...rare].sort());
    expect(res.strategy).toBe('exact');
    expect(res.estimatedMatchFraction).toBeLessThan(0.02);
  });

  it('through rank: a request filter matching 5 of 5,000 items with limit 5 returns exactly those 5', () => {
    const parsed = parseRankingConfig({ rules: [{ hide: { field: 'id', eq: 'item-18' } }] });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const lookup = (id: string): Item => ({
      id,
      title: id,
      available: true,
      categories: [rare.has(id) || id === 'item-18' ? 'rare' : 'common'],
    });
    const request = { config: parsed.config, filters: { categories: { any: ['rare'] } } };
    const ok = eligibility(request);
    // The source limit (200) is far above 5: without the eligibility filter the 5 would be cut off.
    const found = similarCandidates(hnsw, [query], 200, { filter: (id) => ok(id, lookup(id)) });
    const page = rank({ ...request, candidates: { similar: found.candidates }, item: lookup, limit: 5 });
    expect(page.map((r) => r.id).sort()).toEqual([...rare].sort());
    const truth = exact.search(query, 5, { filter: isRare });
    // Negative cosines clamp to 0 (then ties go by id), so compare per id.
    const truthScore = new Map(truth.map((n) => [n.id, Math.max(0, n.score)]));
    for (const r of page) expect(r.score).toBeCloseTo(truthScore.get(r.id)!, 10);
  });

  it('plain oversampled ANN plus a post-filter would not fill it (the case the fallback exists for)', () => {
    const naive = hnsw.search(query, 50).filter((n) => isRare(n.id));
    expect(naive.length).toBeLessThan(5);
  });

  it('returns the true top-k among the matches, best first', () => {
    const res = similarCandidates(hnsw, [query], 3, { filter: isRare });
    const truth = exact.search(query, 3, { filter: isRare });
    expect(res.candidates.map((c) => c.id)).toEqual(truth.map((t) => t.id));
    expect(res.candidates[0].score).toBeCloseTo(truth[0].score, 5);
  });

  it('walks the graph unfiltered and filters after when most items match, agreeing with the exact oracle', () => {
    const even = (id: string): boolean => Number(id.slice(5)) % 2 === 0;
    const res = similarCandidates(hnsw, [query], 20, { filter: even });
    expect(res.strategy).toBe('ann-post');
    expect(res.estimatedMatchFraction).toBeGreaterThan(0.4);
    expect(res.candidates).toHaveLength(20);
    expect(res.candidates.every((c) => even(c.id))).toBe(true);
    const truth = new Set(exact.search(query, 20, { filter: even }).map((n) => n.id));
    const recall = res.candidates.filter((c) => truth.has(c.id)).length / 20;
    expect(recall).toBeGreaterThanOrEqual(0.9);
  });

  it('takes a known unfiltered neighbour list instead of the unfiltered walk, filtering it the same way', () => {
    const even = (id: string): boolean => Number(id.slice(5)) % 2 === 0;
    const known = hnsw.search(query, 200);
    const asked: number[] = [];
    const search = jest.spyOn(hnsw, 'search');
    try {
      const res = similarCandidates(hnsw, [query], 20, {
        filter: even,
        nearest: (q, k) => {
          asked.push(k);
          return q === query ? { ids: known.map((n) => n.id), scores: known.map((n) => n.score) } : undefined;
        },
      });
      expect(search).not.toHaveBeenCalled();
      expect(res.strategy).toBe('ann-post');
      // The list's own passing ids, best first: what the unfiltered walk and its post-filter would give.
      expect(res.candidates.map((c) => c.id)).toEqual(
        known
          .filter((n) => even(n.id))
          .slice(0, 20)
          .map((n) => n.id),
      );
      // Asked for the same breadth the walk would have taken; a query it does not know is walked as before.
      expect(asked[0]).toBeGreaterThanOrEqual(40);
      similarCandidates(hnsw, [randomVector(rng(5), DIM)], 20, { filter: even, nearest: () => undefined });
      expect(search).toHaveBeenCalledTimes(1);
    } finally {
      search.mockRestore();
    }
  });

  it('walks with the filter inside when it is selective but not rare (1 in 7)', () => {
    const tenth = (id: string): boolean => Number(id.slice(5)) % 7 === 3;
    const res = similarCandidates(hnsw, [query], 20, { filter: tenth });
    expect(res.strategy).toBe('ann');
    expect(res.candidates).toHaveLength(20);
    const truth = new Set(exact.search(query, 20, { filter: tenth }).map((n) => n.id));
    expect(res.candidates.filter((c) => truth.has(c.id)).length).toBeGreaterThanOrEqual(18);
  });

  it('falls back to the filtered walk when the filter drops the whole neighbourhood the wide walk saw', () => {
    // 98% of items match, but not the query's 150 nearest: k / fraction alone cannot reach past them.
    const near = new Set(exact.search(query, 150).map((n) => n.id));
    const far = (id: string): boolean => !near.has(id);
    const res = similarCandidates(hnsw, [query], 20, { filter: far });
    expect(res.strategy).toBe('ann-post+ann');
    expect(res.candidates).toHaveLength(20);
    expect(res.candidates.every((c) => far(c.id))).toBe(true);
    const truth = new Set(exact.search(query, 20, { filter: far }).map((n) => n.id));
    expect(res.candidates.filter((c) => truth.has(c.id)).length).toBeGreaterThanOrEqual(18);
    // A caller that needs 8 (and could use 12) has the filtered walk stop at 12 rather than walk on for 20.
    const enough = similarCandidates(hnsw, [query], 20, { filter: far, enough: 8, topUp: 12, oversample: 1 });
    expect(enough.strategy).toBe('ann-post+ann');
    expect(enough.candidates).toHaveLength(12);
    expect(enough.candidates.every((c) => far(c.id))).toBe(true);
    const truth8 = exact.search(query, 8, { filter: far }).map((n) => n.id);
    expect(enough.candidates.slice(0, 8).filter((c) => truth8.includes(c.id)).length).toBeGreaterThanOrEqual(
      7,
    );
    // Short of k but past `enough` after the unfiltered walk: that list is the answer, no second walk.
    const nearest10 = new Set(exact.search(query, 10).map((n) => n.id));
    const partial = similarCandidates(hnsw, [query], 20, { filter: (id) => !nearest10.has(id), enough: 8 });
    expect(partial.strategy).toBe('ann-post');
    expect(partial.candidates.length).toBeGreaterThanOrEqual(8);
    // Known exclusions (e.g. items served on earlier pages) widen the first walk instead.
    const served = new Set(exact.search(query, 40).map((n) => n.id));
    const reserved = similarCandidates(hnsw, [query], 20, { filter: (id) => !served.has(id), reserve: 40 });
    expect(reserved.strategy).toBe('ann-post');
    expect(reserved.candidates).toHaveLength(20);
  });

  it('with kept lists, reads one deeper instead of the filtered walk when the filter drops the neighbourhood', () => {
    // The 60 nearest are filtered out: the first read (25 deep) finds nothing, four times deeper finds 40.
    const near = new Set(exact.search(query, 60).map((n) => n.id));
    const far = (id: string): boolean => !near.has(id);
    const kept = (depth: number) => {
      const list = exact.search(query, depth);
      return { ids: list.map((n) => n.id), scores: list.map((n) => n.score) };
    };
    const asked: number[] = [];
    const search = jest.spyOn(hnsw, 'search');
    try {
      const res = similarCandidates(hnsw, [query], 20, {
        filter: far,
        enough: 8,
        nearest: (_, k) => (asked.push(k), kept(k)),
      });
      expect(search).not.toHaveBeenCalled();
      expect(asked).toHaveLength(2);
      expect(asked[1]).toBe(4 * asked[0]);
      expect(res.strategy).toBe('ann-post');
      expect(res.candidates.map((c) => c.id)).toEqual(
        exact.search(query, 20, { filter: far }).map((n) => n.id),
      );
      // Still short at that depth (the 1,000 nearest filtered out): the filtered walk, as without kept lists.
      const near1000 = new Set(exact.search(query, 1000).map((n) => n.id));
      const farther = (id: string): boolean => !near1000.has(id);
      const walked = similarCandidates(hnsw, [query], 20, {
        filter: farther,
        enough: 8,
        nearest: (_, k) => kept(k),
      });
      expect(search).toHaveBeenCalled();
      expect(walked.strategy).toBe('ann-post+ann');
      expect(walked.candidates.length).toBeGreaterThanOrEqual(8);
      expect(walked.candidates.every((c) => farther(c.id))).toBe(true);
    } finally {
      search.mockRestore();
    }
  });

  it('gives the same lists with the item test split off and remembered as with one combined filter', () => {
    const near = new Set(exact.search(query, 150).map((n) => n.id));
    const served = new Set(exact.search(query, 5).map((n) => n.id));
    const perRequest = (id: string): boolean => !served.has(id);
    const cases: [string, (id: string) => boolean][] = [
      ['ann-post', (id) => Number(id.slice(5)) % 2 === 0],
      ['ann-post+ann', (id) => !near.has(id)],
      ['ann', (id) => Number(id.slice(5)) % 7 === 3],
      ['exact', isRare],
    ];
    for (const [strategy, itemTest] of cases) {
      const memo = new FilterMemo(new ItemMap());
      const combined = similarCandidates(hnsw, [query], 20, {
        filter: (id) => perRequest(id) && itemTest(id),
      });
      for (let round = 0; round < 2; round++) {
        const split = similarCandidates(hnsw, [query], 20, {
          filter: perRequest,
          itemFilter: itemTest,
          memo,
        });
        expect(split.strategy).toBe(strategy);
        expect(split.candidates).toEqual(combined.candidates);
      }
    }
  });

  it('falls back to the exact scan when ANN comes back short (e.g. after deletes)', () => {
    // An index whose graph walk loses three in four results.
    const lossy: VectorIndex = Object.assign(Object.create(exact) as ExactIndex, {
      search: (q: Float32Array, k: number, o?: SearchOptions) =>
        exact.search(q, k, o).filter((_, i) => i % 4 === 0),
    });
    const res = similarCandidates(lossy, [query], 10, { filter: () => true, matchFraction: 1 });
    expect(res.strategy).toBe('ann+exact');
    expect(res.candidates.map((c) => c.id)).toEqual(exact.search(query, 10).map((n) => n.id));
  });

  it('never returns excluded ids and merges several query vectors by their best score', () => {
    const q2 = data[10][1];
    const res = similarCandidates(exact, [query, q2], 10, { excludeIds: new Set(['item-10']) });
    const ids = res.candidates.map((c) => c.id);
    expect(ids).not.toContain('item-10');
    expect(ids).toHaveLength(10);
    const best = (id: string): number =>
      Math.max(cosine(query, exact.vector(id)!), cosine(q2, exact.vector(id)!));
    for (const c of res.candidates) expect(c.score).toBeCloseTo(best(c.id), 5);
    const scores = res.candidates.map((c) => c.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('estimates the match fraction from a strided sample', () => {
    const f = estimateMatchFraction(exact, (id) => Number(id.slice(5)) < 1000, 500);
    expect(f).toBeGreaterThan(0.15);
    expect(f).toBeLessThan(0.25);
  });
});

describe('recommendVector', () => {
  const pos = normalize(Float32Array.from([1, 0.2, 0]));
  const neg = normalize(Float32Array.from([0.6, 0.8, 0]));

  it('moves toward the positives and away from the negatives', () => {
    const v = recommendVector([pos], [neg])!;
    expect(cosine(v, neg)).toBeLessThan(cosine(pos, neg));
    expect(cosine(v, pos)).toBeGreaterThan(0.5);
    let n = 0;
    for (const x of v) n += x * x;
    expect(Math.sqrt(n)).toBeCloseTo(1, 5);
  });

  it('is the normalised mean of the positives without negatives, undefined without positives', () => {
    const a = Float32Array.from([2, 0, 0]);
    const b = Float32Array.from([0, 1, 0]);
    expect(Array.from(recommendVector([a, b])!)).toEqual(Array.from(normalize(Float32Array.from([1, 1, 0]))));
    expect(recommendVector([], [neg])).toBeUndefined();
  });
});
