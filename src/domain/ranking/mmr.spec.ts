import { meanPairwiseSimilarity, selectDiverse, type DiversityCandidate } from './mmr';

const v = (...xs: number[]): Float32Array => Float32Array.from(xs);
const vectors = new Map<string, Float32Array>([
  ['a', v(1, 0, 0)],
  ['a2', v(0.99, 0.1, 0)],
  ['a3', v(0.98, 0.15, 0)],
  ['b', v(0, 1, 0)],
  ['c', v(0, 0, 1)],
]);
const list: DiversityCandidate[] = [
  { id: 'a', score: 1 },
  { id: 'a2', score: 0.95 },
  { id: 'a3', score: 0.9 },
  { id: 'b', score: 0.6 },
  { id: 'c', score: 0.5 },
];
const ids = (xs: DiversityCandidate[]): string[] => xs.map((x) => x.id);

describe('selectDiverse', () => {
  it('is the plain top-k at λ = 1', () => {
    expect(ids(selectDiverse(list, 3, { lambda: 1, vector: (id) => vectors.get(id) }))).toEqual([
      'a',
      'a2',
      'a3',
    ]);
  });

  it('trades relevance for novelty as λ falls', () => {
    const picked = selectDiverse(list, 3, { lambda: 0.5, vector: (id) => vectors.get(id) });
    expect(ids(picked)).toEqual(['a', 'b', 'c']);
    const sim = (xs: DiversityCandidate[]): number =>
      meanPairwiseSimilarity(xs.map((x) => vectors.get(x.id)!));
    expect(sim(picked)).toBeLessThan(sim(list.slice(0, 3)));
  });

  it("takes item-to-item similarity by id (the index's copies) and picks as the vectors would", () => {
    const calls: string[] = [];
    const similarity = (a: string, b: string): number | undefined => {
      calls.push(`${a}:${b}`);
      return meanPairwiseSimilarity([vectors.get(a)!, vectors.get(b)!]);
    };
    const byId = selectDiverse(list, 3, { lambda: 0.5, similarity, vector: () => v(1, 0, 0) });
    expect(ids(byId)).toEqual(ids(selectDiverse(list, 3, { lambda: 0.5, vector: (id) => vectors.get(id) })));
    expect(calls.length).toBeGreaterThan(0);
    // Unknown to the index: unrelated, as with a missing vector.
    expect(ids(selectDiverse(list, 2, { lambda: 0.5, similarity: () => undefined }))).toEqual(['a', 'a2']);
  });

  it('treats items without a vector as unrelated', () => {
    const picked = selectDiverse(list, 2, {
      lambda: 0.5,
      vector: (id) => (id === 'a2' ? undefined : vectors.get(id)),
    });
    expect(ids(picked)).toEqual(['a', 'a2']);
  });

  it('caps each category, counting an item in every category it has', () => {
    const cats: DiversityCandidate[] = [
      { id: '1', score: 9, categories: ['x', 'y'] },
      { id: '2', score: 8, categories: ['x'] },
      { id: '3', score: 7, categories: ['y'] },
      { id: '4', score: 6, categories: ['z'] },
      { id: '5', score: 5 },
    ];
    expect(ids(selectDiverse(cats, 3, { lambda: 1, maxPerCategory: 1 }))).toEqual(['1', '4', '5']);
    expect(ids(selectDiverse(cats, 3, { lambda: 0.7, maxPerCategory: 1, vector: () => v(1, 0) }))).toEqual([
      '1',
      '4',
      '5',
    ]);
    // Once only capped candidates are left, the best of them fill the page instead of leaving it short.
    expect(ids(selectDiverse(cats, 5, { lambda: 1, maxPerCategory: 1 }))).toEqual(['1', '4', '5', '2', '3']);
    expect(ids(selectDiverse(cats, 4, { lambda: 0.7, maxPerCategory: 1, vector: () => v(1, 0) }))).toEqual([
      '1',
      '4',
      '5',
      '2',
    ]);
  });

  it('keeps filling past a window of capped items', () => {
    const many: DiversityCandidate[] = Array.from({ length: 40 }, (_, i) => ({
      id: String(i).padStart(2, '0'),
      score: 100 - i,
      categories: [i < 35 ? 'same' : `other-${i}`],
    }));
    const out = selectDiverse(many, 4, { lambda: 0.9, maxPerCategory: 1, window: 5, vector: () => v(1, 0) });
    expect(ids(out)).toEqual(['00', '35', '36', '37']);
  });
});

describe('selectDiverse (lazy greedy) picks what the eager MMR loop picks', () => {
  /** The textbook loop: every round, every candidate's max similarity to all chosen items, best value wins. */
  function eager(
    sorted: DiversityCandidate[],
    limit: number,
    lambda: number,
    sim: (a: string, b: string) => number,
    cap?: number,
  ): string[] {
    const maxScore = sorted.reduce((m, c) => Math.max(m, c.score), 0) || 1;
    const counts = new Map<string, number>();
    const capped = (c: DiversityCandidate) =>
      cap !== undefined && (c.categories ?? []).some((k) => (counts.get(k) ?? 0) >= cap);
    const out: DiversityCandidate[] = [];
    const window = Math.max(30, 5 * limit);
    let rest = [...sorted];
    while (out.length < limit) {
      rest = rest.filter((c) => !capped(c));
      const pool = rest.slice(0, window);
      if (pool.length === 0) break;
      let best = 0;
      let bestValue = -Infinity;
      pool.forEach((c, i) => {
        const maxSim = out.reduce((m, o) => Math.max(m, sim(c.id, o.id)), 0);
        const v = (lambda * c.score) / maxScore - (1 - lambda) * maxSim;
        if (v > bestValue) {
          bestValue = v;
          best = i;
        }
      });
      const [picked] = rest.splice(best, 1);
      out.push(picked);
      for (const k of new Set(picked.categories ?? [])) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    // Backfill: the best capped candidates fill what the cap left empty.
    for (const c of sorted) if (out.length < limit && !out.includes(c)) out.push(c);
    return out.map((c) => c.id);
  }

  it.each([0, 0.3, 0.7, 0.95])('λ = %s, with and without a category cap, 25 random lists', (lambda) => {
    let seed = 17;
    const rand = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let trial = 0; trial < 25; trial++) {
      const n = 20 + Math.floor(rand() * 120);
      const vecs = new Map<string, Float32Array>();
      const list: DiversityCandidate[] = Array.from({ length: n }, (_, i) => {
        const id = `c${i}`;
        vecs.set(
          id,
          Float32Array.from({ length: 8 }, () => rand() - 0.3),
        );
        return { id, score: Math.round(rand() * 20) / 20, categories: [`k${Math.floor(rand() * 5)}`] };
      });
      list.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
      const sim = (a: string, b: string): number => meanPairwiseSimilarity([vecs.get(a)!, vecs.get(b)!]);
      for (const cap of [undefined, 2]) {
        const limit = 5 + (trial % 10);
        const got = ids(selectDiverse(list, limit, { lambda, similarity: sim, maxPerCategory: cap }));
        expect(got).toEqual(eager(list, limit, lambda, sim, cap));
      }
    }
  });
});
