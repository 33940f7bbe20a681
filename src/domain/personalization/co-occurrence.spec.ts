import {
  activityFactor,
  CoOccurrenceStore,
  pairUpdates,
  replayInteractions,
  scoreCoOccurrence,
  seedsOf,
  type CoOccurrenceWindow,
  type Interaction,
} from './co-occurrence';

const at = (itemId: string, ts: number, weight = 1): Interaction => ({ itemId, ts, weight });
const win: CoOccurrenceWindow = { maxSteps: 2, distanceDecay: 0.5, backwardWeight: 0.25 };

describe('pairUpdates', () => {
  it('pairs only with the last maxSteps interactions, weighted by distance', () => {
    const prev = [at('a', 0), at('b', 10), at('c', 20)];
    const ups = pairUpdates(prev, at('d', 30), win);
    expect(ups).toEqual([
      { from: 'c', to: 'd', weight: 1 },
      { from: 'd', to: 'c', weight: 0.25 },
      { from: 'b', to: 'd', weight: 0.5 },
      { from: 'd', to: 'b', weight: 0.125 },
    ]);
  });

  it('respects the time window', () => {
    const ups = pairUpdates([at('a', 0), at('b', 100)], at('c', 150), { ...win, maxSeconds: 60 });
    expect(ups.map((u) => u.from)).toEqual(['b', 'c']);
    expect(ups.some((u) => u.from === 'a' || u.to === 'a')).toBe(false);
  });

  it('halves a pair per gap half-life between the two events', () => {
    const ups = pairUpdates([at('a', 0), at('b', 60)], at('c', 120), {
      ...win,
      backwardWeight: 0,
      distanceDecay: 1,
      gapHalfLifeSeconds: 60,
    });
    expect(ups).toEqual([
      { from: 'b', to: 'c', weight: 0.5 },
      { from: 'a', to: 'c', weight: 0.25 },
    ]);
  });

  it('skips repeats of the same item and scales by event weights', () => {
    const ups = pairUpdates([at('a', 0, 4), at('b', 1)], at('b', 2, 1), { ...win, backwardWeight: 0 });
    expect(ups).toEqual([{ from: 'a', to: 'b', weight: 0.5 * Math.sqrt(4) }]);
  });
});

describe('inverse user activity (research option)', () => {
  const plain: CoOccurrenceWindow = { maxSteps: 1, distanceDecay: 1, backwardWeight: 0 };

  it('is off without userActivity and divides by log2(2+n)^p or (1+n)^p', () => {
    expect(activityFactor(50)).toBe(1);
    expect(activityFactor(6, { form: 'log', power: 1 })).toBeCloseTo(3);
    expect(activityFactor(3, { form: 'power', power: 0.5 })).toBeCloseTo(2);
  });

  it('makes a pair from a long history count less than the same pair from a short one', () => {
    const log1: CoOccurrenceWindow = { ...plain, userActivity: { form: 'log', power: 1 } };
    const short = pairUpdates([at('a', 0)], at('b', 1), log1);
    const long = pairUpdates([at('a', 0)], at('b', 1), log1, 254);
    expect(short[0].weight).toBeCloseTo(1 / Math.log2(3));
    expect(long[0].weight).toBeCloseTo(1 / 8);
    const s = new CoOccurrenceStore();
    // The activity count stops at the history length the worker keeps.
    replayInteractions(s, [at('x', 0), at('y', 1), at('z', 2)], log1, 1);
    expect(s.total('x')).toBeCloseTo(1 / Math.log2(3));
    expect(s.total('y')).toBeCloseTo(1 / Math.log2(3));
  });
});

describe('CoOccurrenceStore', () => {
  it('keeps totals but trims lists to the cap', () => {
    const s = new CoOccurrenceStore(2, 2);
    s.add('x', 'a', 5);
    s.add('x', 'b', 3);
    s.add('x', 'c', 1);
    s.add('x', 'd', 0.5);
    expect([...s.neighbours('x')].map((e) => e[0])).toEqual(['a', 'b']);
    s.add('x', 'e', 4);
    s.compact();
    expect([...s.neighbours('x')]).toEqual([
      ['a', 5],
      ['e', 4],
    ]);
    expect(s.total('x')).toBeCloseTo(13.5);
  });
});

describe('scoreCoOccurrence', () => {
  const store = new CoOccurrenceStore();
  replayInteractions(store, [at('a', 0), at('b', 1), at('c', 2)], {
    maxSteps: 1,
    distanceDecay: 1,
    backwardWeight: 1,
  });
  replayInteractions(store, [at('d', 0), at('e', 1)], { maxSteps: 1, distanceDecay: 1, backwardWeight: 1 });

  it('favours neighbours of the most recent items and excludes seen ones', () => {
    const seen = new Set(['d', 'c']);
    const r = scoreCoOccurrence(
      [at('d', 0), at('c', 1)],
      store,
      { lastN: 5, recencyDecay: 0.5, seedNormalisation: 0, popularityDamping: 0 },
      (id) => seen.has(id),
    );
    expect(r.items.map((i) => i.id)).toEqual(['b', 'e']);
    expect(r.items[0].score).toBeCloseTo(1);
    expect(r.items[1].score).toBeCloseTo(0.5);
    expect(r.evidence).toBeCloseTo(1.5);
  });

  it('uses only the last N distinct items as seeds', () => {
    const r = scoreCoOccurrence([at('d', 0), at('c', 1), at('c', 2)], store, {
      lastN: 1,
      recencyDecay: 0.5,
      seedNormalisation: 0,
      popularityDamping: 0,
    });
    expect(r.items.map((i) => i.id)).toEqual(['b']);
  });

  it('returns nothing for unknown items', () => {
    expect(scoreCoOccurrence([at('zz', 0)], store).items).toEqual([]);
  });

  const plain = { lastN: 5, recencyDecay: 1, seedNormalisation: 0, popularityDamping: 0 };

  it('ranks an item several seeds agree on above one seed’s stronger neighbour (agreementPower)', () => {
    const s = new CoOccurrenceStore();
    s.add('x', 'solo', 2.5);
    s.add('x', 'shared', 1);
    s.add('y', 'shared', 1);
    s.add('z', 'shared', 0.1);
    const recent = [at('z', 0), at('y', 1), at('x', 2)];
    // Sums alone: solo 2.5 beats shared 1 + 1 + 0.1 = 2.1; with agreement, shared has three seeds behind it.
    const off = scoreCoOccurrence(recent, s, plain).items;
    expect(off.map((i) => i.id)).toEqual(['solo', 'shared']);
    const on = scoreCoOccurrence(recent, s, { ...plain, agreementPower: 0.5 }).items;
    expect(on.map((i) => i.id)).toEqual(['shared', 'solo']);
    expect(on[0].score).toBeCloseTo(off[1].score * Math.sqrt(3));
    expect(on[1].score).toBeCloseTo(2.5);
  });

  it('lets seeds from an earlier visit count less (seedHalfLifeSeconds) and never seeds a disliked item', () => {
    const seeds = seedsOf([at('old', 0), at('recent', 86400 - 60), at('now', 86400)], {
      ...plain,
      recencyDecay: 0.5,
      seedHalfLifeSeconds: 86400,
    });
    expect(seeds.map((x) => x.id)).toEqual(['now', 'recent', 'old']);
    expect(seeds[0].r).toBeCloseTo(1);
    expect(seeds[1].r).toBeCloseTo(0.5 * Math.pow(2, -60 / 86400));
    expect(seeds[2].r).toBeCloseTo(0.25 * 0.5);
    // The latest event decides: liked then disliked is not a seed; it does not take a seed slot either.
    const disliked = seedsOf([at('a', 0), at('b', 1), at('b', 2, -5)], { ...plain, lastN: 1 });
    expect(disliked.map((x) => x.id)).toEqual(['a']);
  });

  it('can weigh a seed by its event weight (research option)', () => {
    const seeds = seedsOf([at('viewed', 0, 1), at('bought', 1, 4)], {
      ...plain,
      recencyDecay: 1,
      seedWeightPower: 0.5,
    });
    expect(seeds).toEqual([
      { id: 'bought', r: 2 },
      { id: 'viewed', r: 1 },
    ]);
  });
});

describe('capped store (Redis sorted sets of top-M neighbours)', () => {
  // Deterministic pseudo-random sessions over 300 items, popular items first.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const sessions = Array.from({ length: 400 }, (_, u) =>
    Array.from({ length: 12 }, (_, i) => at(String(Math.floor(300 * rnd() ** 2)), u * 1000 + i)),
  );
  const w: CoOccurrenceWindow = { maxSteps: 5, distanceDecay: 1, backwardWeight: 1 };
  const full = new CoOccurrenceStore();
  const capped = new CoOccurrenceStore(100, 2);
  for (const s of sessions) {
    replayInteractions(full, s, w);
    replayInteractions(capped, s, w);
  }
  capped.compact();

  it('keeps each list at most M long and totals exact', () => {
    expect([...capped.neighbours('0')].length).toBeLessThanOrEqual(100);
    expect(capped.total('0')).toBeCloseTo(full.total('0'));
  });

  it('gives the same top 10 for the heaviest seeds', () => {
    const scoring = { lastN: 5, recencyDecay: 0.5, seedNormalisation: 0.5, popularityDamping: 0 };
    const recent = [at('0', 0), at('1', 1), at('2', 2)];
    const a = scoreCoOccurrence(recent, full, scoring, undefined, 10).items.map((i) => i.id);
    const b = scoreCoOccurrence(recent, capped, scoring, undefined, 10).items.map((i) => i.id);
    expect(b).toEqual(a);
  });
});
