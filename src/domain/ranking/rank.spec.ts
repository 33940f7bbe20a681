import type { Item } from '../item';
import type { Candidate } from './candidates';
import { meanPairwiseSimilarity } from './mmr';
import { rank, type RankInput } from './rank';
import {
  DEFAULT_RANKING_CONFIG,
  parseRankingConfig,
  type RankingConfig,
  type RankingConfigInput,
  type SourceName,
} from './ranking-config.schema';

const NOW = Date.parse('2026-11-15T12:00:00Z');

function config(input: RankingConfigInput = {}): RankingConfig {
  const r = parseRankingConfig(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

function catalogue(items: Partial<Item>[]): Map<string, Item> {
  return new Map(items.map((i) => [i.id!, { title: i.id!, available: true, ...i } as Item]));
}

// 20 items, similarity descending with the index: i-00 is the best match.
const items = catalogue(
  Array.from({ length: 20 }, (_, i) => ({
    id: `i-${String(i).padStart(2, '0')}`,
    categories: [i % 2 === 0 ? 'shoes' : 'shirts'],
    tags: i === 4 ? ['discontinued'] : [],
    attributes: { brand: i === 9 ? 'acme' : 'other' },
    price: 10 * i,
    available: i !== 6,
  })),
);
const ids = [...items.keys()];
const similar: Candidate[] = ids.map((id, i) => ({ id, score: 0.95 - i * 0.03 }));

function input(over: Partial<RankInput> = {}): RankInput {
  return {
    candidates: new Map<SourceName, Candidate[]>([['similar', similar]]),
    item: (id) => items.get(id),
    config: config({ score: { popularity: 0 } }),
    limit: 10,
    now: NOW,
    ...over,
  };
}
const idsOf = (list: { id: string }[]): string[] => list.map((r) => r.id);

describe('rank: combining relevance sources', () => {
  // i-00 leads one source alone; i-01 is second in two sources.
  const lists = {
    bought_together: [
      { id: 'i-00', score: 10 },
      { id: 'i-01', score: 8 },
    ],
    collaborative: [
      { id: 'i-01', score: 5 },
      { id: 'i-02', score: 1 },
    ],
  };
  const sources = [
    { source: 'bought_together' as const, limit: 10 },
    { source: 'collaborative' as const, limit: 10 },
  ];

  it('noisy-OR (default): a source whose head is 1 outranks agreement below it', () => {
    const out = rank(
      input({ candidates: lists, config: config({ candidates: sources, score: { popularity: 0 } }) }),
    );
    expect(idsOf(out).slice(0, 2)).toEqual(['i-00', 'i-01']);
    expect(out[0].score).toBe(1);
  });

  it('sum: agreement between sources adds up and can pass a single source', () => {
    const out = rank(
      input({
        candidates: lists,
        config: config({ candidates: sources, score: { popularity: 0, combine: 'sum' } }),
        explain: true,
      }),
    );
    expect(idsOf(out).slice(0, 2)).toEqual(['i-01', 'i-00']);
    expect(out[0].score).toBeCloseTo(0.8 + 1, 10);
    expect(out[0].explain?.components.similarity).toBeCloseTo(1.8, 10);
  });
});

describe('rank: ordering and scores', () => {
  it('orders by score, breaking ties by id, and drops unknown ids', () => {
    const tie: Candidate[] = [
      { id: 'i-03', score: 0.5 },
      { id: 'i-01', score: 0.5 },
      { id: 'ghost', score: 0.9 },
      { id: 'i-02', score: 0.7 },
    ];
    const out = rank(input({ candidates: { similar: tie } }));
    expect(idsOf(out)).toEqual(['i-02', 'i-01', 'i-03']);
    expect(out[0].score).toBeCloseTo(0.7, 10);
  });

  it('combines sources with noisy-OR of scores normalised to [0,1]', () => {
    const out = rank(
      input({
        candidates: {
          similar: [{ id: 'i-01', score: 0.6 }],
          bought_together: [
            { id: 'i-02', score: 10 },
            { id: 'i-01', score: 5 },
          ],
        },
        explain: true,
      }),
    );
    const byId = new Map(out.map((r) => [r.id, r]));
    // i-02: the best co-purchase count normalises to 1.
    expect(byId.get('i-02')!.explain!.components.similarity).toBeCloseTo(1, 10);
    // i-01: 1 − (1 − 0.6)(1 − 0.5) = 0.8, more than either source alone.
    expect(byId.get('i-01')!.explain!.sourceScores).toEqual({ similar: 0.6, bought_together: 0.5 });
    expect(byId.get('i-01')!.explain!.components.similarity).toBeCloseTo(0.8, 10);
  });

  it('with the default config ranks a context-free homepage (trending + new arrivals) by popularity', () => {
    const pop = new Map([
      ['i-05', 1],
      ['i-06', 50],
      ['i-07', 7],
    ]);
    const out = rank(
      input({
        config: DEFAULT_RANKING_CONFIG,
        candidates: {
          trending: [...pop].map(([id, score]) => ({ id, score })),
          new_arrivals: [{ id: 'i-08', score: 1 }],
        },
        popularity: (id) => pop.get(id) ?? 0,
      }),
    );
    expect(idsOf(out)).toEqual(['i-06', 'i-07', 'i-05', 'i-08']);
    expect(out[3].score).toBe(0);
  });

  it('ignores sources the config does not list and cuts each source to its limit', () => {
    const cfg = config({ candidates: [{ source: 'similar', limit: 3 }], score: { popularity: 0 } });
    const out = rank(input({ config: cfg, candidates: { similar, trending: [{ id: 'i-19', score: 100 }] } }));
    expect(idsOf(out)).toEqual(['i-00', 'i-01', 'i-02']);
  });

  it('scores popularity on a log scale relative to the most popular candidate', () => {
    const pop = new Map([
      ['i-10', 999],
      ['i-11', 31],
    ]);
    const out = rank(
      input({
        config: config({ score: { similarity: 0, popularity: 1 } }),
        candidates: { trending: [...pop].map(([id, score]) => ({ id, score })) },
        popularity: (id) => pop.get(id) ?? 0,
        explain: true,
      }),
    );
    expect(idsOf(out)).toEqual(['i-10', 'i-11']);
    expect(out[0].score).toBeCloseTo(1, 10);
    expect(out[1].score).toBeCloseTo(Math.log(32) / Math.log(1000), 10);
  });

  it('halves freshness every half-life and lets fresher items rise', () => {
    const dated = catalogue([
      { id: 'old', createdAt: new Date(NOW - 14 * 86_400_000).toISOString() },
      { id: 'new', createdAt: new Date(NOW).toISOString() },
      { id: 'undated' },
    ]);
    const out = rank(
      input({
        item: (id) => dated.get(id),
        config: config({
          score: { similarity: 0, popularity: 0, freshness: { weight: 1, halfLifeDays: 14 } },
        }),
        candidates: { new_arrivals: [...dated.keys()].map((id) => ({ id, score: 1 })) },
      }),
    );
    expect(out.map((r) => [r.id, r.score])).toEqual([
      ['new', 1],
      ['old', 0.5],
      ['undated', 0],
    ]);
  });
});

describe('rank: knobs', () => {
  it('a boost raises the matching item and multiplies its score', () => {
    const base = rank(input({ limit: 20 }));
    const boosted = rank(
      input({
        limit: 20,
        config: config({
          score: {
            popularity: 0,
            boosts: [{ when: { field: 'attributes.brand', eq: 'acme' }, multiply: 2 }],
          },
        }),
      }),
    );
    const at = (list: { id: string }[]): number => list.findIndex((r) => r.id === 'i-09');
    expect(at(boosted)).toBeLessThan(at(base));
    expect(boosted[at(boosted)].score).toBeCloseTo(base[at(base)].score * 2, 10);
  });

  it('a bury lowers the matching items', () => {
    const buried = rank(
      input({
        limit: 20,
        config: config({
          score: { popularity: 0, buries: [{ when: { field: 'price', lt: 30 }, multiply: 0.1 }] },
        }),
      }),
    );
    // i-00..i-02 (price < 30) were the top three; now they are the last three.
    expect(idsOf(buried).slice(-3)).toEqual(['i-00', 'i-01', 'i-02']);
  });

  it('a pin lands at its position, even for an item no source produced, without duplicates', () => {
    const extra = new Map(items).set('promo', { id: 'promo', title: 'Promo', available: true });
    const cfg = config({
      score: { popularity: 0 },
      rules: [
        { pin: 'promo', position: 3 },
        { pin: 'i-07', position: 1 },
      ],
    });
    const out = rank(input({ config: cfg, item: (id) => extra.get(id), explain: true }));
    expect(out).toHaveLength(10);
    expect(out[0].id).toBe('i-07');
    expect(out[2].id).toBe('promo');
    expect(new Set(idsOf(out)).size).toBe(10);
    expect(out[2].explain).toMatchObject({ sources: ['pin'], pinnedAt: 3 });
    expect(out[0].explain!.sources).toEqual(['similar', 'pin']);
  });

  it('a pin beyond the page lands on the later page at its absolute position', () => {
    const cfg = config({ score: { popularity: 0 }, rules: [{ pin: 'i-19', position: 12 }] });
    const page1 = rank(input({ config: cfg }));
    expect(idsOf(page1)).not.toContain('i-19');
    const page2 = rank(input({ config: cfg, alreadyServed: new Set(idsOf(page1)) }));
    expect(page2[1].id).toBe('i-19');
  });

  it('pins and hides respect their validity windows', () => {
    const window = { from: '2026-11-01T00:00:00Z', until: '2026-12-01T00:00:00Z' };
    const cfg = config({
      score: { popularity: 0 },
      rules: [
        { pin: 'i-15', position: 1, ...window },
        { hide: { field: 'id', eq: 'i-00' }, ...window },
      ],
    });
    const during = rank(input({ config: cfg, now: Date.parse('2026-11-15T00:00:00Z') }));
    expect(during[0].id).toBe('i-15');
    expect(idsOf(during)).not.toContain('i-00');
    for (const t of ['2026-10-31T23:59:59Z', '2026-12-01T00:00:00Z']) {
      const outside = rank(input({ config: cfg, now: new Date(t) }));
      expect(outside[0].id).toBe('i-00');
      expect(idsOf(outside)).not.toContain('i-15');
    }
  });

  it('a hidden item never shows, on any page, even when pinned', () => {
    const cfg = config({
      score: { popularity: 0 },
      rules: [{ hide: { field: 'tags', contains: 'discontinued' } }, { pin: 'i-04', position: 1 }],
    });
    const seen = new Set<string>();
    for (let page = 0; page < 4; page++) {
      for (const r of rank(input({ config: cfg, limit: 5, alreadyServed: new Set(seen) }))) seen.add(r.id);
    }
    expect(seen.size).toBe(19);
    expect(seen.has('i-04')).toBe(false);
  });

  it('filters from the config and the request both apply', () => {
    const cfg = config({
      score: { popularity: 0 },
      filters: { available: true, categories: { any: ['shoes'] } },
    });
    const out = rank(input({ config: cfg, filters: { price: { gte: 100 } }, limit: 20 }));
    expect(idsOf(out)).toEqual(['i-10', 'i-12', 'i-14', 'i-16', 'i-18']);
  });

  it('excludes context items (when configured), config ids and request ids', () => {
    const cfg = config({ score: { popularity: 0 }, exclude: { ids: ['i-01'] } });
    const out = rank(input({ config: cfg, contextIds: ['i-00'], exclude: ['i-02'] }));
    expect(idsOf(out).slice(0, 2)).toEqual(['i-03', 'i-04']);
    const keep = config({ score: { popularity: 0 }, exclude: { contextItems: false } });
    expect(rank(input({ config: keep, contextIds: ['i-00'] }))[0].id).toBe('i-00');
  });
});

describe('rank: paging', () => {
  it('pages without repeats and in the same order as one long list', () => {
    const all = idsOf(rank(input({ limit: 30 })));
    const served = new Set<string>();
    const pages: string[] = [];
    for (let p = 0; p < 3; p++) {
      const page = idsOf(rank(input({ limit: 7, alreadyServed: new Set(served) })));
      page.forEach((id) => served.add(id));
      pages.push(...page);
    }
    expect(pages).toEqual(all.slice(0, pages.length));
    expect(new Set(pages).size).toBe(pages.length);
    expect(pages).toHaveLength(20);
  });
});

describe('rank: explain', () => {
  it('reports sources and every score component, and only when asked', () => {
    const cfg = config({
      score: {
        similarity: 1,
        popularity: 0.5,
        boosts: [{ when: { field: 'categories', eq: 'shirts' }, multiply: 1.5 }],
      },
    });
    const out = rank(
      input({
        config: cfg,
        candidates: { similar: [{ id: 'i-01', score: 0.8 }], trending: [{ id: 'i-01', score: 3 }] },
        popularity: () => 3,
        explain: true,
      }),
    );
    expect(out[0].explain).toEqual({
      sources: ['similar', 'trending'],
      sourceScores: { similar: 0.8, trending: 1 },
      components: { similarity: 0.8, popularity: 1, freshness: 0, base: 1.3, boost: 1.5, bury: 1 },
      boosts: [0],
      buries: [],
    });
    expect(out[0].score).toBeCloseTo(1.3 * 1.5, 10);
    expect(rank(input())[0].explain).toBeUndefined();
  });
});

describe('rank: diversity', () => {
  it('holds the per-category cap and still fills the page', () => {
    const cfg = config({ score: { popularity: 0 }, diversity: { maxPerCategory: 2 } });
    const many = catalogue(
      Array.from({ length: 30 }, (_, i) => ({
        id: `c-${String(i).padStart(2, '0')}`,
        categories: [`cat-${i % 5}`],
      })),
    );
    const out = rank(
      input({
        config: cfg,
        item: (id) => many.get(id),
        candidates: { similar: [...many.keys()].map((id, i) => ({ id, score: 0.9 - i * 0.01 })) },
      }),
    );
    expect(out).toHaveLength(10);
    const counts = new Map<string, number>();
    for (const r of out) counts.set(r.item.categories![0], (counts.get(r.item.categories![0]) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBe(2);
    expect(counts.size).toBe(5);
  });

  it('MMR lowers the mean pairwise similarity of the list', () => {
    // Three tight clusters; cluster A holds the 10 best-scored items.
    const r = mulberry(3);
    const centres = [0, 1, 2].map(() => unit(Float32Array.from({ length: 64 }, () => r() - 0.5)));
    const vectors = new Map<string, Float32Array>();
    const cands: Candidate[] = [];
    for (let i = 0; i < 30; i++) {
      const id = `v-${String(i).padStart(2, '0')}`;
      const c = centres[i < 10 ? 0 : i < 20 ? 1 : 2];
      vectors.set(id, unit(c.map((x) => x + (r() - 0.5) * 0.1)));
      cands.push({ id, score: 0.9 - i * 0.005 });
    }
    const vItems = catalogue(cands.map((c) => ({ id: c.id })));
    const run = (mmrLambda: number): string[] =>
      idsOf(
        rank(
          input({
            config: config({ score: { popularity: 0 }, diversity: { mmrLambda } }),
            item: (id) => vItems.get(id),
            vector: (id) => vectors.get(id),
            candidates: { similar: cands },
          }),
        ),
      );
    const plain = run(1);
    const diverse = run(0.5);
    const sim = (list: string[]): number => meanPairwiseSimilarity(list.map((id) => vectors.get(id)!));
    expect(plain.every((id) => Number(id.slice(2)) < 10)).toBe(true);
    expect(diverse[0]).toBe('v-00');
    expect(sim(diverse)).toBeLessThan(sim(plain) - 0.3);
  });
});

describe('rank: speed', () => {
  it('ranks 500 candidates with MMR over 512-dim vectors for limit 10 well within budget', () => {
    const r = mulberry(11);
    const n = 500;
    const big = catalogue(
      Array.from({ length: n }, (_, i) => ({ id: `p-${i}`, categories: [`c${i % 20}`], price: i })),
    );
    const vectors = new Map(
      [...big.keys()].map((id) => [id, Float32Array.from({ length: 512 }, () => r() - 0.5)]),
    );
    const cfg = config({
      score: { popularity: 0.2, buries: [{ when: { field: 'price', gt: 400 }, multiply: 0.5 }] },
      diversity: { mmrLambda: 0.7, maxPerCategory: 3 },
    });
    const run = (): number =>
      rank(
        input({
          config: cfg,
          item: (id) => big.get(id),
          vector: (id) => vectors.get(id),
          popularity: (id) => id.length,
          candidates: { similar: [...big.keys()].map((id) => ({ id, score: r() })) },
        }),
      ).length;
    for (let i = 0; i < 5; i++) run();
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t = process.hrtime.bigint();
      expect(run()).toBe(10);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    expect(times[10]).toBeLessThan(20);
  });
});

function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
