import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { type DynamicModule, type ExecutionContext, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  ThrottlerModule,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type Redis from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { atMostEvery } from './throttled';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const ALLOWED: ThrottlerStorageRecord = {
  totalHits: 0,
  timeToExpire: 0,
  isBlocked: false,
  timeToBlockExpire: 0,
};
const WARN_EVERY_MS = 30_000;

/**
 * A limiter that cannot count does not refuse: while Redis is unreachable requests go through (they fail or succeed
 * on their own merits; `similar` is served from memory), with one log line per outage instead of a 500 each. While
 * the connection is down it does not even ask, so requests never wait out the client's reconnect retries.
 */
export class FailOpenStorage implements ThrottlerStorage {
  private readonly warn = atMostEvery(WARN_EVERY_MS, (why: string) =>
    this.logger.warn(`rate limit not enforced: ${why}`),
  );

  constructor(
    private readonly inner: ThrottlerStorage,
    private readonly connected: () => boolean,
    private readonly logger: Pick<Logger, 'warn'> = new Logger('RateLimit'),
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    if (!this.connected()) return this.allow('Redis is not connected');
    try {
      return await this.inner.increment(key, ttl, limit, blockDuration, name);
    } catch (e) {
      return this.allow(e instanceof Error ? e.message : String(e));
    }
  }

  private allow(why: string): ThrottlerStorageRecord {
    this.warn(why);
    return ALLOWED;
  }
}

function isV1(context: ExecutionContext): boolean {
  const url = context.switchToHttp().getRequest<FastifyRequest>().url ?? '';
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');
}

/**
 * RATE_LIMIT requests per client IP per window over every /v1 route together (health, metrics and docs are exempt),
 * counted in Redis so all replicas share one budget. @nestjs/throttler with its Redis storage; registered only when
 * RATE_LIMIT > 0, so an off limiter costs nothing per request.
 */
@Module({})
export class RateLimitModule {
  static register(config: AppConfig): DynamicModule {
    if (config.RATE_LIMIT === 0) return { module: RateLimitModule };
    const windowMs = config.RATE_LIMIT_WINDOW_SECONDS * 1000;
    return {
      module: RateLimitModule,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [APP_CONFIG, REDIS, RedisKeys],
          useFactory: (c: AppConfig, redis: Redis, keys: RedisKeys) => ({
            throttlers: [{ name: 'default', limit: c.RATE_LIMIT, ttl: windowMs, blockDuration: windowMs }],
            storage: new FailOpenStorage(
              new ThrottlerStorageRedisService(redis),
              () => redis.status === 'ready',
            ),
            skipIf: (ctx: ExecutionContext) => !isV1(ctx),
            // One budget per client across routes (the default key is per route handler).
            generateKey: (_ctx: ExecutionContext, tracker: string) => keys.rateLimit(tracker),
            errorMessage: (_ctx: ExecutionContext, d: ThrottlerLimitDetail) =>
              `Too many requests: at most ${d.limit} per ${c.RATE_LIMIT_WINDOW_SECONDS} s from one client; ` +
              `retry after ${d.timeToBlockExpire} s`,
          }),
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
    };
  }
}
