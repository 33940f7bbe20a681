// Coordinate search of the blend and co-occurrence settings on the VALIDATION split only (never the test targets).
import { DEFAULT_BLEND, type BlendParams } from '../domain/personalization/blend';
import type { CoOccurrenceScoring } from '../domain/personalization/co-occurrence';
import { BASE_CONFIG, Harness, type Method, type ResearchConfig } from './harness';
import { loadMovieLens, movieVectors } from './movielens';
import type { Split } from './protocol';
import { ISSUE_BASELINE, SHIPPED } from './shipped-config';

// Round 1 tuned from BASE_CONFIG; round 2 (multi-fold) from the shipped settings.
const base = process.env.TUNE_BASE === 'research' ? BASE_CONFIG : SHIPPED;

type Variant = [string, (c: ResearchConfig) => ResearchConfig];

/** Co-occurrence scoring before the seed change (five seeds by position only, no agreement factor). */
const BEFORE: CoOccurrenceScoring = {
  lastN: 5,
  recencyDecay: 0.5,
  seedHalfLifeSeconds: undefined,
  seedNormalisation: 0.5,
  popularityDamping: 0,
  agreementPower: 0,
};

async function main(): Promise<void> {
  const ml = loadMovieLens();
  const vectors = await movieVectors(ml.items);
  const data = { itemIds: ml.items.map((i) => i.id), vectors, ratings: ml.ratings };
  const group = process.argv[2] ?? 'cooc';
  const method = (process.argv[3] ?? 'co_occurrence') as Method;
  const folds = (process.argv[4] ?? 'validation').split(',') as Split[];
  // Tuning never sees the test targets.
  if (folds.includes('test')) throw new Error('tune on validation folds only');
  const harnesses = folds.map((f) => new Harness(data, f));
  for (const [name, f] of VARIANTS[group]) {
    const ms = harnesses.map((h) => h.evaluate(method, f(base)));
    const mean = (k: 'hr' | 'ndcg' | 'coverage') => ms.reduce((a, m) => a + m[k], 0) / ms.length;
    const per = ms.map((m) => m.ndcg.toFixed(4)).join(' ');
    console.log(
      `${name.padEnd(40)} hr ${mean('hr').toFixed(4)} ndcg ${mean('ndcg').toFixed(4)} cov ${mean('coverage').toFixed(4)}  [${per}]`,
    );
  }
}

const win = (w: Partial<ResearchConfig['window']>) => (c: ResearchConfig) => ({
  ...c,
  window: { ...c.window, ...w },
});
const sc = (s: Partial<ResearchConfig['scoring']>) => (c: ResearchConfig) => ({
  ...c,
  scoring: { ...c.scoring, ...s },
});

const both =
  (w: Partial<ResearchConfig['window']>, s: Partial<ResearchConfig['scoring']>) => (c: ResearchConfig) =>
    sc(s)(win(w)(c));
// One interest-clustering setting as a variant.
const withCluster =
  (maxK: number, minSilhouette: number, minMedoidDistance: number) => (c: ResearchConfig) => ({
    ...c,
    interests: { ...c.interests, cluster: { maxK, minSilhouette, minMedoidDistance } },
  });
const ew = (f: (r: number) => number) => (c: ResearchConfig) => ({ ...c, eventWeight: f });

type Src = BlendParams['sources'];
const bl =
  (sources: Src, rankOffset = 10) =>
  (c: ResearchConfig) => ({ ...c, blend: { rankOffset, sources } });
const bt = (weight: number, evidenceHalf?: number, normalise: 'rank' | 'score' = 'score') => ({
  bought_together: { weight, evidenceHalf, normalise },
});
const ui = (weight: number, normalise: 'rank' | 'score' = 'rank') => ({
  user_interests: { weight, normalise },
});
const tr = (weight: number, normalise: 'rank' | 'score' = 'rank') => ({ trending: { weight, normalise } });

/** A blend with co-occurrence learned from only `share` of the users. */
const atShare = (share: number, sources: Src) => (c: ResearchConfig) => ({
  ...bl(sources)(c),
  coocUserShare: share,
});
/** 0.3 → ".3", as the variant names have it. */
const dotted = (x: number): string => String(x).replace(/^0\./, '.');

/** Inverse user activity on pair updates: 1/log2(2+n)^p or 1/(1+n)^p, n = the user's interactions so far. */
const act =
  (form: 'log' | 'power', power: number, whole = false) =>
  (c: ResearchConfig) => ({
    ...win({ userActivity: { form, power } })(c),
    activityWholeHistory: whole,
  });

const VARIANTS: Record<string, Variant[]> = {
  // Inverse user activity weighting of pair updates (item-kNN's inverse user frequency).
  activity: [
    ['shipped (no activity weighting)', (c) => c],
    ['log p.5', act('log', 0.5)],
    ['log p1', act('log', 1)],
    ['log p2', act('log', 2)],
    ['power .25', act('power', 0.25)],
    ['power .5', act('power', 0.5)],
    ['power 1', act('power', 1)],
    ['whole history log p1 (research)', act('log', 1, true)],
    ['whole history power .5 (research)', act('power', 0.5, true)],
  ],
  // Other co-occurrence normalisations and seed weights not covered by earlier groups.
  norm: [
    ['shipped', (c) => c],
    ['cosine: seedNorm .5 damping .5', sc({ popularityDamping: 0.5 })],
    ['seedNorm .5 damping .25', sc({ popularityDamping: 0.25 })],
    ['seedNorm 1 damping 0 (conditional prob.)', sc({ seedNormalisation: 1 })],
    ['seed weight^.5', sc({ seedWeightPower: 0.5 })],
    ['seed weight^1', sc({ seedWeightPower: 1 })],
    ['seed weight^2', sc({ seedWeightPower: 2 })],
  ],
  activityRobust: [1, 0.1, 0.03]
    .flatMap((share): Variant[] => [
      [`${share * 100}% of users, shipped`, (c) => ({ ...c, coocUserShare: share })],
      [`${share * 100}% of users, log p1`, (c) => ({ ...act('log', 1)(c), coocUserShare: share })],
      [`${share * 100}% of users, power .5`, (c) => ({ ...act('power', 0.5)(c), coocUserShare: share })],
    ])
    .concat([
      ['causal, shipped', (c) => ({ ...c, causal: true })],
      ['causal, log p1', (c) => ({ ...act('log', 1)(c), causal: true })],
      ['causal, power .5', (c) => ({ ...act('power', 0.5)(c), causal: true })],
    ]),
  cap: [
    ['cap inf', (c) => c],
    ['cap 200', (c) => ({ ...c, cap: 200 })],
    ['cap 200 slack 1.25', (c) => ({ ...c, cap: 200, capSlack: 1.25 })],
    ['cap 200 slack 5', (c) => ({ ...c, cap: 200, capSlack: 5 })],
    ['cap 200 final only', (c) => ({ ...c, cap: 200, capSlack: Infinity })],
    ['cap 500 slack 2', (c) => ({ ...c, cap: 500, capSlack: 2 })],
    ['cap 50', (c) => ({ ...c, cap: 50 })],
    ['cap 20', (c) => ({ ...c, cap: 20 })],
  ],
  cooc3: [
    ['shipped', (c) => c],
    ['no 1d limit', win({ maxSeconds: undefined })],
    ['steps 3', win({ maxSteps: 3 })],
    ['steps 8', win({ maxSteps: 8 })],
    ['gap hl 10min', win({ gapHalfLifeSeconds: 600 })],
    ['gap hl 1h', win({ gapHalfLifeSeconds: 3600 })],
    ['gap hl 1min', win({ gapHalfLifeSeconds: 60 })],
    ['gap hl 10min steps 10', win({ gapHalfLifeSeconds: 600, maxSteps: 10 })],
    ['decay .8', win({ distanceDecay: 0.8 })],
    ['back .7', win({ backwardWeight: 0.7 })],
    ['recency .7', sc({ recencyDecay: 0.7 })],
    ['recency .35', sc({ recencyDecay: 0.35 })],
    ['seedNorm 0', sc({ seedNormalisation: 0 })],
    ['seedNorm .75', sc({ seedNormalisation: 0.75 })],
    ['lastN 3', sc({ lastN: 3 })],
    ['lastN 10', sc({ lastN: 10 })],
    ['cap inf', (c) => ({ ...c, cap: Infinity })],
  ],
  baseline: [
    ['issue baseline', () => ISSUE_BASELINE],
    ['shipped', (c) => c],
  ],
  blend3: (
    [
      [2, 50, 0.3, 0.3],
      [1, 0, 0, 0],
      [2, 50, 0.15, 0.3],
      [2, 50, 0.3, 0.15],
      [2, 50, 0, 0.3],
      [2, 50, 0.3, 0],
      [2, 50, 0.15, 0.15],
      [2, 50, 0.5, 0.5],
      [2, 20, 0.3, 0.3],
      [2, 200, 0.3, 0.3],
    ] as const
  ).map(([w, e, u, t]): Variant => [
    `bt${w} e${e} ui${u} tr${t}`,
    (c) => bl({ ...bt(w, e || undefined), ...(u ? ui(u) : {}), ...(t ? tr(t) : {}) })(c),
  ]),
  // Co-occurrence fed from a share of users only (a sparse catalogue): [bought_together evidence, ui, trending].
  sparse: (
    [
      [
        0.1,
        [
          [2, 0.3, 0.1],
          [20, 0.1, 0.1],
          [20, 0.3, 0.3],
          [50, 0.3, 0.3],
          [0, 0.3, 0.3],
          [20, 0.5, 0.5],
        ],
      ],
      [
        0.03,
        [
          [20, 0.1, 0.1],
          [20, 0.3, 0.3],
        ],
      ],
    ] as const
  ).flatMap(([share, mixes]): Variant[] => [
    [`${share * 100}% cooc only`, atShare(share, { ...bt(1) })],
    [`${share * 100}% shipped`, atShare(share, DEFAULT_BLEND.sources)],
    ...mixes.map(([e, u, t]): Variant => [
      `${share * 100}% bt1${e ? ` e${e}` : ''} ui${dotted(u)} tr${dotted(t)}`,
      atShare(share, { ...bt(1, e || undefined), ...ui(u), ...tr(t) }),
    ]),
  ]),
  trust: [1, 0.1, 0.03].flatMap((share) =>
    (
      [
        [1, 2, 0.1, 0.1],
        [3, 50, 0.3, 0.3],
        [3, 100, 0.3, 0.3],
        [3, 20, 0.3, 0.3],
        [2, 50, 0.3, 0.3],
        [4, 50, 0.3, 0.3],
        [3, 50, 0.3, 0.15],
        [3, 50, 0.15, 0.3],
      ] as const
    ).map(([w, e, u, t]): Variant => [
      `${share * 100}% bt${w} e${e} ui${u} tr${t}`,
      atShare(share, { ...bt(w, e), ...ui(u), ...tr(t) }),
    ]),
  ),
  trendingHalfLife: [7, 30, 90, 365].map((d): Variant => [
    `half-life ${d}d`,
    (c) => ({ ...c, trendingHalfLifeDays: d }),
  ]),
  sep: [
    ['sep .2', (c) => c],
    ['sep .3', withCluster(5, 0.1, 0.3)],
    ['sep .1', withCluster(5, 0.1, 0.1)],
  ],
  interests: [
    ['base', (c) => c],
    ['sil .2', withCluster(5, 0.2, 0.2)],
    ['k1', withCluster(1, 0.1, 0.2)],
    ['sep .3', withCluster(5, 0.1, 0.3)],
    ['sep .1', withCluster(5, 0.1, 0.1)],
    ['recent 20', (c) => ({ ...c, interests: { ...c.interests, recentN: 20 } })],
    ['hl 3d', (c) => ({ ...c, interests: { ...c.interests, halfLifeDays: 3 } })],
    ['pos 3.5', (c) => ({ ...c, interests: { ...c.interests, minPositiveRating: 3.5 } })],
    ['no dislikes', (c) => ({ ...c, interests: { ...c.interests, maxDislikedRating: -1 } })],
    [
      'dislike .8',
      (c) => ({ ...c, interests: { ...c.interests, dislike: { ...c.interests.dislike, threshold: 0.8 } } }),
    ],
  ],
  blend: [
    ['cooc only', bl({ ...bt(1) })],
    ['bt1 ui.05 tr.05', bl({ ...bt(1), ...ui(0.05), ...tr(0.05) })],
    ['bt1 ui.1 tr.1', bl({ ...bt(1), ...ui(0.1), ...tr(0.1) })],
    ['bt1 ui.2 tr.2', bl({ ...bt(1), ...ui(0.2), ...tr(0.2) })],
    ['bt1 ui.3 tr.3', bl({ ...bt(1), ...ui(0.3), ...tr(0.3) })],
    ['bt1 ui.2', bl({ ...bt(1), ...ui(0.2) })],
    ['bt1 tr.2', bl({ ...bt(1), ...tr(0.2) })],
    ['bt1 e2 ui.2 tr.2', bl({ ...bt(1, 2), ...ui(0.2), ...tr(0.2) })],
    ['bt1 e10 ui.2 tr.2', bl({ ...bt(1, 10), ...ui(0.2), ...tr(0.2) })],
    ['bt1 ui.2 tr.2 off0', bl({ ...bt(1), ...ui(0.2), ...tr(0.2) }, 0)],
    ['bt1 ui.2 tr.2 off30', bl({ ...bt(1), ...ui(0.2), ...tr(0.2) }, 30)],
    ['rank bt1 ui.3 tr.3 off10', bl({ ...bt(1, undefined, 'rank'), ...ui(0.3), ...tr(0.3) })],
    ['rank bt1 ui.5 tr.5 off10', bl({ ...bt(1, undefined, 'rank'), ...ui(0.5), ...tr(0.5) })],
  ],
  cooc2: [
    ['s5 r.5 n.5', both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 })],
    ['s5 r.5 n.5 L10', both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5, lastN: 10 })],
    [
      's5 d.85 r.5 n.5',
      both({ maxSteps: 5, distanceDecay: 0.85 }, { recencyDecay: 0.5, seedNormalisation: 0.5 }),
    ],
    [
      's8 d.8 r.5 n.5',
      both({ maxSteps: 8, distanceDecay: 0.8 }, { recencyDecay: 0.5, seedNormalisation: 0.5 }),
    ],
    ['s5 r.6 n.5', both({ maxSteps: 5 }, { recencyDecay: 0.6, seedNormalisation: 0.5 })],
    ['s5 r.4 n.5', both({ maxSteps: 5 }, { recencyDecay: 0.4, seedNormalisation: 0.5 })],
    ['s5 r.5 n.3', both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.3 })],
    ['s5 r.5 n.7', both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.7 })],
    [
      's5 r.5 n.5 back1.5',
      both({ maxSteps: 5, backwardWeight: 1.5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 }),
    ],
    [
      's5 r.5 n.5 back.75',
      both({ maxSteps: 5, backwardWeight: 0.75 }, { recencyDecay: 0.5, seedNormalisation: 0.5 }),
    ],
    [
      's5 r.5 n.5 damp.1',
      both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5, popularityDamping: 0.1 }),
    ],
    [
      's5 r.5 n.5 1d',
      both({ maxSteps: 5, maxSeconds: 86400 }, { recencyDecay: 0.5, seedNormalisation: 0.5 }),
    ],
  ],
  weights: [
    ['s5 r.5 n.5 w=1', both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 })],
    [
      'w pos 1 neg .5',
      (c) =>
        ew((r) => (r >= 4 ? 1 : 0.5))(
          both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 })(c),
        ),
    ],
    [
      'w r/5',
      (c) => ew((r) => r / 5)(both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 })(c)),
    ],
    [
      'w pos 1 neg .2',
      (c) =>
        ew((r) => (r >= 4 ? 1 : 0.2))(
          both({ maxSteps: 5 }, { recencyDecay: 0.5, seedNormalisation: 0.5 })(c),
        ),
    ],
  ],
  // The service's rating weight is valueScale·(value+valueOffset); ≤ 0 adds no co-occurrence or popularity.
  svcweights: [
    ['w=1 (research)', (c) => c],
    ['w=r-3 (service default)', ew((r) => r - 3)],
    ['w=r-2', ew((r) => r - 2)],
    ['w=r-1', ew((r) => r - 1)],
    ['w=r', ew((r) => r)],
    ['w=(r-2.5)', ew((r) => r - 2.5)],
  ],
  // Co-occurrence scoring again under the service's rating weight (value − 2).
  r2cooc: [
    ['r-2 shipped', ew((r) => r - 2)],
    ['r-2 seedNorm .75', (c) => sc({ seedNormalisation: 0.75 })(ew((r) => r - 2)(c))],
    ['r-2 seedNorm .25', (c) => sc({ seedNormalisation: 0.25 })(ew((r) => r - 2)(c))],
    ['r-2 damping .25', (c) => sc({ popularityDamping: 0.25 })(ew((r) => r - 2)(c))],
    ['r-2 recency .7', (c) => sc({ recencyDecay: 0.7 })(ew((r) => r - 2)(c))],
    ['r-2 back .7', (c) => win({ backwardWeight: 0.7 })(ew((r) => r - 2)(c))],
  ],
  // The pairing window: steps bound it; a time limit barely matters on MovieLens (92-95% of targets follow their
  // previous rating within the hour), so the 1-day limit stays for product data (pairs within a visit).
  window: [
    ['shipped (5 steps, 1 day)', (c) => c],
    ['5 steps, no time limit', win({ maxSeconds: undefined })],
    ['5 steps, 7 days', win({ maxSeconds: 7 * 86400 })],
    ['5 steps, 30 days', win({ maxSeconds: 30 * 86400 })],
    ['3 steps, no time limit', win({ maxSteps: 3, maxSeconds: undefined })],
    ['3 steps, 1 day', win({ maxSteps: 3 })],
    ['8 steps, 30 days', win({ maxSteps: 8, maxSeconds: 30 * 86400 })],
    ['5 steps, gap half-life 1 day', win({ maxSeconds: undefined, gapHalfLifeSeconds: 86400 })],
    ['5 steps, distance decay .8', win({ maxSeconds: undefined, distanceDecay: 0.8 })],
  ],
  // Seeds: how many recent items, how they age, and agreement between them (shipped: 10, 1 day, 0.25).
  seeds: [
    ['before: 5 seeds, no age, no agreement', sc(BEFORE)],
    ['5 seeds, agreement .25', sc({ ...BEFORE, agreementPower: 0.25 })],
    ['10 seeds, no agreement', sc({ ...BEFORE, lastN: 10 })],
    ['10 seeds, age 1d, no agreement', sc({ ...BEFORE, lastN: 10, seedHalfLifeSeconds: 86400 })],
    ['10 seeds, agreement .25', sc({ seedHalfLifeSeconds: undefined })],
    ['shipped: 10 seeds, age 1d, agreement .25', (c) => c],
    ['agreement .5', sc({ agreementPower: 0.5 })],
    ['agreement .1', sc({ agreementPower: 0.1 })],
    ['7 seeds', sc({ lastN: 7 })],
    ['15 seeds', sc({ lastN: 15 })],
    ['20 seeds', sc({ lastN: 20 })],
    ['age 1h', sc({ seedHalfLifeSeconds: 3600 })],
    ['age 7d', sc({ seedHalfLifeSeconds: 7 * 86400 })],
    ['recency .6', sc({ recencyDecay: 0.6 })],
    ['recency .4', sc({ recencyDecay: 0.4 })],
    ['seedNorm .25', sc({ seedNormalisation: 0.25 })],
    ['seedNorm .75', sc({ seedNormalisation: 0.75 })],
    ['damping .1', sc({ popularityDamping: 0.1 })],
  ],
  // The seed change where co-occurrence is sparse (10% / 3% of users) or built causally (run with co_occurrence and default).
  seedsRobust: [1, 0.1, 0.03]
    .flatMap((share): Variant[] => [
      [`${share * 100}% of users, before`, (c) => ({ ...sc(BEFORE)(c), coocUserShare: share })],
      [`${share * 100}% of users, shipped`, (c) => ({ ...c, coocUserShare: share })],
    ])
    .concat([
      ['causal, before', (c) => ({ ...sc(BEFORE)(c), causal: true })],
      ['causal, shipped', (c) => ({ ...c, causal: true })],
    ]),
  cooc: [
    ['base', (c) => c],
    ['steps 1', win({ maxSteps: 1 })],
    ['steps 2', win({ maxSteps: 2 })],
    ['steps 5', win({ maxSteps: 5 })],
    ['steps 10', win({ maxSteps: 10 })],
    ['steps 10 decay .7', win({ maxSteps: 10, distanceDecay: 0.7 })],
    ['steps 5 decay .7', win({ maxSteps: 5, distanceDecay: 0.7 })],
    ['steps 3 decay .7', win({ maxSteps: 3, distanceDecay: 0.7 })],
    ['back 0.5', win({ backwardWeight: 0.5 })],
    ['back 0.25', win({ backwardWeight: 0.25 })],
    ['back 0', win({ backwardWeight: 0 })],
    ['seconds 1h', win({ maxSeconds: 3600 })],
    ['seconds 1d', win({ maxSeconds: 86400 })],
    ['recency .5', sc({ recencyDecay: 0.5 })],
    ['recency .85', sc({ recencyDecay: 0.85 })],
    ['lastN 3', sc({ lastN: 3 })],
    ['lastN 10', sc({ lastN: 10 })],
    ['seedNorm .5', sc({ seedNormalisation: 0.5 })],
    ['seedNorm 1', sc({ seedNormalisation: 1 })],
    ['damp .2', sc({ popularityDamping: 0.2 })],
    ['damp .4', sc({ popularityDamping: 0.4 })],
  ],
};

void main();
