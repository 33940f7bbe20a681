// A Redis outage while the API serves: requests that need Redis answer 503 with Retry-After within a moment (not
// after ioredis's ~4 s of retries, and not as a 500), `similar` keeps answering from memory, and everything works
// again once Redis is back.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../src/config/config';
import { privateRedis, stopRedis, writeSmallCatalogue } from './support/private-redis';
import { API_KEY, freePort, listenApi, testConfig, waitFor } from './support/stack';

jest.setTimeout(60_000);

async function call(url: string, method: 'GET' | 'POST', route: string, body?: unknown) {
  const t0 = Date.now();
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: Date.now() - t0 };
}

describe('a Redis outage while serving', () => {
  let redisProc: ChildProcess | undefined;
  let api: NestFastifyApplication | undefined;
  let config: AppConfig | undefined;

  afterAll(async () => {
    await api?.close();
    if (redisProc) await stopRedis(redisProc);
    if (config) fs.rmSync(config.INDEX_DIR_ABS, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After at once, keeps `similar` up, and recovers when Redis is back', async () => {
    const port = await freePort();
    redisProc = await privateRedis(port);
    config = testConfig('redis-outage', { REDIS_URL: `redis://127.0.0.1:${port}` });
    await writeSmallCatalogue(config, 20);
    let url: string;
    ({ api, url } = await listenApi(config));
    const similar = '/v1/catalogues/shop/items/i0/similar?limit=5';
    const recs = '/v1/catalogues/shop/recommendations';
    const body = { itemIds: ['i0'], userId: 'u1', limit: 5 };
    await waitFor(
      async () => (await call(url, 'GET', similar)).status === 200,
      'the index to hold the items',
    );
    expect((await call(url, 'POST', recs, body)).status).toBe(200);

    await stopRedis(redisProc);
    // The first requests of an outage may wait for the reconnect attempts they were queued behind; once the
    // connection has been down for REDIS_FAIL_FAST_MS (1 s), every request is refused at once.
    await waitFor(
      async () => {
        const res = await call(url, 'POST', recs, body);
        return res.status === 503 && res.ms < 250;
      },
      'recommendations to fail fast',
      15_000,
    );
    for (let i = 0; i < 5; i++) {
      const res = await call(url, 'POST', recs, body);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(res.text)).toEqual({ message: 'Redis is unavailable; retry shortly' });
      expect(res.ms).toBeLessThan(250);
      // Served from the in-memory index: no Redis needed.
      const s = await call(url, 'GET', similar);
      expect(s.status).toBe(200);
      expect(JSON.parse(s.text).items).toHaveLength(5);
    }

    // Back (empty: no persistence). The index and configs are still in memory, so recommendations work again.
    redisProc = await privateRedis(port);
    await waitFor(
      async () => (await call(url, 'POST', recs, body)).status === 200,
      'recommendations after Redis is back',
      15_000,
    );
    const again = await call(url, 'POST', recs, body);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text).items.length).toBeGreaterThan(0);
  });
});
