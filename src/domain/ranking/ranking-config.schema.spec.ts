import {
  DEFAULT_EVENT_WEIGHTS,
  DEFAULT_RANKING_CONFIG,
  eventWeight,
  parseFilters,
  parseRankingConfig,
} from './ranking-config.schema';

const ISSUE_EXAMPLE = {
  candidates: [
    { source: 'similar', limit: 200 },
    { source: 'query', limit: 100 },
    { source: 'trending', limit: 100 },
    { source: 'new_arrivals', limit: 50 },
    { source: 'bought_together', limit: 100 },
  ],
  score: {
    similarity: 1.0,
    popularity: 0.2,
    freshness: { weight: 0.1, halfLifeDays: 14 },
    boosts: [{ when: { field: 'attributes.brand', eq: 'acme' }, multiply: 1.2 }],
    buries: [{ when: { field: 'price', gt: 500 }, multiply: 0.5 }],
  },
  filters: {
    available: true,
    price: { gte: 0, lte: 100 },
    categories: { any: ['shoes'], none: ['clearance'] },
    tags: { all: ['vegan'] },
    attributes: { color: { eq: 'red' } },
  },
  exclude: { contextItems: true, ids: [] },
  diversity: { mmrLambda: 0.7, maxPerCategory: 3 },
  rules: [
    { pin: 'sku-123', position: 1, from: '2026-11-01T00:00:00Z', until: '2026-12-01T00:00:00Z' },
    { hide: { field: 'tags', contains: 'discontinued' } },
  ],
};

describe('parseRankingConfig', () => {
  it('accepts {} and fills the documented defaults', () => {
    const r = parseRankingConfig({});
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config).toEqual(DEFAULT_RANKING_CONFIG);
    expect(r.config.candidates.map((c) => [c.source, c.limit])).toEqual([
      ['similar', 200],
      ['query', 100],
      ['trending', 100],
      ['new_arrivals', 50],
      ['bought_together', 100],
      ['user_interests', 200],
      ['collaborative', 100],
    ]);
    expect(r.config.score).toMatchObject({ similarity: 1, popularity: 0.1, freshness: { weight: 0 } });
    expect(r.config.exclude).toEqual({ contextItems: true, ids: [], purchased: false });
    expect(r.config.diversity).toEqual({ mmrLambda: 1 });
    expect(r.config.popularity).toEqual({ halfLifeDays: 7 });
    expect(Object.isFrozen(DEFAULT_RANKING_CONFIG.candidates[0])).toBe(true);
    expect(r.config.eventWeights).toMatchObject({
      purchase: 5,
      add_to_cart: 3,
      click: 1,
      view: 0.5,
      dislike: -5,
      impression: 0,
    });
  });

  it('accepts the example from the issue unchanged', () => {
    const r = parseRankingConfig(ISSUE_EXAMPLE);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.rules).toHaveLength(2);
    expect(r.config.score.buries[0]).toEqual({ when: { field: 'price', gt: 500 }, multiply: 0.5 });
  });

  it('lists every error of an invalid config with its dotted path', () => {
    const r = parseRankingConfig({
      candidates: [
        { source: 'similar', limit: 0 },
        { source: 'magic', limit: 10 },
        { source: 'similar', limit: 5 },
      ],
      score: {
        similarity: -1,
        freshness: { halfLifeDays: 0 },
        boosts: [{ when: { field: 'price', eq: 'cheap' }, multiply: 0.5 }],
        buries: [{ when: { field: 'nope', gt: 1, lt: 2 }, multiply: 2 }],
      },
      filters: { price: { gte: 100, lte: 10 }, colour: 'red' },
      diversity: { mmrLambda: 1.5, maxPerCategory: 0 },
      rules: [
        { pin: 'sku 1' },
        { hide: { field: 'tags' }, from: '2026-12-01T00:00:00Z', until: '2026-11-01T00:00:00Z' },
        { position: 2 },
      ],
      eventWeights: { purchase: 'lots' },
      popularity: { halfLifeDays: -2 },
      typo: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'candidates.0.limit',
        'candidates.1.source',
        'candidates.2.source',
        'score.similarity',
        'score.freshness.halfLifeDays',
        'score.boosts.0.multiply',
        'score.boosts.0.when.eq',
        'score.buries.0.multiply',
        'score.buries.0.when.field',
        'score.buries.0.when.lt',
        'filters.price',
        'filters',
        'diversity.mmrLambda',
        'diversity.maxPerCategory',
        'rules.0.pin',
        'rules.0.position',
        'rules.1.hide',
        'rules.1.until',
        'rules.2',
        'rules.2.position',
        'eventWeights.purchase',
        'popularity.halfLifeDays',
        '(body)',
      ]),
    );
    expect(r.errors.find((e) => e.path === 'candidates.2.source')?.message).toMatch(/listed twice/);
    expect(r.errors.find((e) => e.path === 'filters.price')?.message).toMatch(/empty range/);
    expect(r.errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it('rejects conditions with the wrong value type for a known field', () => {
    const r = parseRankingConfig({
      rules: [
        { hide: { field: 'available', gt: 1 } },
        { hide: { field: 'createdAt', gt: 'yesterday' } },
        { hide: { field: 'categories', lt: 'x' } },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual(['rules.0.hide.gt', 'rules.1.hide.gt', 'rules.2.hide.lt']);
  });

  it('takes exclude.purchased and exclude.seenWithinHours, and names bad values', () => {
    const r = parseRankingConfig({ exclude: { purchased: true, seenWithinHours: 48 } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.exclude).toEqual({ contextItems: true, ids: [], purchased: true, seenWithinHours: 48 });
    const bad = parseRankingConfig({ exclude: { purchased: 'yes', seenWithinHours: 0 } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.path).sort()).toEqual(['exclude.purchased', 'exclude.seenWithinHours']);
    expect(parseRankingConfig({ exclude: { seenWithinHours: -1 } }).ok).toBe(false);
  });

  it('merges partial event weights over the defaults', () => {
    const r = parseRankingConfig({ eventWeights: { purchase: 10, wishlist: 2 } });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.eventWeights).toEqual({ ...DEFAULT_EVENT_WEIGHTS, purchase: 10, wishlist: 2 });
  });
});

describe('eventWeight', () => {
  it('reads fixed weights, derives rating from its value and weighs unknown types 0', () => {
    const w = DEFAULT_RANKING_CONFIG.eventWeights;
    expect(eventWeight(w, 'purchase')).toBe(5);
    expect(eventWeight(w, 'rating', 5)).toBe(3);
    expect(eventWeight(w, 'rating', 1)).toBe(-1);
    expect(eventWeight(w, 'rating')).toBe(0);
    expect(eventWeight(w, 'toString')).toBe(0);
    expect(eventWeight(w, 'unknown')).toBe(0);
  });
});

describe('parseFilters', () => {
  it('validates request-level filters on their own', () => {
    expect(parseFilters({ categories: { any: ['shoes'] } }).ok).toBe(true);
    const bad = parseFilters({ attributes: { color: {} }, tags: { some: ['x'] } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.path).sort()).toEqual(['attributes.color', 'tags']);
  });
});
