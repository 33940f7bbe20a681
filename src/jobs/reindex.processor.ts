import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Job, WaitingChildrenError, type Worker } from 'bullmq';
import { CatalogueRepository, textHash } from '../catalogue/catalogue.repository';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { itemText } from '../domain/item';
import { EmbedderService } from '../embedding/embedder.service';
import { RedisKeys } from '../redis/redis-keys';
import { JobStatusRepository } from './job-status.repository';
import {
  consumerWorker,
  JobName,
  QueueName,
  type ReindexBatchJob,
  type ReindexCatalogueJob,
  type ReindexJob,
} from './queues';
import { REINDEX_BATCH_SIZE, ReindexQueue } from './reindex.queue';

const MAX_RECONCILE_ROUNDS = 5;

/**
 * Runs reindex flows: the parent pages through item ids and fans out batch jobs (its children) that
 * embed into the next generation while the active one serves; when they are done it fills any gap
 * (items written while it ran) and activates the generation. Every step is idempotent, so a worker
 * killed at any point resumes where it stopped.
 */
@Injectable()
export class ReindexProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReindexProcessor.name);
  private worker?: Worker<ReindexJob, string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: RedisKeys,
    private readonly repo: CatalogueRepository,
    private readonly embedders: EmbedderService,
    private readonly status: JobStatusRepository,
    private readonly reindexQueue: ReindexQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = consumerWorker<ReindexJob, string>(
      QueueName.Reindex,
      {
        [JobName.ReindexCatalogue]: (job, token) => this.runParent(job, token),
        [JobName.ReindexBatch]: (job) => this.runBatch(job.data),
      },
      this.config.REDIS_URL,
      this.keys.queuePrefix,
      this.logger,
      {
        concurrency: 2,
        // Short locks: a killed worker's jobs are picked up again within seconds.
        lockDuration: 15_000,
        stalledInterval: 5_000,
        maxStalledCount: 10,
      },
    );
    this.worker.on('failed', (job, err) => {
      if (job?.name === JobName.ReindexCatalogue && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        void this.failFlow(job.data as ReindexCatalogueJob, err.message);
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  private async current(data: { catalogue: string; generation: number; jobId: string }) {
    const meta = await this.repo.meta(data.catalogue);
    const next = meta?.next;
    return meta && next && next.generation === data.generation && next.jobId === data.jobId
      ? { meta, next }
      : undefined;
  }

  private async runParent(job: Job<ReindexCatalogueJob>, token: string | undefined): Promise<string> {
    const data = job.data;
    const live = await this.current(data);
    if (!live) {
      await this.status.finish(data.jobId, 'cancelled');
      return 'cancelled';
    }
    if (data.step === 'fanout') {
      const { items } = await this.repo.counts(data.catalogue, live.meta.generation);
      await this.status.markRunning(data.jobId, items);
      let page = 0;
      for await (const ids of this.repo.scanItemIds(data.catalogue, REINDEX_BATCH_SIZE)) {
        await this.addBatch(job, data, ids, `p${page++}`);
      }
      await job.updateData({ ...data, step: 'reconcile', round: 0 });
      if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      return this.runParent(await this.reload(job), token);
    }
    // Reconcile: every item must have a vector in the new generation (or one on its way from a write).
    const missing: string[] = [];
    for await (const ids of this.repo.scanItemIds(data.catalogue, 1000)) {
      const absent = await this.repo.missingIn(data.catalogue, data.generation, ids);
      const pending = await this.repo.getPending(data.catalogue, data.generation, absent);
      absent.forEach((id, i) => pending[i] === null && missing.push(id));
    }
    if (missing.length > 0) {
      if (data.round >= MAX_RECONCILE_ROUNDS) {
        throw new Error(
          `${missing.length} items could not be embedded after ${MAX_RECONCILE_ROUNDS} rounds (e.g. ${missing.slice(0, 3).join(', ')})`,
        );
      }
      for (let i = 0; i < missing.length; i += REINDEX_BATCH_SIZE) {
        await this.addBatch(job, data, missing.slice(i, i + REINDEX_BATCH_SIZE), `r${data.round}-${i}`);
      }
      await job.updateData({ ...data, round: data.round + 1 });
      if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      return this.runParent(await this.reload(job), token);
    }
    const old = await this.repo.activateGeneration(data.catalogue, data.generation, data.jobId);
    if (old < 0) {
      await this.status.finish(data.jobId, 'cancelled');
      return 'cancelled';
    }
    await this.repo.dropGeneration(data.catalogue, old);
    await this.status.finish(data.jobId, 'completed');
    this.logger.log(`reindex ${data.jobId}: generation ${data.generation} (${live.next.model}) is active`);
    return 'completed';
  }

  private async reload(job: Job<ReindexCatalogueJob>): Promise<Job<ReindexCatalogueJob>> {
    const fresh = (await Job.fromId<ReindexCatalogueJob>(this.reindexQueue.queue, job.id!)) ?? job;
    fresh.token = job.token;
    return fresh;
  }

  private async addBatch(
    parent: Job<ReindexCatalogueJob>,
    data: ReindexCatalogueJob,
    ids: string[],
    tag: string,
  ): Promise<void> {
    await this.reindexQueue.queue.add(
      JobName.ReindexBatch,
      { catalogue: data.catalogue, generation: data.generation, jobId: data.jobId, ids },
      {
        // Deterministic: fanning out again after a crash adds nothing twice.
        jobId: `${data.jobId}-${tag}-${textHash(ids.join('\n')).slice(0, 12)}`,
        parent: { id: parent.id!, queue: parent.queueQualifiedName },
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
        // A batch that keeps failing must not block the flow: reconcile retries its items.
        ignoreDependencyOnFailure: true,
        removeOnComplete: true,
        removeOnFail: { age: 7 * 86400 },
      },
    );
  }

  /** Embeds a page of items into the next generation; stale when that generation was cancelled or replaced. */
  private async runBatch(data: ReindexBatchJob): Promise<string> {
    const live = await this.current(data);
    if (!live) return 'stale: generation';
    const spec = live.next;
    const items = await this.repo.getItems(data.catalogue, data.ids);
    const todo: { id: string; hash: string; text: string }[] = [];
    for (const item of items) {
      if (!item) continue;
      const text = itemText(item, spec.textTemplate);
      todo.push({ id: item.id, hash: textHash(text), text });
    }
    const missing = new Set(
      await this.repo.missingIn(
        data.catalogue,
        data.generation,
        todo.map((t) => t.id),
      ),
    );
    const work = todo.filter((t) => missing.has(t.id));
    const embedder = await this.embedders.get(spec.model);
    const size = this.config.EMBED_BATCH_SIZE;
    for (let i = 0; i < work.length; i += size) {
      const chunk = work.slice(i, i + size);
      const vectors = await embedder.embed(chunk.map((c) => c.text));
      const stored = await this.repo.storeVectors(
        data.catalogue,
        data.generation,
        'fill',
        chunk.map((c, j) => ({ id: c.id, hash: c.hash, vector: vectors[j] })),
      );
      if (stored < 0) return 'stale: generation';
    }
    await this.status.addProcessed(data.jobId, data.ids.length);
    return `embedded ${work.length}`;
  }

  private async failFlow(data: ReindexCatalogueJob, reason: string): Promise<void> {
    const generation = await this.repo.closeGeneration(data.catalogue, data.jobId);
    if (generation > 0) await this.repo.dropGeneration(data.catalogue, generation);
    await this.status.finish(data.jobId, 'failed', reason);
    this.logger.warn(`reindex ${data.jobId} failed: ${reason}`);
  }
}
