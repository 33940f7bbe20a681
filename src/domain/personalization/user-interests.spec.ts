import { ExactIndex } from '../exact-index';
import { normalize } from '../vector-math';
import {
  allocateSlots,
  applyDislikes,
  clusterInterests,
  decayedWeight,
  interestCandidates,
  interestInputs,
  userInterestCandidates,
  kMedoids,
  cosineDistances,
  type PositiveItem,
} from './user-interests';

const v = (...xs: number[]) => normalize(Float32Array.from(xs));
// Deterministic small jitter around a direction.
const around = (base: number[], i: number) => v(...base.map((x, j) => x + 0.05 * Math.sin(i * 7 + j * 3)));

function blob(prefix: string, base: number[], n: number, weight = 1): PositiveItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, vector: around(base, i), weight }));
}

describe('clusterInterests', () => {
  it('finds two interests for two clear clusters, with medoids that are input items', () => {
    const items = [...blob('a', [1, 0, 0, 0], 6, 2), ...blob('b', [0, 0, 1, 0], 4, 1)];
    const interests = clusterInterests(items);
    expect(interests).toHaveLength(2);
    expect(interests[0].medoidId.startsWith('a')).toBe(true);
    expect(interests[1].medoidId.startsWith('b')).toBe(true);
    expect(interests[0].weight).toBeCloseTo(12);
    expect(interests[1].weight).toBeCloseTo(4);
    for (const i of interests) expect(items.map((x) => x.id)).toContain(i.medoidId);
    expect(interests[0].memberIds.every((id) => id.startsWith('a'))).toBe(true);
  });

  it('keeps one interest for a single blob', () => {
    const interests = clusterInterests(blob('a', [1, 1, 0, 0], 8));
    expect(interests).toHaveLength(1);
    expect(interests[0].memberIds).toHaveLength(8);
  });

  it('never exceeds maxK and handles tiny inputs', () => {
    const dirs = [
      [1, 0, 0, 0, 0, 0],
      [0, 1, 0, 0, 0, 0],
      [0, 0, 1, 0, 0, 0],
      [0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 1, 0],
      [0, 0, 0, 0, 0, 1],
    ];
    const items = dirs.flatMap((d, i) => blob(`c${i}-`, d, 3));
    expect(
      clusterInterests(items, { maxK: 3, minSilhouette: 0, minMedoidDistance: 0.2 }).length,
    ).toBeLessThanOrEqual(3);
    expect(
      clusterInterests(items, { maxK: 5, minSilhouette: 0, minMedoidDistance: 0.2 }).length,
    ).toBeLessThanOrEqual(5);
    expect(clusterInterests([])).toEqual([]);
    expect(clusterInterests(blob('x', [1, 0], 1))).toHaveLength(1);
  });

  it('picks the weighted medoid', () => {
    const d = cosineDistances([v(1, 0), v(1, 0.1), v(1, 0.2)]);
    expect(kMedoids(d, [1, 1, 1], 1).medoids).toEqual([1]);
    expect(kMedoids(d, [10, 1, 1], 1).medoids).toEqual([0]);
  });
});

describe('allocateSlots', () => {
  it('is proportional with largest remainders and sums to the total', () => {
    expect(allocateSlots([3, 1], 8)).toEqual([6, 2]);
    expect(allocateSlots([1, 1, 1], 10)).toEqual([4, 3, 3]);
    expect(allocateSlots([0.5, 0.3, 0.2], 10)).toEqual([5, 3, 2]);
    expect(allocateSlots([0, 0], 3).reduce((a, b) => a + b)).toBe(3);
    expect(allocateSlots([], 3)).toEqual([]);
  });
});

describe('decayedWeight', () => {
  it('halves at the half-life', () => {
    expect(decayedWeight(4, 10, 10)).toBeCloseTo(2);
  });
});

describe('dislikes and candidates', () => {
  const index = new ExactIndex(3);
  index.upsert('seed', v(1, 0, 0));
  index.upsert('near', v(1, 0.05, 0));
  index.upsert('bad-twin', v(1, 0.1, 0.3));
  index.upsert('ok', v(1, 0.4, 0));
  index.upsert('other', v(0, 0, 1));
  index.upsert('other2', v(0, 0.1, 1));
  const disliked = [v(1, 0.1, 0.32)];

  it('drops a candidate too close to a disliked item', () => {
    const hits = index.search(v(1, 0, 0), 4);
    const kept = applyDislikes(hits, (id) => index.vector(id), disliked, {
      threshold: 0.99,
      mode: 'drop',
      penalty: 0,
    });
    expect(kept.map((h) => h.id)).not.toContain('bad-twin');
    expect(kept.map((h) => h.id)).toContain('near');
  });

  it('penalises instead of dropping when asked', () => {
    const hits = index.search(v(1, 0, 0), 4);
    const kept = applyDislikes(hits, (id) => index.vector(id), disliked, {
      threshold: 0.99,
      mode: 'penalise',
      penalty: 10,
    });
    expect(kept[kept.length - 1].id).toBe('bad-twin');
  });

  it('gives each interest slots by weight and never returns excluded items', () => {
    const out = interestCandidates(
      index,
      [
        { medoidId: 'seed', memberIds: ['seed'], weight: 3 },
        { medoidId: 'other', memberIds: ['other'], weight: 1 },
      ],
      4,
      { exclude: (id) => id === 'seed' || id === 'other', oversample: 2 },
    );
    expect(out.filter((c) => c.interest === 0)).toHaveLength(3);
    expect(out.filter((c) => c.interest === 1).map((c) => c.id)).toEqual(['other2']);
    expect(out.map((c) => c.id)).not.toContain('seed');
    expect(out[0].interest).toBe(0);
  });
});

describe('interestInputs / userInterestCandidates', () => {
  const index = new ExactIndex(3);
  index.upsert('a', v(1, 0, 0));
  index.upsert('a2', v(1, 0.1, 0));
  index.upsert('b', v(0, 1, 0));
  index.upsert('b2', v(0.1, 1, 0));
  index.upsert('c', v(0, 0, 1));

  it('sums and decays positive weights, collects dislikes, ignores neutral events', () => {
    const { positives, disliked } = interestInputs(
      [
        { itemId: 'a', ts: 0, weight: 1, polarity: 'positive' },
        { itemId: 'a', ts: 10, weight: 1, polarity: 'positive' },
        { itemId: 'b', ts: 10, weight: 1, polarity: 'neutral' },
        { itemId: 'c', ts: 10, weight: 1, polarity: 'negative' },
      ],
      (id) => index.vector(id),
      10,
      50,
      10,
    );
    expect(positives.map((p) => p.id)).toEqual(['a']);
    expect(positives[0].weight).toBeCloseTo(1.5);
    expect(disliked).toHaveLength(1);
  });

  it('returns nothing for a user without positives (the blend then falls back)', () => {
    expect(userInterestCandidates(index, [], 0, 5)).toEqual([]);
  });

  it('recommends around each liked item but not the items themselves', () => {
    const seen = new Set(['a', 'b']);
    const out = userInterestCandidates(
      index,
      [
        { itemId: 'a', ts: 0, weight: 1, polarity: 'positive' },
        { itemId: 'b', ts: 0, weight: 1, polarity: 'positive' },
      ],
      0,
      2,
      { exclude: (id) => seen.has(id) },
    );
    expect(out.map((c) => c.id).sort()).toEqual(['a2', 'b2']);
  });
});

/** Textbook PAM (BUILD, then best-improvement SWAP), every candidate's cost summed from scratch: the oracle. */
function referencePam(dist: number[][], weights: number[], k: number, maxSwaps = 50): number[] {
  const n = dist.length;
  const cost = (meds: number[]) => {
    let c = 0;
    for (let i = 0; i < n; i++) c += weights[i] * Math.min(...meds.map((m) => dist[i][m]));
    return c;
  };
  const meds: number[] = [];
  while (meds.length < k) {
    let best = -1;
    let bestCost = Infinity;
    for (let c = 0; c < n; c++) {
      if (meds.includes(c)) continue;
      const x = cost([...meds, c]);
      if (x < bestCost - 1e-12) [bestCost, best] = [x, c];
    }
    meds.push(best);
  }
  for (let it = 0; it < maxSwaps; it++) {
    const now = cost(meds);
    let best: { m: number; c: number; x: number } | undefined;
    for (let m = 0; m < k; m++)
      for (let c = 0; c < n; c++) {
        if (meds.includes(c)) continue;
        const trial = meds.slice();
        trial[m] = c;
        const x = cost(trial);
        if (x < (best?.x ?? now) - 1e-9) best = { m, c, x };
      }
    if (!best) break;
    meds[best.m] = best.c;
  }
  return meds;
}

describe('kMedoids', () => {
  it('picks the same medoids as textbook PAM, ties and repeated points included', () => {
    let seed = 5;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (let trial = 0; trial < 12; trial++) {
      const n = 12 + trial * 3;
      const points = Array.from({ length: n }, () => normalize(Float32Array.from({ length: 8 }, rnd)));
      // A few exact repeats, so distances tie.
      for (let i = 0; i < trial % 4; i++) points[n - 1 - i] = points[i];
      const dist = cosineDistances(points);
      const weights = points.map((_, i) => (trial % 2 ? 1 : 0.5 + ((i * 37) % 10) / 10));
      for (let k = 1; k <= 5; k++) {
        const got = kMedoids(dist, weights, k);
        expect(got.medoids).toEqual(referencePam(dist, weights, k));
        for (let i = 0; i < n; i++) {
          expect(dist[i][got.medoids[got.assign[i]]]).toBe(Math.min(...got.medoids.map((m) => dist[i][m])));
        }
      }
    }
  });
});
