import {
  decayedScore,
  needsRebase,
  PopularityCounter,
  popularityIncrement,
  rebaseFactor,
} from './popularity';

const DAY = 86400;
const p = { halfLifeSeconds: 7 * DAY, epochSeconds: 1_000_000 };

describe('popularity', () => {
  it('an event counts half after one half-life and a quarter after two', () => {
    const stored = popularityIncrement(2, p.epochSeconds + 3 * DAY, p);
    expect(decayedScore(stored, p.epochSeconds + 3 * DAY, p)).toBeCloseTo(2);
    expect(decayedScore(stored, p.epochSeconds + 10 * DAY, p)).toBeCloseTo(1);
    expect(decayedScore(stored, p.epochSeconds + 17 * DAY, p)).toBeCloseTo(0.5);
  });

  it('increments add up without rescaling earlier ones', () => {
    const c = new PopularityCounter(p);
    c.add('a', 1, p.epochSeconds);
    c.add('a', 1, p.epochSeconds + 7 * DAY);
    expect(c.score('a', p.epochSeconds + 7 * DAY)).toBeCloseTo(1.5);
  });

  it('ranks a recent burst above an old larger count', () => {
    const c = new PopularityCounter(p);
    for (let i = 0; i < 4; i++) c.add('old', 1, p.epochSeconds);
    for (let i = 0; i < 2; i++) c.add('new', 1, p.epochSeconds + 21 * DAY);
    expect(c.top(2, p.epochSeconds + 21 * DAY).map((x) => x.id)).toEqual(['new', 'old']);
    expect(c.top(5, p.epochSeconds + 21 * DAY, (id) => id === 'new').map((x) => x.id)).toEqual(['old']);
  });

  it('rebasing the epoch keeps decayed scores unchanged and avoids overflow', () => {
    const far = p.epochSeconds + 2000 * p.halfLifeSeconds;
    expect(needsRebase(far, p)).toBe(true);
    expect(rebaseFactor(p.epochSeconds + p.halfLifeSeconds, p)).toBeCloseTo(0.5);
    const c = new PopularityCounter(p);
    c.add('a', 1, p.epochSeconds);
    c.add('b', 1, far);
    expect(c.score('b', far)).toBeCloseTo(1);
    expect(Number.isFinite(c.score('a', far))).toBe(true);
    expect(c.top(1, far)[0].id).toBe('b');
  });
});
