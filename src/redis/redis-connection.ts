import { Logger } from '@nestjs/common';
import Redis, { Command, type RedisOptions } from 'ioredis';

const lastWarned = new Map<string, number>();

/** One line per outage (not a stack trace per retry), naming the URL and how to start a Redis. */
export function reportRedisError(logger: Logger, url: string, err: Error & { code?: string }): void {
  const key = `${url}:${err.code ?? err.message}`;
  const now = Date.now();
  if (now - (lastWarned.get(key) ?? 0) < 30_000) return;
  lastWarned.set(key, now);
  logger.error(
    `Redis at ${redactUrl(url)} is unreachable (${err.code ?? err.message}); retrying. ` +
      `Start one with 'redis-server --port 6379' or set REDIS_URL.`,
  );
}

/**
 * Sends one command now: written to the connection before this returns, ahead of anything sent later, even on an
 * auto-pipelined client (there a command waits for the end of the event-loop turn). For a read whose round trip
 * should overlap the CPU work that follows it, or a write that must be on its way before the response. Cheaper than
 * a one-command `pipeline()`, whose object costs several KB.
 */
export function sendNow(redis: Redis, name: string, args: (string | number)[]): Promise<unknown> {
  return redis.sendCommand(new Command(name, args, { replyEncoding: 'utf8' })) as Promise<unknown>;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

export interface ConnectionOptions {
  /** Workers block on Redis; BullMQ requires null here. */
  forWorker?: boolean;
  name: string;
  /**
   * Commands issued in the same event-loop tick go out as one pipeline (one write, one read). For the shared
   * request-path connection: concurrent requests' reads share round trips. Not for blocking or subscriber ones.
   */
  autoPipelining?: boolean;
  /**
   * After the connection has been down this long, new commands fail at once instead of queueing for a reconnect
   * (ioredis would hold each for its retries, ~4 s): requests answer 503 quickly during an outage, and a blip shorter
   * than this loses nothing. For the request-path connection; unset = always queue.
   */
  failFastAfterMs?: number;
}

/** How long the request-path connection may be down before new commands fail at once (see failFastAfterMs). */
export const REDIS_FAIL_FAST_MS = 1_000;

/** Errors of a command that could not reach Redis (down, or failing fast during an outage). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith("Stream isn't writeable")
  );
}

export function createRedis(url: string, logger: Logger, opts: ConnectionOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    lazyConnect: false,
    maxRetriesPerRequest: opts.forWorker ? null : 3,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    enableAutoPipelining: opts.autoPipelining ?? false,
  };
  const client = new Redis(url, options);
  client.on('error', (err: Error) => reportRedisError(logger, url, err));
  if (opts.failFastAfterMs !== undefined) failFastDuringOutages(client, opts.failFastAfterMs);
  client.on('ready', () => {
    if (lastWarned.size > 0) {
      lastWarned.clear();
      logger.log(`Redis at ${redactUrl(url)} is reachable again`);
    }
  });
  return client;
}

/**
 * Once a connection that worked has been down for `ms`, new commands are rejected instead of queued (ioredis reads
 * `enableOfflineQueue` per command; queued ones keep waiting) until it is ready again. At start-up, commands wait
 * for Redis as before.
 */
function failFastDuringOutages(client: Redis, ms: number): void {
  let timer: NodeJS.Timeout | undefined;
  let wasReady = false;
  client.on('close', () => {
    if (wasReady) timer ??= setTimeout(() => (client.options.enableOfflineQueue = false), ms).unref();
  });
  client.on('end', () => clearTimeout(timer));
  client.on('ready', () => {
    clearTimeout(timer);
    timer = undefined;
    client.options.enableOfflineQueue = true;
    wasReady = true;
  });
}

/** ioredis options from a redis:// URL, for libraries (BullMQ) that should own and close their connections. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number.isInteger(db) ? db : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** Deletes every key matching a pattern (SCAN + UNLINK, never KEYS); for temporary prefixes. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
