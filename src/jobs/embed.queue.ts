import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { RedisKeys } from '../redis/redis-keys';
import {
  EMBED_JOB_OPTIONS,
  JobName,
  producerQueue,
  QueueName,
  embedJobId,
  type EmbedItemJob,
} from './queues';

/** Producer side of the embed queue (used by the API and by reindex fan-out). */
@Injectable()
export class EmbedQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(EmbedQueue.name);
  readonly queue: Queue<EmbedItemJob>;

  constructor(@Inject(APP_CONFIG) config: AppConfig, keys: RedisKeys) {
    this.queue = producerQueue<EmbedItemJob>(
      QueueName.Embed,
      config.REDIS_URL,
      keys.queuePrefix,
      this.logger,
    );
  }

  async enqueue(jobs: EmbedItemJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((data) => ({
        name: JobName.EmbedItem,
        data,
        opts: { ...EMBED_JOB_OPTIONS, jobId: embedJobId(data) },
      })),
    );
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
