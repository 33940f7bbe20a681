import { startStack, waitFor, type Stack } from './support/stack';

const SCIFI = [
  ['sf-1', 'Star Raiders: a space battle among distant galaxies'],
  ['sf-1b', 'Star Raiders: a space battle among distant galaxies (extended edition)'],
  ['sf-2', 'Alien invasion of Mars colony, science fiction thriller'],
  ['sf-3', 'Robots and androids rebel on a starship'],
  ['sf-4', 'Time travel paradox in a futuristic space station'],
  ['sf-5', 'Astronauts explore a black hole in deep space'],
  ['sf-6', 'Cyborg bounty hunter in a dystopian future city'],
  ['sf-7', 'Interstellar war between alien empires'],
  ['sf-8', 'Spaceship crew stranded on an alien planet'],
];
const ROMANCE = [
  ['ro-1', 'A romantic comedy about a wedding in Paris'],
  ['ro-2', 'Two lovers meet again at a summer beach romance'],
  ['ro-3', 'Heartwarming love story of a baker and a florist'],
  ['ro-4', 'A bride runs away before her wedding day, romantic comedy'],
  ['ro-5', 'Love letters across the years, a romantic drama'],
  ['ro-6', 'First date disasters in New York, a romance'],
];
const COOKING = [
  ['ck-1', 'Italian pasta cooking documentary'],
  ['ck-2', 'Baking bread at home, a cooking show'],
  ['ck-3', 'Street food of Bangkok, culinary documentary'],
  ['ck-4', 'French pastry chefs competition, cooking'],
];

describe('personalised recommendations from events (default config, over HTTP)', () => {
  let s: Stack;
  const C = '/v1/catalogues/films';
  const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((i) => i.id);
  const rec = (body: Record<string, unknown>) => s.call('POST', `${C}/recommendations`, body);
  const send = (events: Record<string, unknown>[]) => s.call('POST', `${C}/events`, { events });
  const caughtUp = () =>
    waitFor(async () => (await s.call('GET', `${C}/events/lag`)).body?.pending === 0, 'upkeep lag 0');

  beforeAll(async () => {
    s = await startStack('personalised');
    const items = [
      ...SCIFI.map(([id, title]) => ({ id, title, categories: ['sci-fi'] })),
      ...ROMANCE.map(([id, title]) => ({ id, title, categories: ['romance'] })),
      ...COOKING.map(([id, title]) => ({ id, title, categories: ['cooking'] })),
    ];
    const put = await s.call('PUT', `${C}/items`, { items });
    expect(put).toMatchObject({ status: 202 });
    await waitFor(async () => {
      const r = await rec({ itemIds: ['sf-1'], limit: 30 });
      return r.status === 200 && r.body.items.length === items.length - 1;
    }, 'all items indexed');
    // Other shoppers make romance and cooking the trending items.
    const crowd: Record<string, unknown>[] = [];
    for (let u = 0; u < 8; u++)
      for (const [id] of [...ROMANCE, ...COOKING.slice(0, 2)])
        crowd.push({ type: 'view', userId: `crowd-${u}`, itemId: id });
    crowd.push(...ROMANCE.slice(0, 3).map(([id]) => ({ type: 'purchase', userId: 'crowd-0', itemId: id })));
    expect((await send(crowd)).status).toBe(202);
    await caughtUp();
  });
  afterAll(async () => {
    await s.close();
  });

  it('gives a new user the trending items', async () => {
    // The indexing poll above read trending before the crowd's events; pages are shared for up to 1 s.
    const r = await waitFor(
      async () => {
        const res = await rec({ userId: 'newcomer', limit: 5 });
        return res.status === 200 && res.body.items.length === 5 && res;
      },
      'trending items for a new user',
      5_000,
    );
    // The most popular items (ties in any order): their popularity equals the top of the sorted set.
    const key = `${s.config.REDIS_PREFIX}:cat:films:popularity`;
    const top = (await s.redis.zrevrange(key, 0, 4, 'WITHSCORES')).filter((_, i) => i % 2 === 1);
    const served = await Promise.all(ids(r).map((id) => s.redis.zscore(key, id)));
    expect(served.sort((a, b) => Number(b) - Number(a))).toEqual(top);
  });

  it('leans sci-fi after a user views sci-fi films, and drops a disliked film and its near duplicate', async () => {
    const before = await rec({ userId: 'fan', limit: 6 });
    expect(ids(before).filter((id) => id.startsWith('sf-')).length).toBeLessThan(3);

    expect(
      (await send(['sf-2', 'sf-3', 'sf-5'].map((itemId) => ({ type: 'view', userId: 'fan', itemId }))))
        .status,
    ).toBe(202);
    await caughtUp();
    const after = await rec({ userId: 'fan', limit: 6 });
    expect(after.status).toBe(200);
    const scifi = ids(after).filter((id) => id.startsWith('sf-'));
    expect(scifi.length).toBeGreaterThanOrEqual(4);
    expect(ids(after)[0]).toMatch(/^sf-/);

    const wide = await rec({ userId: 'fan', limit: 12, exclude: ['sf-2', 'sf-3', 'sf-5'] });
    expect(ids(wide)).toEqual(expect.arrayContaining(['sf-1', 'sf-1b']));

    expect((await send([{ type: 'dislike', userId: 'fan', itemId: 'sf-1' }])).status).toBe(202);
    await caughtUp();
    const disliked = await rec({ userId: 'fan', limit: 12, exclude: ['sf-2', 'sf-3', 'sf-5'] });
    expect(ids(disliked)).not.toContain('sf-1');
    expect(ids(disliked)).not.toContain('sf-1b');
    expect(ids(disliked).filter((id) => id.startsWith('sf-')).length).toBeGreaterThanOrEqual(4);
  });

  it('personalises an anonymous session from sessionItemIds the same way', async () => {
    const r = await rec({ sessionId: 'anon-1', sessionItemIds: ['ck-3', 'ck-4'], limit: 4 });
    expect(r.status).toBe(200);
    expect(ids(r).filter((id) => id.startsWith('ck-')).length).toBeGreaterThanOrEqual(2);
  });

  it('recommends what others bought together with the session items', async () => {
    await send([
      { type: 'view', sessionId: 'shop-1', itemId: 'ck-1' },
      { type: 'purchase', sessionId: 'shop-1', itemId: 'ro-6' },
      { type: 'view', sessionId: 'shop-2', itemId: 'ck-1' },
      { type: 'purchase', sessionId: 'shop-2', itemId: 'ro-6' },
    ]);
    await caughtUp();
    const together = await s.call('GET', `${C}/items/ck-1/bought-together?limit=3`);
    expect(together.body.items[0].id).toBe('ro-6');
    const r = await rec({ sessionId: 'shop-3', sessionItemIds: ['ck-1'], limit: 3 });
    expect(ids(r)).toContain('ro-6');
  });

  it('leaves out what the user bought (exclude.purchased) and saw lately (exclude.seenWithinHours)', async () => {
    const now = Date.now();
    await send([
      {
        type: 'purchase',
        userId: 'buyer',
        itemId: 'ro-1',
        timestamp: new Date(now - 30 * 86_400_000).toISOString(),
      },
      { type: 'view', userId: 'buyer', itemId: 'ro-2', timestamp: new Date(now - 3_600_000).toISOString() },
      {
        type: 'view',
        userId: 'buyer',
        itemId: 'ro-3',
        timestamp: new Date(now - 5 * 86_400_000).toISOString(),
      },
    ]);
    await caughtUp();
    const all = { userId: 'buyer', limit: 30 };
    const plain = ids(await rec(all));
    expect(plain).toEqual(expect.arrayContaining(['ro-1', 'ro-2', 'ro-3']));
    const put = await s.call('PUT', `${C}/ranking-configs/no-repeats`, {
      exclude: { purchased: true, seenWithinHours: 24 },
    });
    expect(put.status).toBeLessThan(300);
    const served = ids(await rec({ ...all, config: 'no-repeats' }));
    expect(served).not.toContain('ro-1');
    expect(served).not.toContain('ro-2');
    // Seen five days ago is outside the 24-hour window, and other users are not affected.
    expect(served).toContain('ro-3');
    expect(ids(await rec({ userId: 'newcomer', limit: 30, config: 'no-repeats' }))).toContain('ro-1');
    const invalid = await s.call('PUT', `${C}/ranking-configs/bad-window`, {
      exclude: { seenWithinHours: -1 },
    });
    expect(invalid.status).toBe(400);
  });

  it('drops near duplicates of every dislike on a cold first request, with more dislikes than it walks at once', async () => {
    // Items no request has asked around yet: their neighbour lists are not kept, so the user's first request finds
    // more dislikes without a list than it walks (8) and compares the rest with its candidates.
    const treasure = 'Deep sea treasure hunt with pirate divers';
    const others = [
      'Medieval castle siege with knights and dragons',
      'Jazz musicians on a road trip through the south',
      'A chess prodigy in a Cold War tournament',
      'Wildlife documentary of the Arctic tundra',
      'Courtroom drama about a wrongful conviction',
      'Vintage car restoration in a small garage',
      'Mountain climbers caught in an avalanche',
      'A haunted lighthouse on a stormy island',
      'Teenage skateboarders form a punk band',
      'Farmers fight a drought in the dust bowl',
    ];
    const items = [
      { id: 'tr-1', title: treasure, categories: ['adventure'] },
      { id: 'tr-1b', title: `${treasure} (extended edition)`, categories: ['adventure'] },
      { id: 'tr-1c', title: `${treasure} (director's cut)`, categories: ['adventure'] },
      ...others.map((title, i) => ({ id: `ot-${i}`, title, categories: ['other'] })),
    ];
    expect((await s.call('PUT', `${C}/items`, { items })).status).toBe(202);
    // Without dislikes, both duplicates lead the list around the third one (this asks around tr-1c only).
    await waitFor(async () => {
      const r = await rec({ itemIds: ['tr-1c'], limit: 2 });
      return r.status === 200 && ids(r).sort().join() === 'tr-1,tr-1b';
    }, 'the treasure items indexed');

    // A crowd makes tr-1b the top trending item. The user's ten other dislikes come first (oldest), then tr-1:
    // trending reaches the user minus the dislikes and their near duplicates.
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const events = [
      ...Array.from({ length: 30 }, (_, u) => ({ type: 'view', userId: `fans-${u}`, itemId: 'tr-1b' })),
      ...[...others.map((_, i) => `ot-${i}`), 'tr-1'].map((itemId, i) => ({
        type: 'dislike',
        userId: 'picky',
        itemId,
        timestamp: at(60 - i),
      })),
    ];
    expect((await send(events)).status).toBe(202);
    await caughtUp();
    // Without the dislikes, tr-1b leads (trending pages are shared for up to a second).
    await waitFor(async () => {
      const r = await rec({ userId: 'nobody-yet', limit: 5 });
      return r.status === 200 && ids(r)[0] === 'tr-1b';
    }, 'tr-1b trending');
    const first = await rec({ userId: 'picky', limit: 5 });
    expect(first.status).toBe(200);
    expect(ids(first)).toHaveLength(5);
    expect(ids(first)).not.toContain('tr-1');
    expect(ids(first)).not.toContain('tr-1b');
    expect(ids(first).filter((id) => id.startsWith('ot-'))).toEqual([]);
    // Later requests (the lists walked by then) answer the same way.
    const again = await rec({ userId: 'picky', limit: 5 });
    expect(ids(again)).toEqual(ids(first));
  });
});
