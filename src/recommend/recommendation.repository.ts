import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
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

export const RECOMMENDATION_TTL_SECONDS = 30 * 60;

/** Served lists under recommId, with a TTL, so later pages never repeat earlier ones. */
@Injectable()
export class RecommendationRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(c: string, recommId: string): Promise<ServedList | undefined> {
    const raw = await this.redis.get(this.keys.recommendation(c, recommId));
    return raw === null ? undefined : (JSON.parse(raw) as ServedList);
  }

  async save(c: string, recommId: string, list: ServedList): Promise<void> {
    await this.redis.set(
      this.keys.recommendation(c, recommId),
      JSON.stringify(list),
      'EX',
      RECOMMENDATION_TTL_SECONDS,
    );
  }
}
