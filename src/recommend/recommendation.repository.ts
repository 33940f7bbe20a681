import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { sendNow } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

/** What a cursor continues: the request it was made for and the ids each page served. */
export interface ServedList {
  config: string;
  experiment?: string;
  fingerprint: string;
  /** pages[i] = ids served on page i+1. */
  pages: string[][];
}

/**
 * Served lists under recommId, for RECOMMENDATION_TTL_SECONDS, so later pages never repeat earlier ones and events
 * naming the recommId are attributed to the experiment variant that served it.
 */
@Injectable()
export class RecommendationRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async get(c: string, recommId: string): Promise<ServedList | undefined> {
    const raw = await this.redis.get(this.keys.recommendation(c, recommId));
    return raw === null ? undefined : (JSON.parse(raw) as ServedList);
  }

  /**
   * Written to the connection at once (`sendNow`), ahead of anything the caller sends after this call returns, so a
   * caller that does not wait for it still has it on its way to Redis before its response is.
   */
  async save(c: string, recommId: string, list: ServedList): Promise<void> {
    await sendNow(this.redis, 'set', [
      this.keys.recommendation(c, recommId),
      JSON.stringify(list),
      'EX',
      this.config.RECOMMENDATION_TTL_SECONDS,
    ]);
  }
}
