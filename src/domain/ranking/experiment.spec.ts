import { assignVariant, parseExperiment, stableHash } from './experiment';

const variants = [
  { config: 'homepage', weight: 70 },
  { config: 'homepage-mmr', weight: 20 },
  { config: 'homepage-fresh', weight: 10 },
];

describe('assignVariant', () => {
  it('gives a unit the same variant every time', () => {
    for (let u = 0; u < 200; u++) {
      const first = assignVariant(variants, `user-${u}`, 'hp-test').index;
      expect(assignVariant(variants, `user-${u}`, 'hp-test').index).toBe(first);
    }
    expect(stableHash('hp-test:user-1')).toBe(stableHash('hp-test:user-1'));
  });

  it('splits units roughly in proportion to the weights', () => {
    const counts = [0, 0, 0];
    const n = 20_000;
    for (let u = 0; u < n; u++) counts[assignVariant(variants, `user-${u}`, 'hp-test').index]++;
    expect(counts[0] / n).toBeCloseTo(0.7, 1);
    expect(counts[1] / n).toBeCloseTo(0.2, 1);
    expect(counts[2] / n).toBeCloseTo(0.1, 1);
    expect(Math.abs(counts[2] / n - 0.1)).toBeLessThan(0.015);
  });

  it('never picks a zero-weight variant and assigns independently per experiment', () => {
    const withOff = [{ config: 'a', weight: 0 }, ...variants];
    let same = 0;
    for (let u = 0; u < 2000; u++) {
      expect(assignVariant(withOff, `s-${u}`, 'e1').index).not.toBe(0);
      const a = assignVariant([{ weight: 1 }, { weight: 1 }], `s-${u}`, 'e1').index;
      const b = assignVariant([{ weight: 1 }, { weight: 1 }], `s-${u}`, 'e2').index;
      if (a === b) same++;
    }
    // Independent 50/50 splits agree about half the time, not always.
    expect(same / 2000).toBeGreaterThan(0.4);
    expect(same / 2000).toBeLessThan(0.6);
  });

  it('refuses an experiment with no positive weight', () => {
    expect(() => assignVariant([{ weight: 0 }], 'u', 'e')).toThrow(/positive weight/);
  });
});

describe('parseExperiment', () => {
  it('accepts variants and lists every error', () => {
    expect(parseExperiment({ variants }).ok).toBe(true);
    const bad = parseExperiment({ variants: [{ config: 'Bad Name', weight: -1 }, { weight: 1 }] });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.path)).toEqual([
      'variants.0.config',
      'variants.0.weight',
      'variants.1.config',
    ]);
  });
});
