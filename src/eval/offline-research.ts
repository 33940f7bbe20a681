// Prints HR@10 / NDCG@10 / coverage@10 per method on the validation and test splits: `npx tsx src/eval/offline-research.ts`.
import { DEFAULT_BLEND } from '../domain/personalization/blend';
import {
  DEFAULT_NEIGHBOUR_CAP,
  DEFAULT_SCORING,
  DEFAULT_WINDOW,
} from '../domain/personalization/co-occurrence';
import { DEFAULT_TRENDING_HALF_LIFE_SECONDS } from '../domain/personalization/popularity';
import {
  DEFAULT_CLUSTER,
  DEFAULT_DISLIKE,
  INTEREST_HALF_LIFE_SECONDS,
  INTEREST_RECENT_N,
} from '../domain/personalization/user-interests';
import { BASE_CONFIG, Harness, type Method, type ResearchConfig } from './harness';
import { loadMovieLens, movieVectors } from './movielens';
import type { Split } from './protocol';

/** The shipped defaults, with the Redis-side neighbour cap applied. */
export const SHIPPED: ResearchConfig = {
  ...BASE_CONFIG,
  window: DEFAULT_WINDOW,
  scoring: DEFAULT_SCORING,
  cap: DEFAULT_NEIGHBOUR_CAP,
  trendingHalfLifeDays: DEFAULT_TRENDING_HALF_LIFE_SECONDS / 86400,
  interests: {
    ...BASE_CONFIG.interests,
    recentN: INTEREST_RECENT_N,
    halfLifeDays: INTEREST_HALF_LIFE_SECONDS / 86400,
    cluster: DEFAULT_CLUSTER,
    dislike: DEFAULT_DISLIKE,
  },
  blend: DEFAULT_BLEND,
};

/** The issue's co-occurrence baseline: ±3 steps, symmetric raw counts, last 5 items with recency weights. */
const ISSUE_BASELINE: ResearchConfig = {
  ...BASE_CONFIG,
  window: { maxSteps: 3, distanceDecay: 1, backwardWeight: 1 },
  scoring: { lastN: 5, recencyDecay: 0.7, seedNormalisation: 0, popularityDamping: 0 },
  cap: Infinity,
};

const ROWS: [string, Method, ResearchConfig][] = [
  ['popularity (all-time count)', 'popularity', SHIPPED],
  ['trending (decayed, as of request)', 'trending', SHIPPED],
  ['content (mean of last 5)', 'content', SHIPPED],
  ['user_interests', 'user_interests', SHIPPED],
  ['co-occurrence (issue baseline)', 'co_occurrence', ISSUE_BASELINE],
  ['co-occurrence (shipped, cap 200)', 'co_occurrence', SHIPPED],
  ['default blend (shipped, cap 200)', 'default', SHIPPED],
  // Honesty checks: co-occurrence only from events before each request, and thinned to simulate a sparse catalogue.
  ['co-occurrence, causal replay', 'co_occurrence', { ...SHIPPED, causal: true }],
  ['default blend, causal replay', 'default', { ...SHIPPED, causal: true }],
  ['co-occurrence, 10% of users', 'co_occurrence', { ...SHIPPED, coocUserShare: 0.1 }],
  ['default blend, 10% of users', 'default', { ...SHIPPED, coocUserShare: 0.1 }],
  ['co-occurrence, 3% of users', 'co_occurrence', { ...SHIPPED, coocUserShare: 0.03 }],
  ['default blend, 3% of users', 'default', { ...SHIPPED, coocUserShare: 0.03 }],
];

async function main(): Promise<void> {
  const splits = (process.argv[2] ?? 'validation,test').split(',') as Split[];
  const ml = loadMovieLens();
  const vectors = await movieVectors(ml.items);
  const data = { itemIds: ml.items.map((i) => i.id), vectors, ratings: ml.ratings };
  for (const split of splits) {
    const h = new Harness(data, split);
    console.log(`\n${split}: ${h.cases.length} users, ${data.itemIds.length} items`);
    console.log('| method | HR@10 | NDCG@10 | coverage@10 |\n|---|---|---|---|');
    for (const [label, method, cfg] of ROWS) {
      const m = h.evaluate(method, cfg);
      console.log(`| ${label} | ${m.hr.toFixed(4)} | ${m.ndcg.toFixed(4)} | ${m.coverage.toFixed(4)} |`);
    }
  }
}

void main();
