import { CollaborativeProcessor } from '../src/jobs/collaborative.processor';
import { CollaborativeQueue } from '../src/jobs/collaborative.queue';
import { startStack, waitFor, type Stack } from './support/stack';

// Two groups of shoppers; each group uses its own products (titles share nothing, so only behaviour links them).
const KITCHEN = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
const GARDEN = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];

describe('collaborative source: a model trained from histories (over HTTP, real worker)', () => {
  let s: Stack;
  const C = '/v1/catalogues/shop';
  const send = (events: Record<string, unknown>[]) => s.call('POST', `${C}/events`, { events });
  const caughtUp = () =>
    waitFor(async () => (await s.call('GET', `${C}/events/lag`)).body?.pending === 0, 'upkeep lag 0');
  const version = async () => {
    const r = await s.call('GET', `${C}/models/collaborative`);
    return r.status === 200 ? (r.body as { version: number }).version : 0;
  };

  beforeAll(async () => {
    s = await startStack('collaborative');
    const items = [...KITCHEN, ...GARDEN].map((id, i) => ({ id, title: `Product number ${i}` }));
    expect(await s.call('PUT', `${C}/items`, { items })).toMatchObject({ status: 202 });
    const events: Record<string, unknown>[] = [];
    for (let u = 0; u < 24; u++) {
      const group = u % 2 === 0 ? KITCHEN : GARDEN;
      // Each shopper views four of their group's six products.
      for (let j = 0; j < 4; j++)
        events.push({
          type: 'view',
          userId: `u${u}`,
          itemId: group[(u + j) % 6],
          timestamp: 1_700_000_000 + u * 100 + j,
        });
    }
    expect((await send(events)).status).toBe(202);
    await caughtUp();
    const put = await s.call('PUT', `${C}/ranking-configs/collab-only`, {
      candidates: [{ source: 'collaborative', limit: 20 }],
      score: { popularity: 0 },
    });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await s.close();
  });

  it('has no model before training, answers 404 for an unknown catalogue, and trains on request', async () => {
    const none = await s.call('GET', `${C}/models/collaborative`);
    expect(none.status).toBe(404);
    expect(none.body.message).toMatch(/No collaborative model/);
    // Before a model exists the source is empty, not an error.
    const early = await s.call('POST', `${C}/recommendations`, {
      config: 'collab-only',
      userId: 'u0',
      limit: 5,
    });
    expect(early).toMatchObject({ status: 200, body: { items: [] } });
    expect((await s.call('POST', '/v1/catalogues/nope/models/collaborative/train')).status).toBe(404);

    const train = await s.call('POST', `${C}/models/collaborative/train`);
    expect(train.status).toBe(202);
    expect(train.body.jobId).toBe('collab-shop');
    await waitFor(async () => (await version()) === 1, 'model version 1');
    const meta = (await s.call('GET', `${C}/models/collaborative`)).body;
    expect(meta).toMatchObject({ version: 1, items: 12, users: 24, events: 96 });
    expect(Date.parse(meta.trainedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("recommends what a shopper's group uses, and says it came from the model", async () => {
    // A new shopper with kitchen views only (their history reaches the source through the default flow).
    await send([
      { type: 'view', userId: 'new', itemId: 'k1' },
      { type: 'view', userId: 'new', itemId: 'k2' },
    ]);
    await caughtUp();
    const r = await waitFor(
      async () => {
        const res = await s.call('POST', `${C}/recommendations`, {
          config: 'collab-only',
          userId: 'new',
          limit: 4,
          explain: true,
        });
        return res.status === 200 && res.body.items.length === 4 && res;
      },
      'collaborative recommendations',
      10_000,
    );
    const items = r.body.items as { id: string; explain: { sources: string[] } }[];
    expect(items.every((i) => KITCHEN.includes(i.id))).toBe(true);
    expect(items.every((i) => i.explain.sources.includes('collaborative'))).toBe(true);
    // Context items seed it too (an anonymous product page).
    const page = await s.call('POST', `${C}/recommendations`, {
      config: 'collab-only',
      itemIds: ['g3'],
      limit: 3,
    });
    expect(page.body.items.map((i: { id: string }) => i.id).every((id: string) => GARDEN.includes(id))).toBe(
      true,
    );
    // Filters apply to it like to every source.
    const filtered = await s.call('POST', `${C}/recommendations`, {
      config: 'collab-only',
      userId: 'new',
      exclude: ['k3', 'k4'],
      limit: 10,
    });
    expect(filtered.body.items.map((i: { id: string }) => i.id)).not.toEqual(expect.arrayContaining(['k3']));
  });

  it('retrains on schedule only once events moved on', async () => {
    const processor = s.worker!.get(CollaborativeProcessor);
    const before = await version();
    await processor.enqueueDue();
    // The two events above came after model 1: one retrain, then nothing is due.
    await waitFor(async () => (await version()) === before + 1, 'retrained after new events');
    await processor.enqueueDue();
    await new Promise((r) => setImmediate(r));
    const waiting = await s.worker!.get(CollaborativeQueue).queue.getJobCounts('waiting', 'active');
    expect(waiting.waiting + waiting.active).toBe(0);
    expect(await version()).toBe(before + 1);
  });
});
