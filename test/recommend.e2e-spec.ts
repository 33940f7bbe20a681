import * as path from 'node:path';
import { readMovies } from '../src/datasets/movielens';
import type { Item } from '../src/domain/item';
import { cosine } from '../src/domain/vector-math';
import { IndexRegistry } from '../src/index/index-registry';
import { RecommendationRepository } from '../src/recommend/recommendation.repository';
import { SHARED_DIR, startStack, waitFor, type Stack } from './support/stack';

jest.setTimeout(240_000);
// The first N movies (all ids these tests name are among them); E2E_MOVIES=all loads the whole set.
const MOVIES = process.env.E2E_MOVIES === 'all' ? Infinity : Number(process.env.E2E_MOVIES ?? 2000);

type Served = { id: string; score: number; item: Item; explain?: Record<string, any> };

describe('recommendations API on MovieLens (real Redis, model, index)', () => {
  let s: Stack;
  let movies: Item[];
  const C = '/v1/catalogues/movies';
  const rec = (body: Record<string, unknown>) => s.call('POST', `${C}/recommendations`, body);
  const ids = (r: { body: { items: Served[] } }) => r.body.items.map((i) => i.id);
  const registry = () => s.api.get(IndexRegistry);

  beforeAll(async () => {
    // A served list's lifetime is the operator's (cursor continuation and experiment attribution window).
    s = await startStack('recommend', { env: { RECOMMENDATION_TTL_SECONDS: '600' } });
    // createdAt from the release year, so new_arrivals and freshness have something to rank by.
    movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small'))
      .slice(0, MOVIES)
      .map((m) => {
        const year = m.attributes?.year;
        return typeof year === 'number' ? { ...m, createdAt: `${year}-06-01T00:00:00Z` } : m;
      });
    for (let i = 0; i < movies.length; i += 1000) {
      const r = await s.call('PUT', `${C}/items`, { items: movies.slice(i, i + 1000) });
      expect(r.status).toBe(202);
    }
    await waitFor(
      async () => {
        return (registry().get('movies')?.index.size ?? 0) === movies.length;
      },
      'every movie indexed',
      200_000,
      1000,
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('pages with a cursor: 5 pages of 10 are 50 distinct items, never the context item', async () => {
    const body = { itemIds: ['1'], limit: 10 };
    let r = await rec(body);
    expect(r.status).toBe(200);
    expect(r.body.config).toEqual({ name: 'default', version: 0 });
    expect(typeof r.body.recommId).toBe('string');
    const seen: string[] = [...ids(r)];
    for (let page = 2; page <= 5; page++) {
      expect(typeof r.body.cursor).toBe('string');
      const next = await rec({ ...body, cursor: r.body.cursor });
      expect(next.status).toBe(200);
      expect(next.body.recommId).toBe(r.body.recommId);
      expect(next.body.items).toHaveLength(10);
      seen.push(...ids(next));
      r = next;
    }
    expect(seen).toHaveLength(50);
    expect(new Set(seen).size).toBe(50);
    expect(seen).not.toContain('1');
    const ttl = await s.redis.ttl(`${s.config.REDIS_PREFIX}:cat:movies:recomm:${r.body.recommId}`);
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
    // Relevance first: page 1 opens with Toy Story's nearest neighbour.
    const nearest = await s.call('GET', `${C}/items/1/similar?limit=1`);
    expect(seen[0]).toBe(nearest.body.items[0].id);
  });

  it('answers without waiting for the served-list write, and a cursor read that comes first still continues it', async () => {
    const repo = s.api.get(RecommendationRepository);
    const save = repo.save.bind(repo);
    // The write lands 30 ms after the response (a busy replica or Redis): page 2 asked at once still continues it.
    const slow = jest.spyOn(repo, 'save').mockImplementationOnce(async (...args) => {
      await new Promise((r) => setTimeout(r, 30));
      return save(...args);
    });
    try {
      const first = await rec({ itemIds: ['50'], limit: 5 });
      expect(first.status).toBe(200);
      const second = await rec({ itemIds: ['50'], limit: 5, cursor: first.body.cursor });
      expect(second.status).toBe(200);
      expect(second.body.recommId).toBe(first.body.recommId);
      expect(ids(second).some((id) => ids(first).includes(id))).toBe(false);

      // A write that fails: the page is still served; its cursor answers 400, not 500.
      slow.mockImplementationOnce(() => Promise.reject(new Error('write failed')));
      const lost = await rec({ itemIds: ['50'], limit: 5 });
      expect(lost.status).toBe(200);
      expect(lost.body.items).toHaveLength(5);
      const next = await rec({ itemIds: ['50'], limit: 5, cursor: lost.body.cursor });
      expect(next.status).toBe(400);
      expect(next.body.message).toMatch(/cursor expired or unknown/i);
    } finally {
      slow.mockRestore();
    }
  });

  it('replays the same page for a retried cursor and rejects cursors from another request', async () => {
    const first = await rec({ itemIds: ['260'], limit: 5 });
    const a = await rec({ itemIds: ['260'], limit: 5, cursor: first.body.cursor });
    const again = await rec({ itemIds: ['260'], limit: 5, cursor: first.body.cursor });
    expect(ids(again)).toEqual(ids(a));
    expect(ids(a).filter((id) => ids(first).includes(id))).toEqual([]);

    const otherContext = await rec({ itemIds: ['1'], limit: 5, cursor: first.body.cursor });
    expect(otherContext.status).toBe(400);
    expect(otherContext.body.message).toMatch(/cursor/i);
    const garbage = await rec({ itemIds: ['260'], limit: 5, cursor: 'not-a-cursor' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.message).toMatch(/cursor/i);

    await s.call('PUT', '/v1/catalogues/other/items', { items: [{ id: 'x1', title: 'a lamp' }] });
    const elsewhere = await s.call('POST', '/v1/catalogues/other/recommendations', {
      itemIds: ['260'],
      limit: 5,
      cursor: first.body.cursor,
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.message).toMatch(/expired|unknown/);

    await s.redis.del(`${s.config.REDIS_PREFIX}:cat:movies:recomm:${first.body.recommId}`);
    const expired = await rec({ itemIds: ['260'], limit: 5, cursor: first.body.cursor });
    expect(expired.status).toBe(400);
    expect(expired.body.message).toMatch(/expired/);
  });

  it('moves toward positives and away from negatives', async () => {
    const index = registry().get('movies')!.index;
    // Toy Story (1) as positive; Alien (1214) as negative.
    const neg = index.vector('1214')!;
    const plain = await rec({ positive: ['1'], limit: 20 });
    const away = await rec({ positive: ['1'], negative: ['1214'], limit: 20 });
    expect(plain.status).toBe(200);
    expect(away.status).toBe(200);
    const meanSim = (list: string[]) =>
      list.reduce((sum, id) => sum + cosine(index.vector(id)!, neg), 0) / list.length;
    expect(meanSim(ids(away))).toBeLessThan(meanSim(ids(plain)));
    expect(ids(away)).not.toContain('1214');
    expect(ids(away)).not.toContain('1');
  });

  it('uses free text as a candidate source and explains every item only when asked', async () => {
    const r = await rec({ query: 'animated movie about toys that come alive', limit: 10, explain: true });
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBe(10);
    expect(r.body.items.some((i: Served) => /Toy Story/.test(i.item.title))).toBe(true);
    for (const i of r.body.items as Served[]) {
      expect(i.explain!.sources.length).toBeGreaterThan(0);
      expect(i.explain!.components).toEqual(
        expect.objectContaining({ similarity: expect.any(Number), base: expect.any(Number) }),
      );
    }
    expect(r.body.items.some((i: Served) => i.explain!.sources.includes('query'))).toBe(true);
    const quiet = await rec({ query: 'animated movie about toys that come alive', limit: 10 });
    expect(quiet.body.items.every((i: Served) => i.explain === undefined)).toBe(true);
    expect(ids(quiet)).toEqual(ids(r));
  });

  it('applies request filters and excludes to every source', async () => {
    const r = await rec({
      itemIds: ['1'],
      query: 'funny',
      filters: { categories: { any: ['Horror'] } },
      exclude: ['1214'],
      limit: 20,
    });
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBe(20);
    for (const i of r.body.items as Served[]) expect(i.item.categories).toContain('Horror');
    expect(ids(r)).not.toContain('1214');
  });

  it('serves new arrivals by createdAt', async () => {
    const put = await s.call('PUT', `${C}/ranking-configs/fresh`, {
      candidates: [{ source: 'new_arrivals', limit: 50 }],
      score: { similarity: 0, popularity: 0, freshness: { weight: 1, halfLifeDays: 365 } },
    });
    expect(put.status).toBe(200);
    const r = await rec({ config: 'fresh', limit: 10 });
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(10);
    const newest = Math.max(...movies.map((m) => (m.createdAt ? Date.parse(m.createdAt) : 0)));
    expect(Date.parse(r.body.items[0].item.createdAt)).toBe(newest);
    const times = r.body.items.map((i: Served) => Date.parse(i.item.createdAt!));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('lights up trending and the popularity component from the popularity sorted set', async () => {
    const put = await s.call('PUT', `${C}/ranking-configs/popular`, {
      candidates: [{ source: 'trending', limit: 20 }],
      score: { similarity: 0, popularity: 1 },
    });
    expect(put.status).toBe(200);
    expect((await rec({ config: 'popular', limit: 5 })).body.items).toEqual([]);
    const hot = ['2571', '356', '318', '296', '593', '260'];
    await s.redis.zadd(
      `${s.config.REDIS_PREFIX}:cat:movies:popularity`,
      ...hot.flatMap((id, i) => [String(100 - i * 10), id]),
    );
    // Trending pages and each replica's popularity copy are read again once SIGNALS_CACHE_MS (1 s) old, each on its
    // own: the change shows within about that long, in the list first or in the popularity component first.
    const r = await waitFor(
      async () => {
        const res = await rec({ config: 'popular', limit: 5, exclude: ['2571'], explain: true });
        return res.body.items.length > 0 && res.body.items[0].explain.components.popularity > 0 && res;
      },
      'trending to show the new popularity',
      5_000,
    );
    expect(ids(r)).toEqual(hot.slice(1, 6));
    expect(r.body.items[0].explain.components.popularity).toBe(1);
  });

  it('keeps plain similar working and applies a config to it', async () => {
    const plain = await s.call('GET', `${C}/items/1/similar?limit=10`);
    expect(plain.status).toBe(200);
    expect(plain.body.items).toHaveLength(10);
    const put = await s.call('PUT', `${C}/ranking-configs/horror-only`, {
      filters: { categories: { any: ['Horror'] } },
      diversity: { mmrLambda: 0.7 },
    });
    expect(put.status).toBe(200);
    const r = await s.call('GET', `${C}/items/1/similar?limit=10&config=horror-only`);
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(10);
    for (const i of r.body.items as Served[]) expect(i.item.categories).toContain('Horror');
    expect(ids(r)).not.toContain('1');
    expect((await s.call('GET', `${C}/items/1/similar?config=nope`)).status).toBe(404);
  });

  describe('validation', () => {
    it.each([
      ['unknown key', { itemIds: ['1'], colour: 'red' }, /colour/],
      ['limit 0', { limit: 0 }, /limit/],
      ['limit 101', { limit: 101 }, /limit/],
      ['query too long', { query: 'x'.repeat(1001) }, /query/],
      ['bad id', { itemIds: ['has space'] }, /itemIds\.0/],
      ['bad filter', { filters: { price: { gt: 'cheap' } } }, /filters\.price\.gt/],
      ['config and experiment', { config: 'default', experiment: 'e', userId: 'u' }, /experiment/],
    ])('%s → 400 naming the field', async (_name, body, pattern) => {
      const r = await rec(body);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.errors)).toMatch(pattern);
    });

    it('ignores unknown context ids, 404s an unknown config or catalogue', async () => {
      const r = await rec({ itemIds: ['no-such-movie'], positive: ['nor-this'], limit: 3 });
      expect(r.status).toBe(200);
      expect((await rec({ config: 'missing' })).status).toBe(404);
      expect((await s.call('POST', '/v1/catalogues/nope/recommendations', {})).status).toBe(404);
    });
  });
});
