import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

/** One stored version of a config: the body as given (defaults are applied on read, so it stays small). */
export interface StoredConfigVersion {
  version: number;
  config: unknown;
  createdAt: string;
  /** Set when this version was created by rolling back to an older one. */
  rollbackOf?: number;
}

export interface StoredExperiment {
  experiment: unknown;
  updatedAt: string;
}

/** What a pub/sub message says changed; every replica drops its cached copy. */
export interface ConfigChange {
  c: string;
  kind: 'config' | 'experiment';
  name: string;
}

// Appends a version, points current at it and tells every replica, in one atomic step.
// KEYS: versions, current hash, channel. ARGV: entry JSON, name, message.
const APPEND_VERSION = `
local v = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], v)
redis.call('PUBLISH', KEYS[3], ARGV[3])
return v
`;

// KEYS: experiments hash, channel. ARGV: name, JSON, message.
const PUT_EXPERIMENT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`;

const DELETE_EXPERIMENT = `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return n
`;

/** Ranking configs (versioned) and experiments in Redis; every write publishes on the config channel. */
@Injectable()
export class RankingConfigRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  get channel(): string {
    return this.keys.configChannel();
  }

  async append(c: string, name: string, config: unknown, rollbackOf?: number): Promise<StoredConfigVersion> {
    const createdAt = new Date().toISOString();
    const entry = { config, createdAt, ...(rollbackOf !== undefined ? { rollbackOf } : {}) };
    const message: ConfigChange = { c, kind: 'config', name };
    const version = (await this.redis.eval(
      APPEND_VERSION,
      3,
      this.keys.rankingConfigVersions(c, name),
      this.keys.rankingConfigs(c),
      this.keys.configChannel(),
      JSON.stringify(entry),
      name,
      JSON.stringify(message),
    )) as number;
    return { version, ...entry };
  }

  /** The current version, or undefined when the config was never stored. */
  async current(c: string, name: string): Promise<StoredConfigVersion | undefined> {
    const v = await this.redis.hget(this.keys.rankingConfigs(c), name);
    if (v === null) return undefined;
    return this.version(c, name, Number(v));
  }

  async version(c: string, name: string, version: number): Promise<StoredConfigVersion | undefined> {
    if (!Number.isInteger(version) || version < 1) return undefined;
    const raw = await this.redis.lindex(this.keys.rankingConfigVersions(c, name), version - 1);
    return raw === null
      ? undefined
      : { version, ...(JSON.parse(raw) as Omit<StoredConfigVersion, 'version'>) };
  }

  async history(c: string, name: string): Promise<StoredConfigVersion[]> {
    const raws = await this.redis.lrange(this.keys.rankingConfigVersions(c, name), 0, -1);
    return raws.map((raw, i) => ({
      version: i + 1,
      ...(JSON.parse(raw) as Omit<StoredConfigVersion, 'version'>),
    }));
  }

  /** Name → current version. */
  async names(c: string): Promise<Record<string, number>> {
    const all = await this.redis.hgetall(this.keys.rankingConfigs(c));
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(v)]));
  }

  async putExperiment(c: string, name: string, experiment: unknown): Promise<StoredExperiment> {
    const stored: StoredExperiment = { experiment, updatedAt: new Date().toISOString() };
    const message: ConfigChange = { c, kind: 'experiment', name };
    await this.redis.eval(
      PUT_EXPERIMENT,
      2,
      this.keys.experiments(c),
      this.keys.configChannel(),
      name,
      JSON.stringify(stored),
      JSON.stringify(message),
    );
    return stored;
  }

  async experiment(c: string, name: string): Promise<StoredExperiment | undefined> {
    const raw = await this.redis.hget(this.keys.experiments(c), name);
    return raw === null ? undefined : (JSON.parse(raw) as StoredExperiment);
  }

  async deleteExperiment(c: string, name: string): Promise<boolean> {
    const message: ConfigChange = { c, kind: 'experiment', name };
    const n = (await this.redis.eval(
      DELETE_EXPERIMENT,
      2,
      this.keys.experiments(c),
      this.keys.configChannel(),
      name,
      JSON.stringify(message),
    )) as number;
    return n > 0;
  }
}
