import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { createApiApp } from '../../src/bootstrap';
import { parseConfig, type AppConfig } from '../../src/config/config';
import { deleteKeys } from '../../src/redis/redis-connection';
import { createWorker } from '../../workers/bootstrap';

export const API_KEY = 'e2e-test-key-0123456789';

/** Where tests read shared data; CI and the README point MODEL_DIR at the models. */
export const SHARED_DIR = process.env.SHARED_DIR ?? path.resolve(__dirname, '../../../shared');

export interface Stack {
  config: AppConfig;
  api: NestFastifyApplication;
  worker?: INestApplicationContext;
  url: string;
  redis: Redis;
  /** fetch with the API key and JSON handling. */
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A test's own config: a random key prefix (so files never share keys) and a temp index dir. */
export function testConfig(name: string, env: Record<string, string> = {}): AppConfig {
  return parseConfig({
    ...process.env,
    ADMIN_API_KEY: API_KEY,
    REDIS_PREFIX: `t-${name}-${randomBytes(4).toString('hex')}`,
    INDEX_DIR: path.join(os.tmpdir(), `recsvc-${name}-${randomBytes(4).toString('hex')}`),
    LOG_LEVEL: 'warn',
    // Models train when a test asks (collaborative.e2e-spec checks the schedule's decision itself).
    COLLAB_TRAIN_INTERVAL_SECONDS: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
}

export async function startStack(
  name: string,
  opts: { worker?: boolean; env?: Record<string, string>; config?: AppConfig } = {},
): Promise<Stack> {
  const config = opts.config ?? testConfig(name, opts.env);
  const { api, url } = await listenApi(config);
  const worker = opts.worker === false ? undefined : await createWorker(config, false);
  const redis = new Redis(config.REDIS_URL);
  const stack: Stack = {
    config,
    api,
    worker,
    url,
    redis,
    call: (method, route, body) => call(url, method, route, body),
    // Closes whatever API and worker the stack holds now (a test may have swapped in a restarted API).
    async close() {
      await stack.worker?.close();
      await stack.api.close();
      await deleteKeys(redis, `${config.REDIS_PREFIX}:*`);
      await redis.quit();
      // The snapshots the API wrote on shutdown.
      fs.rmSync(config.INDEX_DIR_ABS, { recursive: true, force: true });
    },
  };
  return stack;
}

/** An API replica on a random port (tests start several against one Redis prefix). */
export async function listenApi(config: AppConfig): Promise<{ api: NestFastifyApplication; url: string }> {
  const api = await createApiApp(config, false);
  await api.listen(0, '127.0.0.1');
  const address = api.getHttpServer().address() as { port: number };
  return { api, url: `http://127.0.0.1:${address.port}` };
}

export async function call(
  url: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text for the assertion message.
  }
  return { status: res.status, body: parsed };
}

export { deleteKeys };
// The bench's helper: a port nothing listens on right now (for processes started with an explicit PORT).
export { freePort } from '../../bench/lib/util';

/** Polls until `check` returns a truthy value or the deadline passes (then throws with the last value). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
