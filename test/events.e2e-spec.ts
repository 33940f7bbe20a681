import { startStack, waitFor, type Stack } from './support/stack';

describe('events API (ingest, idempotency, upkeep by the worker)', () => {
  let s: Stack;
  const C = '/v1/catalogues/ev';
  const key = (suffix: string) => `${s.config.REDIS_PREFIX}:cat:ev:${suffix}`;

  beforeAll(async () => {
    s = await startStack('events');
    const put = await s.call('PUT', `${C}/items`, {
      items: ['a', 'b', 'c', 'd'].map((id) => ({ id, title: `item ${id}` })),
    });
    expect(put.status).toBe(202);
  });
  afterAll(async () => {
    await s.close();
  });

  const caughtUp = () =>
    waitFor(async () => {
      const r = await s.call('GET', `${C}/events/lag`);
      return r.status === 200 && r.body.pending === 0 ? r.body : undefined;
    }, 'upkeep lag 0');

  it('rejects bad batches with every error named', async () => {
    const empty = await s.call('POST', `${C}/events`, { events: [] });
    expect(empty.status).toBe(400);
    const bad = await s.call('POST', `${C}/events`, {
      events: [
        { type: 'teleport', itemId: 'a' },
        { type: 'rating', itemId: 'a' },
        { type: 'view', itemId: 'a', timestamp: 'yesterday' },
      ],
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['events.0.type', 'events.1.value', 'events.2.timestamp']));
    const tooMany = await s.call('POST', `${C}/events`, {
      events: Array.from({ length: 1001 }, () => ({ type: 'view', itemId: 'a' })),
    });
    expect(tooMany.status).toBe(400);
    expect(
      (await s.call('POST', '/v1/catalogues/nope/events', { events: [{ type: 'view', itemId: 'a' }] }))
        .status,
    ).toBe(404);
  });

  it('accepts unknown items (counted, not applied) and keeps popularity, history and co-occurrence', async () => {
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    const r = await s.call('POST', `${C}/events`, {
      events: [
        { type: 'view', userId: 'u1', sessionId: 's1', itemId: 'a', timestamp: t0 },
        { type: 'add_to_cart', userId: 'u1', sessionId: 's1', itemId: 'b', timestamp: t0 / 1000 + 60 },
        { type: 'purchase', userId: 'u1', sessionId: 's1', itemId: 'b', timestamp: '2026-11-01T10:02:00Z' },
        { type: 'view', userId: 'u1', itemId: 'ghost', timestamp: t0 + 180_000 },
        { type: 'impression', userId: 'u1', itemId: 'c', timestamp: t0 + 200_000 },
      ],
    });
    expect(r).toEqual({ status: 202, body: { accepted: 5, unknownItems: 1, duplicates: 0 } });
    const lag = await caughtUp();
    expect(lag.applied).toBeGreaterThanOrEqual(4);

    expect(await s.redis.zscore(key('popularity'), 'ghost')).toBeNull();
    expect(await s.redis.zscore(key('popularity'), 'c')).toBeNull();
    const pop = await s.redis.zrevrange(key('popularity'), 0, -1);
    expect(pop).toEqual(['b', 'a']);
    const hist = await s.redis.lrange(key('hist:u:u1'), 0, -1);
    expect(hist.map((h) => h.split('|')[0])).toEqual(['b', 'b', 'a']);
    expect(await s.redis.ttl(key('hist:s:s1'))).toBeGreaterThan(0);

    const together = await s.call('GET', `${C}/items/a/bought-together?limit=5`);
    expect(together.status).toBe(200);
    expect(together.body.items.map((i: { id: string }) => i.id)).toEqual(['b']);
    expect(together.body.items[0].item.title).toBe('item b');
  });

  it('does not double-count a retried eventId', async () => {
    const batch = {
      events: [
        { type: 'purchase', userId: 'u2', itemId: 'd', eventId: 'evt-1' },
        { type: 'purchase', userId: 'u2', itemId: 'd', eventId: 'evt-2' },
      ],
    };
    expect((await s.call('POST', `${C}/events`, batch)).body).toEqual({
      accepted: 2,
      unknownItems: 0,
      duplicates: 0,
    });
    await caughtUp();
    const once = Number(await s.redis.zscore(key('popularity'), 'd'));
    expect(once).toBeGreaterThan(0);
    // The client timed out and sends the same batch again.
    expect((await s.call('POST', `${C}/events`, batch)).body).toEqual({
      accepted: 0,
      unknownItems: 0,
      duplicates: 2,
    });
    await caughtUp();
    expect(Number(await s.redis.zscore(key('popularity'), 'd'))).toBe(once);
    expect(await s.redis.llen(key('hist:u:u2'))).toBe(2);
  });

  it('attributes events with a recommId to the experiment variant that served them', async () => {
    expect(
      (await s.call('PUT', `${C}/ranking-configs/pop`, { score: { popularity: 1 } })).status,
    ).toBeLessThan(300);
    const exp = await s.call('PUT', `${C}/experiments/homepage`, {
      variants: [
        { config: 'default', weight: 1, name: 'control' },
        { config: 'pop', weight: 1, name: 'popular' },
      ],
    });
    expect(exp.status).toBeLessThan(300);
    const served = new Map<string, { recommId: string; items: string[] }>();
    for (let u = 0; served.size < 2 && u < 50; u++) {
      const r = await s.call('POST', `${C}/recommendations`, {
        userId: `x${u}`,
        experiment: 'homepage',
        limit: 2,
      });
      expect(r.status).toBe(200);
      if (!served.has(r.body.variant.name))
        served.set(r.body.variant.name, {
          recommId: r.body.recommId,
          items: r.body.items.map((i: { id: string }) => i.id),
        });
    }
    expect([...served.keys()].sort()).toEqual(['control', 'popular']);
    const c = served.get('control')!;
    const p = served.get('popular')!;
    const events = [
      ...c.items.map((itemId) => ({ type: 'impression', itemId, recommId: c.recommId })),
      ...p.items.map((itemId) => ({ type: 'impression', itemId, recommId: p.recommId })),
      { type: 'click', itemId: p.items[0], recommId: p.recommId },
      { type: 'purchase', itemId: p.items[0], recommId: p.recommId },
      { type: 'view', itemId: 'a', recommId: 'not-served' },
    ];
    expect((await s.call('POST', `${C}/events`, { events })).status).toBe(202);
    await caughtUp();
    const report = await s.call('GET', `${C}/experiments/homepage/report`);
    expect(report.status).toBe(200);
    expect(report.body.control).toBe('control');
    const [ctl, pop] = report.body.variants;
    expect(ctl).toMatchObject({ variant: 'control', impressions: c.items.length, clicks: 0, ctr: 0 });
    expect(pop).toMatchObject({ variant: 'popular', impressions: p.items.length, clicks: 1, purchases: 1 });
    expect(pop.vsControl.ctr.difference).toBeCloseTo(1 / p.items.length, 6);
    expect(pop.vsControl.ctr.ci95).toHaveLength(2);
    expect((await s.call('GET', `${C}/experiments/nope/report`)).status).toBe(404);
  });

  it('reports zero lag once caught up', async () => {
    const lag = await s.call('GET', `${C}/events/lag`);
    expect(lag.body).toEqual({ pending: 0, secondsBehind: 0, applied: expect.any(Number) });
  });
});
