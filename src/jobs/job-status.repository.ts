import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobStatus {
  jobId: string;
  type: 'reindex';
  catalogue: string;
  generation: number;
  model: string;
  state: JobState;
  processed: number;
  total: number;
  itemsPerSecond: number | null;
  etaSeconds: number | null;
  errors: string[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const MAX_ERRORS = 20;
const FINISHED_TTL_SECONDS = 7 * 24 * 3600;

/** Progress of long-running jobs, kept apart from BullMQ so it outlives removed jobs and worker crashes. */
@Injectable()
export class JobStatusRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(
    jobId: string,
    fields: { catalogue: string; generation: number; model: string; total: number },
  ): Promise<void> {
    await this.redis.hset(this.keys.jobStatus(jobId), {
      type: 'reindex',
      catalogue: fields.catalogue,
      generation: fields.generation,
      model: fields.model,
      state: 'queued',
      processed: 0,
      total: fields.total,
      errors: '[]',
      createdAt: new Date().toISOString(),
    });
  }

  async get(jobId: string): Promise<JobStatus | undefined> {
    const raw = await this.redis.hgetall(this.keys.jobStatus(jobId));
    if (!raw.state) return undefined;
    const processed = Math.min(Number(raw.processed), Number(raw.total));
    const total = Number(raw.total);
    const started = raw.startedAt ? Date.parse(raw.startedAt) : undefined;
    const end = raw.finishedAt ? Date.parse(raw.finishedAt) : Date.now();
    const seconds = started ? (end - started) / 1000 : 0;
    const rate = seconds > 0 && processed > 0 ? processed / seconds : null;
    const running = raw.state === 'running' || raw.state === 'queued';
    return {
      jobId,
      type: 'reindex',
      catalogue: raw.catalogue,
      generation: Number(raw.generation),
      model: raw.model,
      state: raw.state as JobState,
      processed,
      total,
      itemsPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
      etaSeconds: running && rate ? Math.round((total - processed) / rate) : running ? null : 0,
      errors: JSON.parse(raw.errors ?? '[]') as string[],
      createdAt: raw.createdAt,
      startedAt: raw.startedAt ?? null,
      finishedAt: raw.finishedAt ?? null,
    };
  }

  async markRunning(jobId: string, total?: number): Promise<void> {
    const key = this.keys.jobStatus(jobId);
    await this.redis
      .multi()
      .hsetnx(key, 'startedAt', new Date().toISOString())
      .hset(key, 'state', 'running', ...(total === undefined ? [] : ['total', String(total)]))
      .exec();
  }

  async addProcessed(jobId: string, n: number): Promise<void> {
    await this.redis.hincrby(this.keys.jobStatus(jobId), 'processed', n);
  }

  /** Final states only move forward (a cancel is not overwritten by a late completion). */
  async finish(
    jobId: string,
    state: Exclude<JobState, 'queued' | 'running'>,
    error?: string,
  ): Promise<boolean> {
    const key = this.keys.jobStatus(jobId);
    const current = await this.redis.hget(key, 'state');
    if (current === null || ['completed', 'failed', 'cancelled'].includes(current)) return false;
    const tx = this.redis.multi().hset(key, 'state', state, 'finishedAt', new Date().toISOString());
    if (state === 'completed') tx.hset(key, 'processed', (await this.redis.hget(key, 'total')) ?? '0');
    await tx.expire(key, FINISHED_TTL_SECONDS).exec();
    if (error) await this.addError(jobId, error);
    return true;
  }

  async addError(jobId: string, error: string): Promise<void> {
    const key = this.keys.jobStatus(jobId);
    const errors = JSON.parse((await this.redis.hget(key, 'errors')) ?? '[]') as string[];
    if (errors.length < MAX_ERRORS) await this.redis.hset(key, 'errors', JSON.stringify([...errors, error]));
  }
}
