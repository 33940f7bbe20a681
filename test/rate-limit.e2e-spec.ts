// RATE_LIMIT: one budget per client IP over every /v1 route, shared by replicas through Redis; 429 with Retry-After.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import type { AppConfig } from '../src/config/config';
import { deleteKeys } from '../src/redis/redis-connection';
import { privateRedis, stopRedis, writeSmallCatalogue } from './support/private-redis';
import { API_KEY, freePort, listenApi, startStack, testConfig, waitFor } from './support/stack';

jest.setTimeout(60_000);

// Answers 404 after one Redis read: cheap, and any status spends the budget.
const ROUTE = '/v1/catalogues/no-such-catalogue';

async function get(url: string, route: string, client?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (client) headers['x-forwarded-for'] = client;
  const res = await fetch(`${url}${route}`, { headers });
  await res.arrayBuffer();
  return res;
}

/** Replicas of one config (one Redis prefix), closed and cleaned up together, rate-limit keys included. */
async function replicas(config: AppConfig, n: number) {
  const apps: { api: NestFastifyApplication; url: string }[] = [];
  for (let i = 0; i < n; i++) apps.push(await listenApi(config));
  return {
    urls: apps.map((a) => a.url),
    async close() {
      for (const a of apps) await a.api.close();
      const r = new Redis(config.REDIS_URL);
      await deleteKeys(r, `${config.REDIS_PREFIX}:*`);
      await deleteKeys(r, `{${config.REDIS_PREFIX}:*`);
      await r.quit();
    },
  };
}

describe('rate limits (RATE_LIMIT=5 per 60 s, behind a proxy, two replicas)', () => {
  const config = testConfig('ratelimit', {
    RATE_LIMIT: '5',
    RATE_LIMIT_WINDOW_SECONDS: '60',
    TRUST_PROXY: 'true',
  });
  let set: Awaited<ReturnType<typeof replicas>>;
  beforeAll(async () => {
    set = await replicas(config, 2);
  });
  afterAll(async () => {
    await set.close();
  });

  it('allows five requests per client across both replicas, then answers 429 with Retry-After', async () => {
    const client = '203.0.113.7';
    for (let i = 0; i < 5; i++) {
      const res = await get(set.urls[i % 2], ROUTE, client);
      expect(res.status).toBe(404);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
    }
    for (const url of set.urls) {
      const res = await fetch(`${url}${ROUTE}`, {
        headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': client },
      });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await res.json()) as { message: string };
      expect(body.message).toMatch(
        /^Too many requests: at most 5 per 60 s from one client; retry after \d+ s$/,
      );
    }
  });

  it('gives another client its own budget, and never limits health, metrics or docs', async () => {
    expect((await get(set.urls[0], ROUTE, '203.0.113.8')).status).toBe(404);
    for (let i = 0; i < 8; i++) {
      expect((await get(set.urls[i % 2], '/health/live', '203.0.113.7')).status).toBe(200);
      expect((await get(set.urls[i % 2], '/metrics', '203.0.113.7')).status).toBe(200);
    }
    expect((await get(set.urls[0], '/docs-json', '203.0.113.7')).status).toBe(200);
  });

  it('counts requests without a valid key too (a key guesser runs out)', async () => {
    const client = '203.0.113.9';
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${set.urls[0]}${ROUTE}`, {
        headers: { authorization: 'Bearer wrong-key-0123456789', 'x-forwarded-for': client },
      });
      expect(res.status).toBe(401);
    }
    expect((await get(set.urls[1], ROUTE, client)).status).toBe(429);
  });
});

describe('rate limits without TRUST_PROXY', () => {
  it('ignore X-Forwarded-For: a client cannot buy a new budget by inventing addresses', async () => {
    const set = await replicas(testConfig('ratelimit-noproxy', { RATE_LIMIT: '2' }), 1);
    try {
      expect((await get(set.urls[0], ROUTE, '198.51.100.1')).status).toBe(404);
      expect((await get(set.urls[0], ROUTE, '198.51.100.2')).status).toBe(404);
      expect((await get(set.urls[0], ROUTE, '198.51.100.3')).status).toBe(429);
    } finally {
      await set.close();
    }
  });
});

describe('rate limit window', () => {
  it('gives the budget back once the window has passed', async () => {
    const set = await replicas(
      testConfig('ratelimit-window', { RATE_LIMIT: '2', RATE_LIMIT_WINDOW_SECONDS: '1' }),
      1,
    );
    try {
      expect((await get(set.urls[0], ROUTE)).status).toBe(404);
      expect((await get(set.urls[0], ROUTE)).status).toBe(404);
      const started = Date.now();
      expect((await get(set.urls[0], ROUTE)).status).toBe(429);
      await waitFor(
        async () => (await get(set.urls[0], ROUTE)).status === 404,
        'the budget to come back',
        5_000,
        100,
      );
      // Blocked for one window from the refusal, not forever (and not for less than most of it).
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      await set.close();
    }
  });
});

describe('rate limits off (the default)', () => {
  it('never answer 429, send no rate-limit headers and write no keys', async () => {
    const s = await startStack('ratelimit-off', { worker: false });
    try {
      expect(s.config.RATE_LIMIT).toBe(0);
      for (let i = 0; i < 30; i++) {
        const res = await get(s.url, ROUTE);
        expect(res.status).toBe(404);
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      }
      expect(await s.redis.keys(`{${s.config.REDIS_PREFIX}:*`)).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('rate limits while Redis is away', () => {
  let redisProc: ChildProcess | undefined;
  let api: NestFastifyApplication | undefined;
  let config: AppConfig;

  afterAll(async () => {
    await api?.close();
    if (redisProc) await stopRedis(redisProc);
    if (config) fs.rmSync(config.INDEX_DIR_ABS, { recursive: true, force: true });
  });

  it('serve `similar` from memory without waiting for Redis, and count again once it is back', async () => {
    const port = await freePort();
    redisProc = await privateRedis(port);
    config = testConfig('ratelimit-outage', {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      RATE_LIMIT: '3',
      TRUST_PROXY: 'true',
    });
    await writeSmallCatalogue(config, 20);

    let url: string;
    ({ api, url } = await listenApi(config));
    const route = '/v1/catalogues/shop/items/i0/similar?limit=5';
    await waitFor(
      async () => (await get(url, route, '192.0.2.1')).status === 200,
      'the index to hold the items',
    );

    const client = '192.0.2.7';
    for (let i = 0; i < 3; i++) expect((await get(url, route, client)).status).toBe(200);
    expect((await get(url, route, client)).status).toBe(429);

    await stopRedis(redisProc);
    // Once the API has seen the connection drop, the blocked client is served at once and nothing is counted.
    await waitFor(
      async () => (await get(url, route, client)).status === 200,
      'the limiter to stand aside',
      10_000,
    );
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const res = await get(url, route, client);
      expect(res.status).toBe(200);
      // Not counted: the whole budget stays (the guard still sends its headers).
      expect(res.headers.get('x-ratelimit-remaining')).toBe('3');
      expect(Date.now() - t0).toBeLessThan(250);
    }

    // Redis back (empty: no persistence), the API reconnects and counts again from a fresh budget.
    redisProc = await privateRedis(port);
    await waitFor(
      async () => Number((await get(url, route, client)).headers.get('x-ratelimit-remaining')) < 3,
      'counting to resume',
      15_000,
    );
  });
});
