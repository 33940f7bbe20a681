import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { RedisKeys } from '../redis/redis-keys';
import { JobName, producerQueue, QueueName, type TrainCollaborativeJob } from './queues';

/** Producer side of model training (the API's train endpoint and the worker's retrain timer). */
@Injectable()
export class CollaborativeQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(CollaborativeQueue.name);
  readonly queue: Queue<TrainCollaborativeJob>;

  constructor(@Inject(APP_CONFIG) config: AppConfig, keys: RedisKeys) {
    this.queue = producerQueue<TrainCollaborativeJob>(
      QueueName.Models,
      config.REDIS_URL,
      keys.queuePrefix,
      this.logger,
    );
  }

  /** One training per catalogue waits at a time: asking again while one waits returns that one. */
  async enqueue(catalogue: string): Promise<string> {
    const job = await this.queue.add(
      JobName.TrainCollaborative,
      { catalogue },
      {
        jobId: `collab-${catalogue}`,
        attempts: 3,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      },
    );
    return job.id ?? `collab-${catalogue}`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
