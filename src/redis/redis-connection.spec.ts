// Against a real Redis (REDIS_URL, default 127.0.0.1:6379), under this file's own key prefix.
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { createRedis, deleteKeys, sendNow } from './redis-connection';

describe('sendNow (real Redis, auto-pipelined client)', () => {
  const prefix = `t-redis-conn-spec-${randomBytes(4).toString('hex')}`;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', new Logger('spec'), {
      name: 'spec',
      autoPipelining: true,
    });
    await redis.ping();
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    await redis.quit();
  });

  it('writes ahead of an auto-pipelined command issued earlier in the same turn', async () => {
    const key = `${prefix}:order`;
    // The auto-pipelined SET waits for the end of the turn; sendNow's goes out at once, so it lands first.
    const queued = redis.set(key, 'queued');
    const now = sendNow(redis, 'set', [key, 'now']);
    await Promise.all([queued, now]);
    expect(await redis.get(key)).toBe('queued');
  });

  it('returns the reply as utf8 strings and rejects on a Redis error', async () => {
    const key = `${prefix}:list`;
    await redis.rpush(key, 'a', 'b', 'c');
    expect(await sendNow(redis, 'lrange', [key, 0, 1])).toEqual(['a', 'b']);
    await expect(sendNow(redis, 'incr', [key])).rejects.toThrow(/WRONGTYPE/);
  });
});
