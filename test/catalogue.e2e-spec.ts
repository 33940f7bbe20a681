import { EmbedQueue } from '../src/jobs/embed.queue';
import { call, startStack, waitFor, type Stack } from './support/stack';

describe('catalogue API (real Redis, real model, real index)', () => {
  let s: Stack;
  const C = '/v1/catalogues/shop';

  beforeAll(async () => {
    s = await startStack('catalogue');
  });
  afterAll(async () => {
    await s.close();
  });

  const indexed = (id: string) =>
    waitFor(async () => {
      const r = await s.call('GET', `${C}/items/${id}`);
      return r.body?.indexing?.state === 'indexed' ? r.body : undefined;
    }, `${id} indexed`);

  it('requires the API key on /v1 but not on /health', async () => {
    expect((await call(s.url, 'GET', `${C}/items/x`, undefined, {})).status).toBe(401);
    const wrong = await call(s.url, 'GET', `${C}/items/x`, undefined, { authorization: 'Bearer wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toMatch(/Invalid API key/);
    expect((await call(s.url, 'GET', '/health/live', undefined, {})).status).toBe(200);
  });

  it('stores items, embeds them, and serves semantic neighbours', async () => {
    const put = await s.call('PUT', `${C}/items`, {
      items: [
        { id: 'shoe-1', title: 'red running shoes', categories: ['shoes'], price: 89.5 },
        { id: 'shoe-2', title: 'crimson sneakers for jogging', categories: ['shoes'] },
        { id: 'pan-1', title: 'stainless steel frying pan', categories: ['kitchen'] },
        {
          id: 'pan-2',
          title: 'cast iron skillet',
          categories: ['kitchen'],
          attributes: { brand: 'acme', inch: 12 },
        },
      ],
    });
    expect(put).toEqual({ status: 202, body: { accepted: 4 } });
    const got = await indexed('pan-2');
    expect(got.item).toEqual({
      id: 'pan-2',
      title: 'cast iron skillet',
      categories: ['kitchen'],
      attributes: { brand: 'acme', inch: 12 },
      available: true,
    });
    expect(got.indexing.model).toBe('google/use-lite');
    await indexed('shoe-1');
    await indexed('shoe-2');
    await indexed('pan-1');
    await waitFor(
      async () => (await s.call('GET', `${C}/items/shoe-1/similar?limit=3`)).body.items?.length === 3,
      'index',
    );
    const sim = await s.call('GET', `${C}/items/shoe-1/similar?limit=3`);
    expect(sim.status).toBe(200);
    expect(sim.body.items.map((i: { id: string }) => i.id)).not.toContain('shoe-1');
    expect(sim.body.items[0].id).toBe('shoe-2');
    expect(sim.body.items[0].item.title).toBe('crimson sneakers for jogging');
    const scores = sim.body.items.map((i: { score: number }) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('does not embed again when the text did not change, and embeds a burst of updates once', async () => {
    const before = await s.call('GET', `${C}/items/pan-1`);
    await s.call('PUT', `${C}/items`, {
      items: [{ id: 'pan-1', title: 'stainless steel frying pan', categories: ['kitchen'], price: 20 }],
    });
    const after = await s.call('GET', `${C}/items/pan-1`);
    expect(after.body.item.price).toBe(20);
    expect(after.body.indexing).toEqual(before.body.indexing);

    const queue = s.worker!.get(EmbedQueue).queue;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        s.call('PUT', `${C}/items`, { items: [{ id: 'burst', title: 'wool winter hat' }] }),
      ),
    );
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'prioritized');
    expect(counts.waiting + counts.active + counts.delayed + counts.prioritized).toBeLessThanOrEqual(1);
    await indexed('burst');
  });

  it('deletes an item from the store and from every answer', async () => {
    await s.call('PUT', `${C}/items`, { items: [{ id: 'shoe-3', title: 'scarlet trail running shoes' }] });
    await indexed('shoe-3');
    await waitFor(
      async () =>
        (await s.call('GET', `${C}/items/shoe-1/similar?limit=10`)).body.items?.some(
          (i: { id: string }) => i.id === 'shoe-3',
        ),
      'shoe-3 served',
    );
    expect((await s.call('DELETE', `${C}/items/shoe-3`)).status).toBe(204);
    expect((await s.call('GET', `${C}/items/shoe-3`)).status).toBe(404);
    expect((await s.call('DELETE', `${C}/items/shoe-3`)).status).toBe(404);
    for (let i = 0; i < 20; i++) {
      const ids = (await s.call('GET', `${C}/items/shoe-1/similar?limit=100`)).body.items.map(
        (x: { id: string }) => x.id,
      );
      expect(ids).not.toContain('shoe-3');
    }
  });

  it('answers 404 for an unknown catalogue or item', async () => {
    expect((await s.call('GET', '/v1/catalogues/nope/items/x')).status).toBe(404);
    expect((await s.call('GET', `${C}/items/missing`)).status).toBe(404);
    expect((await s.call('GET', `${C}/items/missing/similar`)).status).toBe(404);
    expect((await s.call('DELETE', '/v1/catalogues/nope/items/x')).status).toBe(404);
  });

  describe('rejects bad input with a 4xx naming the field, and writes nothing of the batch', () => {
    const good = { id: 'fresh-1', title: 'a fine new lamp' };
    const cases: [string, unknown, RegExp, number?][] = [
      [
        'wrong types',
        { items: [good, { id: 'fresh-2', title: 5, price: 'ten' }] },
        /items\.1\.title.*items\.1\.price|items\.1\.price.*items\.1\.title/s,
      ],
      ['over-long title', { items: [good, { id: 'fresh-2', title: 'x'.repeat(1001) }] }, /items\.1\.title/],
      [
        'over-long description',
        { items: [good, { id: 'fresh-2', title: 't', description: 'x'.repeat(10001) }] },
        /items\.1\.description/,
      ],
      [
        '1001 items',
        { items: Array.from({ length: 1001 }, (_, i) => ({ id: `many-${i}`, title: 't' })) },
        /"path":"items"/,
      ],
      ['bad id', { items: [good, { id: 'has space', title: 't' }] }, /items\.1\.id/],
      ['over-long id', { items: [good, { id: 'x'.repeat(257), title: 't' }] }, /items\.1\.id/],
      [
        'nested attributes',
        { items: [good, { id: 'fresh-2', title: 't', attributes: { dims: { w: 1 } } }] },
        /items\.1\.attributes\.dims/,
      ],
      ['negative price', { items: [good, { id: 'fresh-2', title: 't', price: -1 }] }, /items\.1\.price/],
      [
        'bad createdAt',
        { items: [good, { id: 'fresh-2', title: 't', createdAt: 'yesterday' }] },
        /items\.1\.createdAt/,
      ],
      ['unknown field', { items: [good, { id: 'fresh-2', title: 't', colour: 'red' }] }, /colour/],
      ['missing title', { items: [good, { id: 'fresh-2' }] }, /items\.1\.title/],
      ['empty batch', { items: [] }, /"path":"items"/],
      ['no items key', { products: [] }, /items/],
    ];
    it.each(cases)('%s', async (_name, body, pattern) => {
      const r = await s.call('PUT', `${C}/items`, body);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(pattern);
      expect((await s.call('GET', `${C}/items/fresh-1`)).status).toBe(404);
    });

    it('bad JSON', async () => {
      const r = await s.call('PUT', `${C}/items`, '{"items": [ {"id": "fresh-1", ');
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/JSON/);
    });

    it('a bad catalogue name', async () => {
      const r = await s.call('PUT', '/v1/catalogues/Bad Name!/items', { items: [good] });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(/catalogue/);
    });

    it('an oversized body', async () => {
      const r = await s.call(
        'PUT',
        `${C}/items`,
        JSON.stringify({ items: [good], pad: 'x'.repeat(s.config.BODY_LIMIT_BYTES) }),
      );
      expect(r.status).toBe(413);
      expect(r.body.message).toMatch(/too large/);
    });

    it('a bad limit', async () => {
      for (const limit of ['0', '101', 'abc', '1.5']) {
        const r = await s.call('GET', `${C}/items/shoe-1/similar?limit=${limit}`);
        expect(r.status).toBe(400);
        expect(JSON.stringify(r.body)).toMatch(/limit/);
      }
    });
  });
});
