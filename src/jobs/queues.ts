import { createHash } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { type Job, Queue, Worker, type WorkerOptions } from 'bullmq';
import { redisOptionsFromUrl, reportRedisError } from '../redis/redis-connection';

// Queue and job names, and their data, in one place (each consumer names the handler of each of its jobs).
export enum QueueName {
  Embed = 'embed',
  Reindex = 'reindex',
  Models = 'models',
}

export enum JobName {
  EmbedItem = 'embed-item',
  ReindexCatalogue = 'reindex-catalogue',
  ReindexBatch = 'reindex-batch',
  TrainCollaborative = 'train-collaborative',
}

export interface EmbedItemJob {
  catalogue: string;
  id: string;
  /** Text hash at enqueue time; the job is stale (skipped) once the item's text moved on. */
  hash: string;
  generation: number;
}

/** Parent of a reindex flow: fans out batches, waits for them, fills gaps, then activates the generation. */
export interface ReindexCatalogueJob {
  catalogue: string;
  generation: number;
  /** Public id (GET /v1/jobs/:id); also the generation's owner in the catalogue record. */
  jobId: string;
  step: 'fanout' | 'reconcile';
  round: number;
}

export interface ReindexBatchJob {
  catalogue: string;
  generation: number;
  jobId: string;
  ids: string[];
}

export type ReindexJob = ReindexCatalogueJob | ReindexBatchJob;

/** Retrains a catalogue's `collaborative` item-item model from the histories the signals upkeep keeps. */
export interface TrainCollaborativeJob {
  catalogue: string;
}

export interface JobDataByName {
  [JobName.EmbedItem]: EmbedItemJob;
  [JobName.ReindexCatalogue]: ReindexCatalogueJob;
  [JobName.ReindexBatch]: ReindexBatchJob;
  [JobName.TrainCollaborative]: TrainCollaborativeJob;
}

/** Deterministic: a burst of identical writes to one item yields one job (BullMQ ids may not contain ':'). */
export function embedJobId(job: EmbedItemJob): string {
  const digest = createHash('sha1')
    .update(`${job.catalogue}\0${job.id}\0${job.hash}\0${job.generation}`)
    .digest('hex');
  return `embed-${digest}`;
}

export const EMBED_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;

/** A producer-side queue; fails fast when Redis is away instead of queueing commands in memory. */
export function producerQueue<T>(
  name: QueueName,
  redisUrl: string,
  prefix: string,
  logger: Logger,
): Queue<T> {
  const queue = new Queue<T>(name, {
    connection: { ...redisOptionsFromUrl(redisUrl), enableOfflineQueue: false, maxRetriesPerRequest: 3 },
    prefix,
  });
  queue.on('error', (err) => reportRedisError(logger, redisUrl, err));
  return queue;
}

/** The handler of each job name a queue carries, typed by that job's data; a queue's consumer lists only its own. */
export type JobHandlers<R> = {
  [N in JobName]?: (job: Job<JobDataByName[N]>, token?: string) => Promise<R>;
};

/**
 * A consumer: BullMQ's worker settings (no retry limit on its blocking connection), its Redis errors reported once,
 * and each job dispatched by name (a name without a handler fails the job).
 */
export function consumerWorker<T, R>(
  name: QueueName,
  handlers: JobHandlers<R>,
  redisUrl: string,
  prefix: string,
  logger: Logger,
  opts: Omit<WorkerOptions, 'connection' | 'prefix'>,
): Worker<T, R> {
  const processor = async (job: Job<T>, token?: string): Promise<R> => {
    const handler = handlers[job.name as JobName] as
      ((job: Job<T>, token?: string) => Promise<R>) | undefined;
    if (!handler) throw new Error(`no handler for job '${job.name}'`);
    return handler(job, token);
  };
  const worker = new Worker<T, R>(name, processor, {
    connection: { ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null },
    prefix,
    ...opts,
  });
  worker.on('error', (err) => reportRedisError(logger, redisUrl, err));
  return worker;
}
