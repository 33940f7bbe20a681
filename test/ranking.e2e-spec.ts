import * as path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../src/bootstrap';
import { readMovies } from '../src/datasets/movielens';
import type { Item } from '../src/domain/item';
import { IndexRegistry } from '../src/index/index-registry';
import { call, SHARED_DIR, startStack, waitFor, type Stack } from './support/stack';

jest.setTimeout(240_000);
// The first N movies are plenty for config behaviour; E2E_MOVIES=all loads the whole set.
const MOVIES = process.env.E2E_MOVIES === 'all' ? Infinity : Number(process.env.E2E_MOVIES ?? 800);

type Served = { id: string; score: number; item: Item };

describe('ranking configs, compare and experiments on MovieLens', () => {
  let s: Stack;
  let replica: NestFastifyApplication | undefined;
  const C = '/v1/catalogues/movies';
  const rec = (body: Record<string, unknown>) => s.call('POST', `${C}/recommendations`, body);
  const ids = (r: { body: { items: Served[] } }) => r.body.items.map((i) => i.id);
  const context = { itemIds: ['1'], limit: 10 };
  const dramaBoost = {
    score: { boosts: [{ when: { field: 'categories', contains: 'Drama' }, multiply: 50 }] },
  };

  beforeAll(async () => {
    s = await startStack('ranking');
    const movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small')).slice(0, MOVIES);
    for (let i = 0; i < movies.length; i += 1000) {
      expect((await s.call('PUT', `${C}/items`, { items: movies.slice(i, i + 1000) })).status).toBe(202);
    }
    await waitFor(
      async () => (s.api.get(IndexRegistry).get('movies')?.index.size ?? 0) === movies.length,
      'every movie indexed',
      200_000,
      500,
    );
  });
  afterAll(async () => {
    await replica?.close();
    await s?.close();
  });

  it('has a built-in default config for every catalogue', async () => {
    const r = await s.call('GET', `${C}/ranking-configs/default`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'default', version: 0, builtIn: true, history: [] });
    expect(r.body.config.candidates.length).toBeGreaterThan(0);
    expect((await s.call('GET', `${C}/ranking-configs/missing`)).status).toBe(404);
    expect((await s.call('GET', '/v1/catalogues/nope/ranking-configs/default')).status).toBe(404);
  });

  it('rejects an invalid config listing every error, and stores nothing', async () => {
    const r = await s.call('PUT', `${C}/ranking-configs/broken`, {
      candidates: [{ source: 'telepathy', limit: 0 }],
      score: { similarity: -1 },
      diversity: { mmrLambda: 2 },
      colour: 'red',
    });
    expect(r.status).toBe(400);
    const paths = (r.body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'candidates.0.source',
        'candidates.0.limit',
        'score.similarity',
        'diversity.mmrLambda',
      ]),
    );
    expect(JSON.stringify(r.body.errors)).toMatch(/colour/);
    expect((await s.call('GET', `${C}/ranking-configs/broken`)).status).toBe(404);
  });

  it('versions configs: a change is visible on the next request, rollback restores the old list', async () => {
    const v1 = await s.call('PUT', `${C}/ranking-configs/homepage`, {});
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ name: 'homepage', version: 1 });
    const a = await rec({ ...context, config: 'homepage' });
    expect(a.body.config).toEqual({ name: 'homepage', version: 1 });

    const v2 = await s.call('PUT', `${C}/ranking-configs/homepage`, dramaBoost);
    expect(v2.body.version).toBe(2);
    const b = await rec({ ...context, config: 'homepage' });
    expect(b.body.config).toEqual({ name: 'homepage', version: 2 });
    expect(ids(b)).not.toEqual(ids(a));
    for (const i of b.body.items as Served[]) expect(i.item.categories).toContain('Drama');

    const got = await s.call('GET', `${C}/ranking-configs/homepage`);
    expect(got.body).toMatchObject({ name: 'homepage', version: 2, builtIn: false });
    expect(got.body.history.map((h: { version: number }) => h.version)).toEqual([1, 2]);
    expect(got.body.config.score.boosts).toHaveLength(1);

    const rb = await s.call('POST', `${C}/ranking-configs/homepage/rollback`, { version: 1 });
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({ name: 'homepage', version: 3, rollbackOf: 1 });
    const c = await rec({ ...context, config: 'homepage' });
    expect(c.body.config).toEqual({ name: 'homepage', version: 3 });
    expect(ids(c)).toEqual(ids(a));

    expect((await s.call('POST', `${C}/ranking-configs/homepage/rollback`, { version: 99 })).status).toBe(
      404,
    );
    expect((await s.call('POST', `${C}/ranking-configs/homepage/rollback`, { version: 'x' })).status).toBe(
      400,
    );
  });

  it('reaches another API replica within a second, without a restart', async () => {
    replica = await createApiApp(s.config, false);
    await replica.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(replica.getHttpServer().address() as { port: number }).port}`;
    const version = async () =>
      (await call(url, 'POST', `${C}/recommendations`, { config: 'homepage', limit: 1 })).body.config
        ?.version as number | undefined;
    const before = await version();
    expect(before).toBeGreaterThanOrEqual(1);
    // Cached on the replica now; only pub/sub can tell it about the next version.
    const put = await s.call('PUT', `${C}/ranking-configs/homepage`, dramaBoost);
    await waitFor(
      async () => (await version()) === put.body.version,
      'replica sees the new version',
      1000,
      20,
    );
    await s.call('POST', `${C}/ranking-configs/homepage/rollback`, { version: 1 });
  });

  it('compares two configs side by side with overlap@k and rank correlation', async () => {
    const a = await rec({ ...context, config: 'homepage' });
    await s.call('PUT', `${C}/ranking-configs/drama`, dramaBoost);
    const b = await rec({ ...context, config: 'drama' });
    const r = await s.call('POST', `${C}/ranking-configs/compare`, {
      a: { name: 'homepage' },
      b: { name: 'drama', version: 1 },
      request: context,
    });
    expect(r.status).toBe(200);
    expect(r.body.a.items.map((i: Served) => i.id)).toEqual(ids(a));
    expect(r.body.b.items.map((i: Served) => i.id)).toEqual(ids(b));
    const common = ids(a).filter((id) => ids(b).includes(id)).length;
    expect(r.body.k).toBe(10);
    expect(r.body.overlapAtK).toBeCloseTo(common / 10, 6);
    expect(r.body.overlapAtK).toBeLessThan(1);
    expect(r.body.kendallTau).toBeGreaterThanOrEqual(-1);
    expect(r.body.kendallTau).toBeLessThan(1);
    expect(r.body.rows).toHaveLength(10);
    expect(r.body.rows[0]).toEqual({ position: 1, a: ids(a)[0], b: ids(b)[0] });

    const same = await s.call('POST', `${C}/ranking-configs/compare`, {
      a: { name: 'homepage' },
      b: { config: {} },
      request: context,
    });
    expect(same.body).toMatchObject({ overlapAtK: 1, kendallTau: 1, onlyInA: [], onlyInB: [] });

    const bad = await s.call('POST', `${C}/ranking-configs/compare`, {
      a: { name: 'homepage' },
      b: { config: { diversity: { mmrLambda: 5 } } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.errors)).toMatch(/b\.config\.diversity\.mmrLambda/);
    const missing = await s.call('POST', `${C}/ranking-configs/compare`, {
      a: { name: 'homepage' },
      b: { name: 'nope' },
    });
    expect(missing.status).toBe(404);
  });

  it('assigns experiment variants deterministically per user and says which', async () => {
    const bad = await s.call('PUT', `${C}/experiments/ab`, {
      variants: [
        { config: 'homepage', weight: 1 },
        { config: 'ghost', weight: 1 },
      ],
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.errors)).toMatch(/variants\.1\.config/);

    const put = await s.call('PUT', `${C}/experiments/ab`, {
      variants: [
        { config: 'homepage', weight: 1, name: 'control' },
        { config: 'drama', weight: 1, name: 'treatment' },
      ],
    });
    expect(put.status).toBe(200);
    expect((await s.call('GET', `${C}/experiments/ab`)).body.variants).toHaveLength(2);

    const seen = new Map<string, string>();
    for (let u = 0; u < 24; u++) {
      const body = { ...context, experiment: 'ab', userId: `user-${u}` };
      const r = await rec(body);
      expect(r.status).toBe(200);
      const again = await rec(body);
      expect(again.body.variant).toEqual(r.body.variant);
      expect(r.body.variant.experiment).toBe('ab');
      expect(r.body.config.name).toBe(r.body.variant.name === 'control' ? 'homepage' : 'drama');
      seen.set(`user-${u}`, r.body.variant.name as string);
    }
    expect(new Set(seen.values())).toEqual(new Set(['control', 'treatment']));

    const bySession = await rec({ ...context, experiment: 'ab', sessionId: 's-1' });
    expect(['control', 'treatment']).toContain(bySession.body.variant.name);
    expect((await rec({ ...context, experiment: 'ab' })).status).toBe(400);
    expect((await rec({ ...context, experiment: 'nope', userId: 'u' })).status).toBe(404);
  });
});
