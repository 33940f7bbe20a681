import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import {
  decodeCollaborative,
  encodeCollaborative,
  type CollaborativeModel,
} from '../domain/personalization/collaborative';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

/** What GET …/models/collaborative shows about the stored model. */
export interface CollaborativeMeta {
  version: number;
  trainedAt: string;
  /** Items modelled (the most used ones). */
  items: number;
  /** Users and sessions it learnt from. */
  users: number;
  /** Events applied by the signals upkeep when it was trained (the worker retrains once this moves). */
  events: number;
  trainMs: number;
}

/** The trained `collaborative` model per catalogue: one binary value and its meta, replaced together. */
@Injectable()
export class CollaborativeRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async meta(catalogue: string): Promise<CollaborativeMeta | undefined> {
    const h = await this.redis.hgetall(this.keys.collaborativeMeta(catalogue));
    if (!h.version) return undefined;
    return {
      version: Number(h.version),
      trainedAt: h.trainedAt,
      items: Number(h.items),
      users: Number(h.users),
      events: Number(h.events),
      trainMs: Number(h.trainMs),
    };
  }

  /** The model of this version, or undefined when it was replaced meanwhile (the caller asks again later). */
  async load(catalogue: string, version: number): Promise<CollaborativeModel | undefined> {
    const [[, buf], [, v]] = (await this.redis
      .multi()
      .getBuffer(this.keys.collaborativeModel(catalogue))
      .hget(this.keys.collaborativeMeta(catalogue), 'version')
      .exec()) as [[unknown, Buffer | null], [unknown, string | null]];
    if (!buf || Number(v) !== version) return undefined;
    return decodeCollaborative(buf);
  }

  /** Stores a model and bumps the version in one transaction; returns the new meta. */
  async save(
    catalogue: string,
    model: CollaborativeModel,
    info: { events: number; trainMs: number },
  ): Promise<CollaborativeMeta> {
    const metaKey = this.keys.collaborativeMeta(catalogue);
    const trainedAt = new Date().toISOString();
    const res = (await this.redis
      .multi()
      .set(this.keys.collaborativeModel(catalogue), encodeCollaborative(model))
      .hincrby(metaKey, 'version', 1)
      .hset(metaKey, {
        trainedAt,
        items: model.ids.length,
        users: model.users,
        events: info.events,
        trainMs: info.trainMs,
      })
      .exec()) as [unknown, unknown][];
    return {
      version: Number(res[1][1]),
      trainedAt,
      items: model.ids.length,
      users: model.users,
      events: info.events,
      trainMs: info.trainMs,
    };
  }

  /** Every user's and session's history lists, a page at a time (SCAN: never blocks Redis for long). */
  async *historyLists(catalogue: string, length: number): AsyncGenerator<string[]> {
    const match = `${this.keys.historyPrefix(catalogue)}*`;
    // SCAN may return a key twice; a user counts once.
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, page] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      const keys = page.filter((k) => !seen.has(k));
      for (const k of keys) seen.add(k);
      if (keys.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.lrange(k, 0, length - 1);
      for (const [err, lines] of (await pipe.exec()) ?? [])
        if (!err && Array.isArray(lines)) yield lines as string[];
    } while (cursor !== '0');
  }
}
