import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Job, Worker } from 'bullmq';
import { CatalogueRepository, liveGenerations, textHash } from '../catalogue/catalogue.repository';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { itemText } from '../domain/item';
import { EmbedderService } from '../embedding/embedder.service';
import { RedisKeys } from '../redis/redis-keys';
import { consumerWorker, JobName, QueueName, type EmbedItemJob } from './queues';

interface Waiting {
  job: Job<EmbedItemJob>;
  resolve: (result: string) => void;
  reject: (error: Error) => void;
}

/**
 * Embeds items: BullMQ hands jobs over one at a time (concurrency N); they are gathered into batches
 * so the model sees up to EMBED_BATCH_SIZE texts per call when the queue is deep.
 */
@Injectable()
export class EmbedProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EmbedProcessor.name);
  private worker?: Worker<EmbedItemJob, string>;
  private waiting: Waiting[] = [];
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: RedisKeys,
    private readonly repo: CatalogueRepository,
    private readonly embedders: EmbedderService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.embedders.get();
    this.worker = consumerWorker<EmbedItemJob, string>(
      QueueName.Embed,
      { [JobName.EmbedItem]: (job) => this.enqueueForBatch(job) },
      this.config.REDIS_URL,
      this.keys.queuePrefix,
      this.logger,
      { concurrency: this.config.EMBED_CONCURRENCY, autorun: true },
    );
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        this.logger.warn(`embed ${job.data.catalogue}/${job.data.id} failed for good: ${err.message}`);
      }
    });
    this.logger.log(
      `embed worker started (batch ${this.config.EMBED_BATCH_SIZE}, concurrency ${this.config.EMBED_CONCURRENCY})`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    // Finishes the jobs in hand (their batch is flushed by the timer) and takes no new ones.
    await this.worker?.close();
  }

  private enqueueForBatch(job: Job<EmbedItemJob>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      if (this.waiting.length >= this.config.EMBED_BATCH_SIZE) this.schedule(0);
      else this.schedule(10);
    });
  }

  private schedule(delayMs: number): void {
    if (this.busy) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.drain(), delayMs);
  }

  private async drain(): Promise<void> {
    this.timer = undefined;
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.config.EMBED_BATCH_SIZE);
        await this.runBatch(batch);
        // A partial batch waits briefly for more jobs unless the worker is closing.
        if (
          this.waiting.length > 0 &&
          this.waiting.length < this.config.EMBED_BATCH_SIZE &&
          !this.worker?.closing
        ) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const groups = new Map<string, Waiting[]>();
    for (const w of batch) {
      const key = `${w.job.data.catalogue}\0${w.job.data.generation}`;
      groups.set(key, [...(groups.get(key) ?? []), w]);
    }
    for (const group of groups.values()) {
      try {
        const results = await this.embedGroup(group.map((w) => w.job.data));
        group.forEach((w, i) => w.resolve(results[i]));
      } catch (e) {
        group.forEach((w) => w.reject(e as Error));
      }
    }
  }

  /** Embeds one catalogue's jobs for one generation; skips jobs made stale by a newer write, a delete or a newer generation. */
  async embedGroup(jobs: EmbedItemJob[]): Promise<string[]> {
    const { catalogue, generation } = jobs[0];
    const meta = await this.repo.meta(catalogue);
    const spec = meta && liveGenerations(meta).find((g) => g.generation === generation);
    if (!spec) return jobs.map(() => 'stale: generation');
    const ids = jobs.map((j) => j.id);
    const [items, pending] = await Promise.all([
      this.repo.getItems(catalogue, ids),
      this.repo.getPending(catalogue, generation, ids),
    ]);
    const fresh: { id: string; hash: string; text: string }[] = [];
    const results = jobs.map((job, i): string => {
      const item = items[i];
      if (!item) return 'stale: deleted';
      if (pending[i] !== job.hash) return 'stale: changed';
      const text = itemText(item, spec.textTemplate);
      if (textHash(text) !== job.hash) return 'stale: changed';
      fresh.push({ id: job.id, hash: job.hash, text });
      return 'embedded';
    });
    if (fresh.length === 0) return results;
    const embedder = await this.embedders.get(spec.model);
    const vectors = await embedder.embed(fresh.map((f) => f.text));
    const stored = await this.repo.storeVectors(
      catalogue,
      generation,
      'job',
      fresh.map((f, i) => ({ id: f.id, hash: f.hash, vector: vectors[i] })),
    );
    if (stored < 0) return jobs.map(() => 'stale: generation');
    return results;
  }
}
