import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue } from 'bullmq';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { RedisKeys } from '../redis/redis-keys';
import { JobStatusRepository, type JobStatus } from './job-status.repository';
import { JobName, producerQueue, QueueName, type ReindexJob } from './queues';

export const REINDEX_BATCH_SIZE = 256;
export const BUNDLED_MODELS = ['google/use-lite'];

/** Starts and cancels reindex flows (producer side; the worker runs them). */
@Injectable()
export class ReindexQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(ReindexQueue.name);
  readonly queue: Queue<ReindexJob>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    keys: RedisKeys,
    private readonly repo: CatalogueRepository,
    private readonly status: JobStatusRepository,
  ) {
    this.queue = producerQueue<ReindexJob>(
      QueueName.Reindex,
      config.REDIS_URL,
      keys.queuePrefix,
      this.logger,
    );
  }

  /** Opens the next generation and queues the flow; 409 names a reindex already running. */
  async start(
    catalogue: string,
    opts: { model?: string; textTemplate?: string },
  ): Promise<{ jobId: string; generation: number }> {
    const meta = await this.repo.meta(catalogue);
    if (!meta) throw new NotFoundException(`Catalogue '${catalogue}' not found`);
    const model = opts.model ?? meta.model;
    this.assertModelAvailable(model);
    const jobId = `reindex-${catalogue}-${randomUUID().slice(0, 8)}`;
    const opened = await this.repo.openGeneration(
      catalogue,
      model,
      opts.textTemplate ?? meta.textTemplate,
      jobId,
    );
    if (opened.generation === 0) {
      throw new ConflictException(`A reindex of '${catalogue}' is already running (job ${opened.jobId})`);
    }
    const { items } = await this.repo.counts(catalogue, meta.generation);
    await this.status.create(jobId, { catalogue, generation: opened.generation, model, total: items });
    await this.queue.add(
      JobName.ReindexCatalogue,
      { catalogue, generation: opened.generation, jobId, step: 'fanout', round: 0 },
      {
        jobId,
        attempts: 5,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 86400 },
        removeOnFail: { age: 7 * 86400 },
      },
    );
    return { jobId, generation: opened.generation };
  }

  async get(jobId: string): Promise<JobStatus> {
    const found = await this.status.get(jobId);
    if (!found) throw new NotFoundException(`Job '${jobId}' not found`);
    return found;
  }

  /** Cancels a running reindex: the next generation is dropped; the active one never stopped serving. */
  async cancel(jobId: string): Promise<JobStatus> {
    const job = await this.get(jobId);
    if (job.state !== 'queued' && job.state !== 'running') {
      throw new ConflictException(`Job '${jobId}' is already ${job.state}`);
    }
    const generation = await this.repo.closeGeneration(job.catalogue, jobId);
    if (generation > 0) await this.repo.dropGeneration(job.catalogue, generation);
    await this.status.finish(jobId, 'cancelled');
    return this.get(jobId);
  }

  private assertModelAvailable(model: string): void {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)?$/.test(model)) {
      throw new BadRequestException({
        message: 'Invalid body',
        errors: [{ path: 'model', message: 'must be a model id like owner/name' }],
      });
    }
    if (this.config.ALLOW_REMOTE_MODELS || BUNDLED_MODELS.includes(model)) return;
    if (!existsSync(path.join(this.config.MODEL_DIR_ABS, model, 'config.json'))) {
      throw new BadRequestException({
        message: 'Invalid body',
        errors: [
          {
            path: 'model',
            message: `model '${model}' is not under MODEL_DIR and ALLOW_REMOTE_MODELS is false`,
          },
        ],
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
