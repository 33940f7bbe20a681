// Against a real Redis (REDIS_URL, default 127.0.0.1:6379), under this file's own key prefix.
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import { parseConfig } from '../config/config';
import type { QueuedEvent } from '../events/events.dto';
import { excludedFromHistory } from '../domain/personalization/exclusions';
import { CollaborativeModels } from '../events/collaborative-models';
import { CollaborativeRepository } from '../events/collaborative.repository';
import { EventsRepository, SIGNALS_GROUP } from '../events/events.repository';
import { EventSignalsReader } from '../events/signals.reader';
import { IndexRegistry } from '../index/index-registry';
import { RankingConfigRepository } from '../ranking/ranking-config.repository';
import { deleteKeys } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { NeighbourCache } from '../domain/neighbour-cache';
import { APPLY_SIGNALS, READ_SIGNALS, SignalsProcessor } from './signals.processor';

const DAY = 86400;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('SignalsProcessor (real Redis)', () => {
  const config = parseConfig({
    ...process.env,
    ADMIN_API_KEY: 'signals-spec-key-0123',
    REDIS_PREFIX: `t-signals-spec-${randomBytes(4).toString('hex')}`,
    SIGNALS_LEASE_MS: '60000',
    LOG_LEVEL: 'error',
  });
  const keys = new RedisKeys(config.REDIS_PREFIX);
  let redis: Redis;
  let catalogues: CatalogueRepository;
  let configs: RankingConfigRepository;
  let events: EventsRepository;
  let reader: EventSignalsReader;
  const started: SignalsProcessor[] = [];

  const processor = (): SignalsProcessor => {
    const p = new SignalsProcessor(config, redis, keys, catalogues, configs);
    started.push(p);
    return p;
  };
  const catalogue = async (c: string, items: string[]): Promise<void> => {
    await catalogues.ensureCatalogue(c, 'test-model');
    await redis.hset(keys.items(c), ...items.flatMap((id) => [id, '{}']));
  };
  const ingest = (c: string, list: QueuedEvent[]) =>
    events.ingest(
      c,
      list.map((event) => ({ event })),
    );
  /** Steps until the stream has nothing left for the group (the lease must be held). */
  const drain = async (p: SignalsProcessor, c: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await p.step(10);
      if ((await events.lag(c)).pending === 0) return;
      if (Date.now() > deadline) throw new Error('upkeep did not catch up');
    }
  };

  beforeAll(() => {
    Logger.overrideLogger(['error']);
    redis = new Redis(config.REDIS_URL);
    catalogues = new CatalogueRepository(redis, keys);
    configs = new RankingConfigRepository(redis, keys);
    events = new EventsRepository(redis, keys);
    // Reads straight from Redis: these tests look at popularity right after changing it.
    reader = new EventSignalsReader(
      redis,
      keys,
      new IndexRegistry(config),
      { SIGNALS_CACHE_MS: 0 },
      new CollaborativeModels(new CollaborativeRepository(redis, keys), config),
      new NeighbourCache(config.NEIGHBOUR_CACHE_ITEMS),
    );
  });
  afterEach(async () => {
    for (const p of started.splice(0)) await p.beforeApplicationShutdown();
    await deleteKeys(redis, `${config.REDIS_PREFIX}:*`);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("decays popularity with the `default` config's half-life, and switches rate when it changes", async () => {
    await catalogue('hl', ['a', 'b', 'c', 'd']);
    await configs.append('hl', 'default', { popularity: { halfLifeDays: 1 } });
    const view = (itemId: string, days: number): QueuedEvent => ({
      type: 'view',
      itemId,
      ts: T0 + days * DAY * 1000,
    });
    const p = processor();
    expect(await p.acquire()).toBe(true);
    await ingest('hl', [view('a', 0), view('b', 1)]);
    await drain(p, 'hl');
    // view = 0.5; as of the newest event (day 1) with a one-day half-life: a has halved once.
    let pop = await reader.popularity('hl', ['a', 'b']);
    expect(pop.get('b')).toBeCloseTo(0.5, 9);
    expect(pop.get('a')).toBeCloseTo(0.25, 9);

    // Two days from now on: up to day 2 the old rate applies, after it the new one.
    await configs.append('hl', 'default', { popularity: { halfLifeDays: 2 } });
    const q = processor();
    await p.beforeApplicationShutdown();
    expect(await q.acquire()).toBe(true);
    await ingest('hl', [view('c', 2)]);
    await drain(q, 'hl');
    await ingest('hl', [view('d', 4)]);
    await drain(q, 'hl');
    pop = await reader.popularity('hl', ['a', 'b', 'c', 'd']);
    expect(pop.get('d')).toBeCloseTo(0.5, 9);
    expect(pop.get('c')).toBeCloseTo(0.25, 9);
    expect(pop.get('b')).toBeCloseTo(0.125, 9);
    expect(pop.get('a')).toBeCloseTo(0.0625, 9);
    expect(await redis.hget(keys.popularityMeta('hl'), 'halfLifeSeconds')).toBe(String(2 * DAY));
    const trending = await reader.trendingItems('hl', 4);
    expect(trending.map((t) => t.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(trending[0].score).toBeCloseTo(0.5, 9);
  });

  it('moves the popularity epoch before scores overflow', async () => {
    await catalogue('rb', ['a', 'b']);
    await configs.append('rb', 'default', { popularity: { halfLifeDays: 1 } });
    const p = processor();
    await p.acquire();
    // 1,200 half-lives apart: 2^1200 does not fit a double.
    await ingest('rb', [
      { type: 'purchase', itemId: 'a', ts: T0 },
      { type: 'purchase', itemId: 'b', ts: T0 + 1200 * DAY * 1000 },
    ]);
    await drain(p, 'rb');
    const stored = await redis.zrange(keys.popularity('rb'), 0, -1, 'WITHSCORES');
    for (let i = 1; i < stored.length; i += 2) expect(Number.isFinite(Number(stored[i]))).toBe(true);
    expect(Number(await redis.hget(keys.popularityMeta('rb'), 'epoch'))).toBe(T0 / 1000 + 1200 * DAY);
    const pop = await reader.popularity('rb', ['a', 'b']);
    expect(pop.get('b')).toBeCloseTo(5, 9);
    expect(pop.get('a')).toBeLessThan(1e-300);
  });

  it("a replica's in-memory copy of the whole popularity table holds what direct reads give, across ZSCAN pages", async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `i${i}`);
    await catalogue('tb', ids);
    const p = processor();
    await p.acquire();
    await ingest(
      'tb',
      ids.map((itemId, i) => ({ type: 'view', itemId, ts: T0 + (i % 50) * 3600_000 })),
    );
    await ingest('tb', [{ type: 'purchase', itemId: 'i7', ts: T0 + 2 * DAY * 1000 }]);
    await drain(p, 'tb');
    const copying = new EventSignalsReader(
      redis,
      keys,
      new IndexRegistry(config),
      { SIGNALS_CACHE_MS: 60_000 },
      new CollaborativeModels(new CollaborativeRepository(redis, keys), config),
      new NeighbourCache(config.NEIGHBOUR_CACHE_ITEMS),
    );
    // The first request reads its own ids (none here) while the copy loads; later ones are answered from the copy.
    const deadline = Date.now() + 10_000;
    let copy = await copying.popularity('tb', []);
    while (copy.get('i0') === undefined) {
      if (Date.now() > deadline) throw new Error('the popularity table was not copied');
      await new Promise((r) => setTimeout(r, 20));
      copy = await copying.popularity('tb', []);
    }
    const direct = await reader.popularity('tb', [...ids, 'unknown']);
    for (const id of ids) expect(copy.get(id)).toBeCloseTo(direct.get(id)!, 12);
    expect(copy.get('i7')).toBeGreaterThan(copy.get('i8')!);
    expect(copy.get('unknown')).toBeUndefined();
    expect(direct.get('unknown')).toBe(0);
  });

  it('lets one replica consume at a time; a lapsed lease passes its read-but-unapplied batch on, applied once', async () => {
    await catalogue('ls', ['a', 'b']);
    const one = processor();
    const two = processor();
    expect(await one.acquire()).toBe(true);
    expect(await two.acquire()).toBe(false);
    expect(await two.step(10)).toBe(0);

    const batch: QueuedEvent[] = Array.from({ length: 10 }, (_, i) => ({
      type: 'purchase',
      userId: 'u1',
      itemId: i % 2 === 0 ? 'a' : 'b',
      // One instant: popularity is then the plain weighted count.
      ts: T0,
    }));
    await ingest('ls', batch);
    // `one` reads the batch (now pending under the shared consumer), then stalls and its lease lapses.
    const read = (await redis.eval(
      READ_SIGNALS,
      2,
      keys.signalsLease,
      keys.events('ls'),
      one.token,
      SIGNALS_GROUP,
      'signals-1',
      1000,
    )) as [string, [string, string[]][]][];
    expect(read[0][1]).toHaveLength(10);
    await redis.del(keys.signalsLease);

    expect(await two.acquire()).toBe(true);
    await drain(two, 'ls');
    expect(await redis.llen(keys.userHistory('ls', 'u1'))).toBe(10);
    expect(Number(await redis.zscore(keys.popularity('ls'), 'a'))).toBeCloseTo(25, 6);

    // The stalled replica wakes up: its apply is refused and its reads return nothing.
    const ids = read[0][1].map(([id]) => id);
    const late = await redis.eval(
      APPLY_SIGNALS,
      5,
      keys.popularity('ls'),
      keys.popularityMeta('ls'),
      keys.coocTotals('ls'),
      keys.events('ls'),
      keys.signalsLease,
      ...[keys.historyPrefix('ls'), keys.coocPrefix('ls'), String(7 * DAY), '5', '0', '1', '200'],
      ...['200', '60', SIGNALS_GROUP, one.token, '500', String(ids.length), ...ids],
      ...['a', String(T0 / 1000), '5', 'u1', '', 'purchase'],
    );
    expect(late).toBe(-1);
    expect(await one.step(10)).toBe(0);
    expect(one.holdsLease).toBe(false);
    expect(await redis.llen(keys.userHistory('ls', 'u1'))).toBe(10);
    expect(Number(await redis.zscore(keys.popularity('ls'), 'a'))).toBeCloseTo(25, 6);
  });

  it('records event types in histories; the exclusions read purchases and recent interactions from them', async () => {
    await catalogue('ex', ['p', 'v', 'r', 'old', 'sv', 'imp']);
    const now = T0 + 10 * DAY * 1000;
    const h = 3600_000;
    const p = processor();
    await p.acquire();
    await ingest('ex', [
      { type: 'purchase', userId: 'u', itemId: 'p', ts: now - 100 * h },
      { type: 'rating', userId: 'u', itemId: 'r', value: 4, ts: now - 30 * h },
      { type: 'view', userId: 'u', itemId: 'v', ts: now - 2 * h },
      { type: 'impression', userId: 'u', itemId: 'imp', ts: now - h },
      { type: 'view', sessionId: 's', itemId: 'sv', ts: now - h },
    ]);
    await drain(p, 'ex');
    // A line written before types were recorded: still parsed, but it cannot count as a purchase.
    await redis.rpush(keys.userHistory('ex', 'u'), `old|${(now - 200 * h) / 1000}|5|p`);
    const lines = await redis.lrange(keys.userHistory('ex', 'u'), 0, -1);
    expect(lines[0]).toBe(`v|${(now - 2 * h) / 1000}|0.5|p|view`);

    const ex = (who: { userId?: string; sessionId?: string }, o: object) =>
      reader.history('ex', who).then((h) => [...excludedFromHistory(h, o, now)].sort());
    expect(await ex({ userId: 'u' }, {})).toEqual([]);
    expect(await ex({ userId: 'u' }, { purchased: true })).toEqual(['p']);
    expect(await ex({ userId: 'u' }, { seenWithinHours: 24 })).toEqual(['v']);
    expect(await ex({ userId: 'u' }, { seenWithinHours: 48 })).toEqual(['r', 'v']);
    expect(await ex({ userId: 'u' }, { seenWithinHours: 1000 })).toEqual(['old', 'p', 'r', 'v']);
    expect(await ex({ userId: 'u', sessionId: 's' }, { purchased: true, seenWithinHours: 24 })).toEqual([
      'p',
      'sv',
      'v',
    ]);
    expect(await ex({ sessionId: 's' }, { purchased: true })).toEqual([]);
    expect(await ex({}, { purchased: true, seenWithinHours: 24 })).toEqual([]);
    expect((await reader.history('ex', { userId: 'u' })).map((e) => e.type)).toEqual([
      undefined,
      'purchase',
      'rating',
      'view',
    ]);
  });
});
