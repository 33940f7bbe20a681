import { compareRankings, kendallTauAtK, overlapAtK } from './compare';

describe('overlapAtK', () => {
  it('counts shared ids in both top-k lists', () => {
    expect(overlapAtK(['a', 'b', 'c', 'd'], ['d', 'c', 'x', 'y'], 4)).toBe(0.5);
    expect(overlapAtK(['a', 'b', 'c', 'd'], ['d', 'c', 'x', 'y'], 2)).toBe(0);
    expect(overlapAtK(['a', 'b'], ['a', 'b', 'c'], 3)).toBeCloseTo(2 / 3, 10);
    expect(overlapAtK([], [], 5)).toBe(1);
  });
});

describe('kendallTauAtK', () => {
  it('is 1 for the same order, −1 for the reverse', () => {
    expect(kendallTauAtK(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], 4)).toBeCloseTo(1, 10);
    expect(kendallTauAtK(['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a'], 4)).toBeCloseTo(-1, 10);
  });

  it('drops as lists disagree, counting missing ids at rank k+1', () => {
    const one = kendallTauAtK(['a', 'b', 'c', 'd'], ['b', 'a', 'c', 'd'], 4);
    const swapMore = kendallTauAtK(['a', 'b', 'c', 'd'], ['b', 'a', 'd', 'c'], 4);
    expect(one).toBeCloseTo(4 / 6, 10);
    expect(swapMore).toBeLessThan(one);
    const disjoint = kendallTauAtK(['a', 'b'], ['c', 'd'], 2);
    expect(disjoint).toBeLessThan(0);
    // Sharing the top item beats sharing nothing.
    expect(kendallTauAtK(['a', 'b'], ['a', 'c'], 2)).toBeGreaterThan(disjoint);
  });
});

describe('compareRankings', () => {
  it('lays lists side by side with their differences', () => {
    const c = compareRankings(['a', 'b', 'c'], ['b', 'x'], 3);
    expect(c.rows).toEqual([
      { position: 1, a: 'a', b: 'b' },
      { position: 2, a: 'b', b: 'x' },
      { position: 3, a: 'c' },
    ]);
    expect(c.onlyInA).toEqual(['a', 'c']);
    expect(c.onlyInB).toEqual(['x']);
    expect(c.overlapAtK).toBeCloseTo(1 / 3, 10);
  });
});
