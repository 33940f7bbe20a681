import { createHash } from 'node:crypto';

// Queue and job names, and their data, in one place (the worker checks it has a handler for each).
export enum QueueName {
  Embed = 'embed',
}

export enum JobName {
  EmbedItem = 'embed-item',
}

export interface EmbedItemJob {
  catalogue: string;
  id: string;
  /** Text hash at enqueue time; the job is stale (skipped) once the item's text moved on. */
  hash: string;
  generation: number;
}

export interface JobDataByName {
  [JobName.EmbedItem]: EmbedItemJob;
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
