import { differenceCi, experimentReport } from './experiment-report';

describe('experiment report', () => {
  it('computes rates per variant and a 95% CI of the difference from the control', () => {
    const rows = experimentReport([{ config: 'default', name: 'control' }, { config: 'fresh' }], {
      'default|impression': 1000,
      'default|click': 100,
      'default|purchase': 10,
      'fresh|impression': 1000,
      'fresh|click': 150,
      'fresh|add_to_cart': 40,
      'fresh|purchase': 20,
    });
    expect(rows.map((r) => [r.variant, r.ctr, r.conversion])).toEqual([
      ['control', 0.1, 0.01],
      ['fresh', 0.15, 0.02],
    ]);
    expect(rows[0].vsControl).toBeUndefined();
    const ctr = rows[1].vsControl!.ctr;
    expect(ctr.difference).toBeCloseTo(0.05, 10);
    // se = sqrt(.1·.9/1000 + .15·.85/1000) ≈ 0.01475
    expect(ctr.ci95![0]).toBeCloseTo(0.05 - 1.96 * 0.014748, 3);
    expect(ctr.ci95![1]).toBeCloseTo(0.05 + 1.96 * 0.014748, 3);
    expect(rows[1].addToCarts).toBe(40);
  });

  it('has no interval without impressions', () => {
    expect(differenceCi(0, 0, 5, 10)).toEqual({ difference: 0, ci95: null });
    expect(experimentReport([{ config: 'a' }], {})[0]).toMatchObject({ impressions: 0, ctr: null });
  });
});
