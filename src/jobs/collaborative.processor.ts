import * as path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Worker } from 'bullmq';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import { APP_CONFIG, type AppConfig } from '../config/config';
import {
  decodeCollaborative,
  DEFAULT_COLLABORATIVE,
  trainCollaborative,
  type CollaborativeParams,
} from '../domain/personalization/collaborative';
import { USER_HISTORY_LENGTH } from '../domain/personalization/user-interests';
import { CollaborativeRepository, type CollaborativeMeta } from '../events/collaborative.repository';
import { EventsRepository } from '../events/events.repository';
import { RedisKeys } from '../redis/redis-keys';
import { CollaborativeQueue } from './collaborative.queue';
import { consumerWorker, JobName, QueueName, type TrainCollaborativeJob } from './queues';

// How often the worker looks for catalogues due a retrain (a model is due COLLAB_TRAIN_INTERVAL_SECONDS after the
// last one, once events moved; a catalogue without one is due at once).
const CHECK_EVERY_MS = 60_000;

/** Trains each catalogue's `collaborative` model from the stored histories, on request and when events moved on. */
@Injectable()
export class CollaborativeProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CollaborativeProcessor.name);
  private worker?: Worker<TrainCollaborativeJob, string>;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: RedisKeys,
    private readonly models: CollaborativeRepository,
    private readonly catalogues: CatalogueRepository,
    private readonly events: EventsRepository,
    private readonly queue: CollaborativeQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = consumerWorker<TrainCollaborativeJob, string>(
      QueueName.Models,
      {
        [JobName.TrainCollaborative]: async (job) => {
          const meta = await this.train(job.data.catalogue);
          return `version ${meta.version}: ${meta.items} items from ${meta.users} users in ${meta.trainMs} ms`;
        },
      },
      this.config.REDIS_URL,
      this.keys.queuePrefix,
      this.logger,
      {
        concurrency: 1,
        // Training runs on a thread, so the lock keeps being renewed; a killed worker's job resumes within a minute.
        lockDuration: 60_000,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`collaborative training of '${job?.data.catalogue}' failed: ${err.message}`),
    );
    if (this.config.COLLAB_TRAIN_INTERVAL_SECONDS > 0) {
      this.timer = setInterval(
        () => void this.enqueueDue().catch((e: Error) => this.logger.warn(`retrain check: ${e.message}`)),
        Math.min(CHECK_EVERY_MS, this.config.COLLAB_TRAIN_INTERVAL_SECONDS * 1000),
      );
      this.timer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.worker?.close();
  }

  /** Reads every user's and session's history, trains on a thread, stores the model (replicas pick it up). */
  async train(catalogue: string): Promise<CollaborativeMeta> {
    const started = Date.now();
    // Read first: events applied after this count go into the next model.
    const { applied } = await this.events.lag(catalogue);
    const histories: string[][] = [];
    for await (const lines of this.models.historyLists(catalogue, USER_HISTORY_LENGTH)) {
      if (histories.length >= this.config.COLLAB_MAX_HISTORIES) break;
      const items: string[] = [];
      for (const line of lines) {
        const bar = line.indexOf('|');
        if (bar > 0) items.push(line.slice(0, bar));
      }
      histories.push(items);
    }
    const model = await trainOffThread(histories, {
      ...DEFAULT_COLLABORATIVE,
      maxItems: this.config.COLLAB_MAX_ITEMS,
    });
    const meta = await this.models.save(catalogue, model, { events: applied, trainMs: Date.now() - started });
    this.logger.log(
      `collaborative model of '${catalogue}' v${meta.version}: ${meta.items} items from ${meta.users} histories in ${meta.trainMs} ms`,
    );
    return meta;
  }

  /** Queues training for every catalogue whose events moved since its model, once that model is old enough. */
  async enqueueDue(now = Date.now()): Promise<void> {
    for (const catalogue of await this.catalogues.listCatalogues()) {
      const [{ applied }, meta] = await Promise.all([
        this.events.lag(catalogue),
        this.models.meta(catalogue),
      ]);
      if (applied === 0 || applied === meta?.events) continue;
      const age = meta ? now - Date.parse(meta.trainedAt) : Infinity;
      if (age >= this.config.COLLAB_TRAIN_INTERVAL_SECONDS * 1000) await this.queue.enqueue(catalogue);
    }
  }
}

/** trainCollaborative on a worker thread (the compiled service); inline where only TypeScript sources exist (tests). */
function trainOffThread(histories: string[][], params: CollaborativeParams) {
  const file = path.join(__dirname, 'collaborative.thread.js');
  if (__filename.endsWith('.ts')) return Promise.resolve(trainCollaborative(histories, params));
  return new Promise<ReturnType<typeof trainCollaborative>>((resolve, reject) => {
    const thread = new Thread(file, { workerData: { histories, params } });
    thread.once('message', (bytes: Uint8Array) => {
      try {
        resolve(decodeCollaborative(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    thread.once('error', reject);
    thread.once('exit', (code) => {
      if (code !== 0) reject(new Error(`training thread exited with ${code}`));
    });
  });
}
