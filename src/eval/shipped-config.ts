// The settings the service ships (domain defaults), as a research config, plus the issue's baseline.
import { DEFAULT_BLEND } from '../domain/personalization/blend';
import {
  DEFAULT_NEIGHBOUR_CAP,
  DEFAULT_SCORING,
  DEFAULT_WINDOW,
} from '../domain/personalization/co-occurrence';
import { DEFAULT_RANKING_CONFIG, eventWeight } from '../domain/ranking';
import {
  DEFAULT_CLUSTER,
  DEFAULT_DISLIKE,
  INTEREST_HALF_LIFE_SECONDS,
  INTEREST_RECENT_N,
} from '../domain/personalization/user-interests';
import { BASE_CONFIG, type ResearchConfig } from './harness';

/** The shipped defaults, with the Redis-side neighbour cap applied. */
export const SHIPPED: ResearchConfig = {
  ...BASE_CONFIG,
  // A rating's weight as the service derives it (value − 2 by default).
  eventWeight: (r) => eventWeight(DEFAULT_RANKING_CONFIG.eventWeights, 'rating', r),
  window: DEFAULT_WINDOW,
  scoring: DEFAULT_SCORING,
  cap: DEFAULT_NEIGHBOUR_CAP,
  trendingHalfLifeDays: DEFAULT_RANKING_CONFIG.popularity.halfLifeDays,
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
export const ISSUE_BASELINE: ResearchConfig = {
  ...BASE_CONFIG,
  window: { maxSteps: 3, distanceDecay: 1, backwardWeight: 1 },
  scoring: { lastN: 5, recencyDecay: 0.7, seedNormalisation: 0, popularityDamping: 0 },
  cap: Infinity,
};
