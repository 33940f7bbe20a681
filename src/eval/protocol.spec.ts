import type { Rating } from './movielens';
import { buildCases, byTime, hitAt, ndcgAt, summarise } from './protocol';

const r = (userId: string, itemId: string, rating: number, ts: number): Rating => ({
  userId,
  itemId,
  rating,
  ts,
});

describe('metrics', () => {
  it('NDCG@10 is 1/log2(rank+2) for a 0-based rank under 10', () => {
    expect(ndcgAt(0)).toBe(1);
    expect(ndcgAt(1)).toBeCloseTo(1 / Math.log2(3));
    expect(ndcgAt(9)).toBeCloseTo(1 / Math.log2(11));
    expect(ndcgAt(10)).toBe(0);
    expect(ndcgAt(-1)).toBe(0);
    expect(hitAt(9)).toBe(1);
    expect(hitAt(10)).toBe(0);
  });

  it('averages HR and NDCG over users and counts coverage over the catalogue', () => {
    const m = summarise(
      [
        { top: ['a', 'b'], target: 'a' },
        { top: ['b', 'c'], target: 'c' },
        { top: ['b', 'a'], target: 'z' },
      ],
      10,
    );
    expect(m.users).toBe(3);
    expect(m.hr).toBeCloseTo(2 / 3);
    expect(m.ndcg).toBeCloseTo((1 + 1 / Math.log2(3)) / 3);
    expect(m.coverage).toBeCloseTo(0.3);
  });
});

describe('buildCases', () => {
  const ratings = [
    r('1', '10', 5, 100),
    r('1', '2', 3, 100),
    r('1', '3', 4, 50),
    r('1', '4', 2, 200),
    r('1', '5', 4.5, 300),
    r('1', '6', 1, 400),
    r('2', '1', 5, 1),
    r('2', '2', 5, 2),
    r('2', '3', 5, 3),
  ];

  it('orders by time, then movie id', () => {
    expect([...ratings.slice(0, 3)].sort(byTime).map((x) => x.itemId)).toEqual(['3', '2', '10']);
  });

  it('test: the last ≥4 rating is the target and everything before it the history', () => {
    const cases = buildCases(ratings, 'test');
    expect(cases.map((c) => c.userId)).toEqual(['1']);
    expect(cases[0].target.itemId).toBe('5');
    expect(cases[0].history.map((h) => h.itemId)).toEqual(['3', '2', '10', '4']);
  });

  it('validation: the second-to-last ≥4 rating, skipping users with under 3 history items', () => {
    expect(buildCases(ratings, 'validation')).toHaveLength(0);
    const cases = buildCases(ratings, 'validation', 2);
    expect(cases.map((c) => c.userId)).toEqual(['1']);
    expect(cases[0].target.itemId).toBe('10');
    expect(cases[0].history.map((h) => h.itemId)).toEqual(['3', '2']);
    expect(buildCases(ratings, 'validation-1', 2)).toEqual(cases);
    expect(buildCases(ratings, 'validation-2', 0)[0].target.itemId).toBe('3');
  });
});
