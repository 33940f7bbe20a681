import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import type { Item } from '../domain/item';
import { createRedis } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import { IndexRegistry, type CatalogueIndex, type CatalogueView } from './index-registry';

export type ChangeOp = 'item' | 'upsert' | 'delete' | 'activate';

export interface ChangeEntry {
  streamId: string;
  catalogue: string;
  op: ChangeOp;
  id: string;
  generation: number;
}

/**
 * Keeps this replica's catalogue views equal to Redis: builds them at start, then applies the change
 * stream (`item` = fields changed, `upsert` = vector stored, `delete`, `activate` = a reindex's new
 * generation takes over) that the API and workers append to.
 */
@Injectable()
export class StreamFollower implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamFollower.name);
  private blocking?: Redis;
  private running = false;
  private loop?: Promise<void>;
  private lastId = '0-0';
  private caughtUpOnce = false;
  private lastReadAt = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly repo: CatalogueRepository,
    private readonly registry: IndexRegistry,
  ) {}

  /** Ready once the initial build is done and the stream was read recently. */
  get following(): boolean {
    return this.caughtUpOnce && Date.now() - this.lastReadAt < 10_000;
  }

  get offset(): string {
    return this.lastId;
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.blocking = createRedis(this.config.REDIS_URL, this.logger, {
      name: 'index-follower',
      forWorker: true,
    });
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.blocking?.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!this.caughtUpOnce) await this.initialBuild();
        await this.readOnce();
      } catch (e) {
        if (!this.running) return;
        this.logger.warn(`index stream: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async initialBuild(): Promise<void> {
    // Take the offset first: anything appended during the build is replayed (applying twice is harmless).
    const last = await this.redis.xrevrange(this.keys.indexChanges, '+', '-', 'COUNT', 1);
    const startId = last.length > 0 ? last[0][0] : '0-0';
    for (const catalogue of await this.repo.listCatalogues()) await this.rebuild(catalogue);
    this.lastId = startId;
    this.caughtUpOnce = true;
    this.lastReadAt = Date.now();
  }

  /** Builds a catalogue's view (items + active generation's index) from Redis and swaps it in. */
  async rebuild(catalogue: string): Promise<CatalogueView | undefined> {
    const meta = await this.repo.meta(catalogue);
    if (!meta) {
      this.registry.drop(catalogue);
      return undefined;
    }
    const started = Date.now();
    const items = new Map<string, Item>();
    for await (const page of this.repo.scanAllItems(catalogue))
      for (const item of page) items.set(item.id, item);
    const index = await this.buildIndex(catalogue, meta.generation, meta.model);
    const view: CatalogueView = { catalogue, items, index };
    this.registry.set(view);
    this.logger.log(
      `catalogue ${catalogue} loaded from Redis: ${items.size} items, ${index?.index.size ?? 0} vectors in ${Date.now() - started} ms`,
    );
    return view;
  }

  /** Builds one generation's index from the vectors stored in Redis. */
  async buildIndex(
    catalogue: string,
    generation: number,
    model: string,
  ): Promise<CatalogueIndex | undefined> {
    const count = await this.redis.hlen(this.keys.vectors(catalogue, generation));
    let entry: CatalogueIndex | undefined;
    for await (const page of this.repo.scanVectors(catalogue, generation)) {
      entry ??= this.registry.createIndex(catalogue, generation, model, page[0][1].length, count + 1024);
      for (const [id, vector] of page) entry.index.upsert(id, vector);
    }
    return entry;
  }

  private async readOnce(): Promise<void> {
    const res = (await this.blocking!.xread(
      'COUNT',
      1000,
      'BLOCK',
      1000,
      'STREAMS',
      this.keys.indexChanges,
      this.lastId,
    ));
    this.lastReadAt = Date.now();
    if (!res) return;
    const entries: ChangeEntry[] = [];
    for (const [, messages] of res) {
      for (const [streamId, fields] of messages) {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        entries.push({
          streamId,
          catalogue: f.c,
          op: f.op as ChangeOp,
          id: f.id,
          generation: Number(f.gen ?? 1),
        });
      }
    }
    await this.apply(entries);
    this.lastId = entries[entries.length - 1].streamId;
  }

  /** Applies a batch of changes in order; between `activate` entries, one HMGET per catalogue and kind. */
  async apply(entries: ChangeEntry[]): Promise<void> {
    let segment: ChangeEntry[] = [];
    for (const e of entries) {
      if (e.op !== 'activate') {
        segment.push(e);
        continue;
      }
      await this.applySegment(segment);
      segment = [];
      await this.activate(e.catalogue, e.generation);
    }
    await this.applySegment(segment);
  }

  private async applySegment(entries: ChangeEntry[]): Promise<void> {
    const byCatalogue = new Map<string, ChangeEntry[]>();
    for (const e of entries) {
      const list = byCatalogue.get(e.catalogue) ?? [];
      list.push(e);
      byCatalogue.set(e.catalogue, list);
    }
    for (const [catalogue, changes] of byCatalogue) {
      const view = this.registry.view(catalogue);
      if (!view) {
        // A catalogue new to this replica: build it from Redis (covers every change in this batch).
        await this.rebuild(catalogue);
        continue;
      }
      await this.applyItems(view, changes);
      await this.applyVectors(view, changes);
    }
  }

  /** A reindex finished: build the new generation's index while the old one serves, then swap. */
  private async activate(catalogue: string, generation: number): Promise<void> {
    const view = this.registry.view(catalogue);
    if (!view) {
      await this.rebuild(catalogue);
      return;
    }
    if (view.index && view.index.generation >= generation) return;
    const meta = await this.repo.meta(catalogue);
    // A later activation is further down the stream; build only the generation that is active now.
    if (!meta || meta.generation !== generation) return;
    const started = Date.now();
    const index = await this.buildIndex(catalogue, generation, meta.model);
    if (index) this.registry.setIndex(catalogue, index);
    else view.index = undefined;
    this.logger.log(
      `catalogue ${catalogue} switched to generation ${generation} (${meta.model}, ${index?.index.size ?? 0} vectors) in ${Date.now() - started} ms`,
    );
  }

  private async applyItems(view: CatalogueView, changes: ChangeEntry[]): Promise<void> {
    const changed = [
      ...new Set(changes.filter((c) => c.op === 'item' || c.op === 'delete').map((c) => c.id)),
    ];
    const items = await this.repo.getItems(view.catalogue, changed);
    changed.forEach((id, i) => {
      const item = items[i];
      if (item) view.items.set(id, item);
      else view.items.delete(id);
    });
  }

  private async applyVectors(view: CatalogueView, changes: ChangeEntry[]): Promise<void> {
    const current = view.index?.generation;
    // Deletes apply to whatever generation is served; upserts only to their own generation.
    const relevant = changes.filter(
      (c) => c.op === 'delete' || (c.op === 'upsert' && (current === undefined || c.generation === current)),
    );
    if (relevant.length === 0) return;
    // Net effect per id, in order: the last op wins.
    const lastOp = new Map<string, ChangeOp>();
    for (const c of relevant) lastOp.set(c.id, c.op);
    const generation = current ?? relevant.find((c) => c.op === 'upsert')?.generation;
    if (generation === undefined) return;
    const upserts = [...lastOp].filter(([, op]) => op === 'upsert').map(([id]) => id);
    const vectors = await this.repo.getVectors(view.catalogue, generation, upserts);
    if (!view.index) {
      // Nothing served yet: the first stored vector creates the index (its dimension comes from it).
      const first = vectors.find((v) => v !== undefined);
      if (!first) return;
      const meta = await this.repo.meta(view.catalogue);
      if (!meta || meta.generation !== generation) return;
      this.registry.setIndex(
        view.catalogue,
        this.registry.createIndex(view.catalogue, generation, meta.model, first.length),
      );
    }
    const entry = view.index;
    if (!entry || entry.generation !== generation) return;
    for (const [id, op] of lastOp) if (op === 'delete') entry.index.remove(id);
    upserts.forEach((id, i) => {
      const v = vectors[i];
      // No vector: deleted since the entry was written; the delete entry follows.
      if (v) entry.index.upsert(id, v);
      else entry.index.remove(id);
    });
  }
}
