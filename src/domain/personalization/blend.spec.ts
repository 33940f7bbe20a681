import { blend, DEFAULT_BLEND, effectiveWeight, interestShare, type BlendParams } from './blend';

const p: BlendParams = {
  rankOffset: 0,
  sources: {
    bought_together: { weight: 1, evidenceHalf: 2, normalise: 'score' },
    user_interests: { weight: 0.5, normalise: 'rank' },
    trending: { weight: 0.1, normalise: 'rank' },
    new_arrivals: { weight: 0, normalise: 'rank', fallbackOnly: true },
  },
};

describe('blend', () => {
  it('trusts co-occurrence in proportion to its evidence', () => {
    expect(
      effectiveWeight(
        { source: 'bought_together', items: [{ id: 'a', score: 1 }], evidence: 2 },
        p.sources.bought_together,
      ),
    ).toBeCloseTo(0.5);
    expect(
      effectiveWeight({ source: 'bought_together', items: [], evidence: 100 }, p.sources.bought_together),
    ).toBe(0);
    expect(effectiveWeight({ source: 'x', items: [{ id: 'a', score: 1 }] }, undefined)).toBe(0);
  });

  it('sums normalised scores and ranks agreement first', () => {
    const out = blend(
      [
        {
          source: 'bought_together',
          items: [
            { id: 'a', score: 10 },
            { id: 'b', score: 5 },
          ],
          evidence: 1e9,
        },
        {
          source: 'user_interests',
          items: [
            { id: 'b', score: 0.9 },
            { id: 'c', score: 0.8 },
          ],
        },
      ],
      3,
      p,
    );
    expect(out.map((b) => b.id)).toEqual(['b', 'a', 'c']);
    expect(out[0].score).toBeCloseTo(0.5 + 0.5);
    expect(out[0].sources).toEqual(['bought_together', 'user_interests']);
  });

  it('falls back to trending, then new arrivals, for a user with no history', () => {
    const out = blend(
      [
        { source: 'bought_together', items: [], evidence: 0 },
        { source: 'user_interests', items: [] },
        { source: 'trending', items: [{ id: 't1', score: 3 }] },
        {
          source: 'new_arrivals',
          items: [
            { id: 'n1', score: 1 },
            { id: 't1', score: 1 },
          ],
        },
      ],
      3,
      p,
    );
    expect(out.map((b) => b.id)).toEqual(['t1', 'n1']);
  });
});

describe('DEFAULT_BLEND', () => {
  const lists = (evidence: number) => [
    { source: 'bought_together', items: [{ id: 'co', score: 3 }], evidence },
    { source: 'user_interests', items: [{ id: 'ui', score: 0.9 }] },
    {
      source: 'trending',
      items: [
        { id: 'ui', score: 100 },
        { id: 'tr', score: 50 },
      ],
    },
  ];

  it('lets well-supported co-occurrence lead', () => {
    expect(blend(lists(1000), 3, DEFAULT_BLEND)[0].id).toBe('co');
  });

  it('lets content and trending lead when co-occurrence is thin', () => {
    expect(blend(lists(2), 3, DEFAULT_BLEND).map((b) => b.id)).toEqual(['ui', 'tr', 'co']);
  });
});

describe('interestShare', () => {
  it('keeps interests whole without co-occurrence and shrinks them toward the floor as evidence grows', () => {
    expect(interestShare(0)).toBe(1);
    expect(interestShare(50, 50, 0.1)).toBeCloseTo(0.55, 10);
    expect(interestShare(1e9, 50, 0.1)).toBeCloseTo(0.1, 6);
    expect(interestShare(-3)).toBe(1);
  });
});
