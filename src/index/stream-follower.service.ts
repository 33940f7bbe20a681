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
import { ItemMap } from '../domain/item-map';
import { createRedis } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import cluster from 'node:cluster';
import { IndexRegistry, type CatalogueIndex, type CatalogueView } from './index-registry';
import { SnapshotStore } from './snapshot.store';

const COMPACT_MIN_TOMBSTONES = 1000;
const COMPACT_RATIO = 0.25;

/** Orders stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}

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
  /** Serialises index mutations with snapshot writes (hnswlib must not change while it is written). */
  private lock: Promise<unknown> = Promise.resolve();
  /** Catalogues changed since their last snapshot. */
  private readonly dirty = new Set<string>();
  /** Ids touched while a catalogue is being compacted, re-applied before the swap. */
  private readonly compacting = new Map<string, Set<string>>();
  private snapshotTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly repo: CatalogueRepository,
    private readonly registry: IndexRegistry,
    private readonly snapshots: SnapshotStore,
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
    if (this.writesSnapshots && this.config.SNAPSHOT_INTERVAL_SECONDS > 0) {
      this.snapshotTimer = setInterval(
        () => void this.saveSnapshots(),
        this.config.SNAPSHOT_INTERVAL_SECONDS * 1000,
      );
      this.snapshotTimer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    clearInterval(this.snapshotTimer);
    this.blocking?.disconnect();
    await this.loop;
    if (this.caughtUpOnce && this.writesSnapshots) await this.saveSnapshots();
  }

  /** One replica per machine writes snapshots (replicas of a node:cluster share INDEX_DIR). */
  private get writesSnapshots(): boolean {
    return cluster.isPrimary || cluster.worker?.id === 1;
  }

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Writes a snapshot of every catalogue changed since its last one; returns how many were written. */
  async saveSnapshots(): Promise<number> {
    // Under the lock: no change is applied while a snapshot is being written (the write runs off the event loop).
    return this.exclusive(async () => {
      let written = 0;
      for (const catalogue of [...this.dirty]) {
        const entry = this.registry.get(catalogue);
        this.dirty.delete(catalogue);
        if (!entry) continue;
        try {
          const started = Date.now();
          await this.snapshots.write(entry, this.lastId);
          written++;
          this.logger.log(
            `snapshot of ${catalogue} (${entry.index.size} items) written in ${Date.now() - started} ms`,
          );
        } catch (e) {
          this.dirty.add(catalogue);
          this.logger.warn(`snapshot of ${catalogue} failed: ${(e as Error).message}`);
        }
      }
      return written;
    });
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

  /**
   * Loads each catalogue from its snapshot (or rebuilds it from Redis), then replays the stream from the
   * oldest offset any of them covers; replaying an entry twice is harmless.
   */
  private async initialBuild(): Promise<void> {
    // Take the tail first: anything appended during a rebuild is replayed.
    const last = await this.redis.xrevrange(this.keys.indexChanges, '+', '-', 'COUNT', 1);
    const tail = last.length > 0 ? last[0][0] : '0-0';
    const first = await this.redis.xrange(this.keys.indexChanges, '-', '+', 'COUNT', 1);
    const oldest = first.length > 0 ? first[0][0] : undefined;
    let startId = tail;
    for (const catalogue of await this.repo.listCatalogues()) {
      const offset = await this.loadFromSnapshot(catalogue, oldest);
      if (offset === undefined) {
        await this.rebuild(catalogue);
        this.dirty.add(catalogue);
      } else if (compareIds(offset, startId) < 0) {
        startId = offset;
      }
    }
    this.lastId = startId;
    this.caughtUpOnce = true;
    this.lastReadAt = Date.now();
  }

  /** Returns the snapshot's stream offset, or undefined (with a log line) when it must be rebuilt. */
  private async loadFromSnapshot(
    catalogue: string,
    oldestStreamId: string | undefined,
  ): Promise<string | undefined> {
    const meta = await this.repo.meta(catalogue);
    if (!meta) return undefined;
    const started = Date.now();
    let reason: string;
    try {
      const manifest = this.snapshots.read(catalogue);
      if (!manifest) {
        reason = 'there is no snapshot';
      } else if (manifest.generation !== meta.generation) {
        reason = `the snapshot is of generation ${manifest.generation}, the catalogue is on ${meta.generation}`;
      } else if (
        oldestStreamId &&
        manifest.streamOffset !== '0-0' &&
        compareIds(oldestStreamId, manifest.streamOffset) > 0
      ) {
        reason = 'the change stream was trimmed past the snapshot';
      } else {
        const index = this.snapshots.load(manifest, {
          m: this.config.HNSW_M,
          efConstruction: this.config.HNSW_EF_CONSTRUCTION,
          efSearch: this.config.HNSW_EF_SEARCH,
        });
        const items = await this.loadItems(catalogue);
        this.registry.set({
          catalogue,
          items,
          index: { catalogue, generation: manifest.generation, model: manifest.model, index },
        });
        this.logger.log(
          `catalogue ${catalogue} loaded from its snapshot: ${index.size} vectors, ${items.size} items in ${Date.now() - started} ms`,
        );
        return manifest.streamOffset;
      }
    } catch (e) {
      reason = `the snapshot is unreadable (${(e as Error).message})`;
    }
    this.logger.log(`catalogue ${catalogue}: ${reason}; rebuilding its index from the vectors in Redis`);
    return undefined;
  }

  private async loadItems(catalogue: string): Promise<ItemMap> {
    const items = new ItemMap();
    for await (const page of this.repo.scanAllItems(catalogue))
      for (const item of page) items.set(item.id, item);
    items.prepareNewest();
    return items;
  }

  /** Builds a catalogue's view (items + active generation's index) from Redis and swaps it in. */
  async rebuild(catalogue: string): Promise<CatalogueView | undefined> {
    const meta = await this.repo.meta(catalogue);
    if (!meta) {
      this.registry.drop(catalogue);
      return undefined;
    }
    const started = Date.now();
    const items = await this.loadItems(catalogue);
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
    const res = await this.blocking!.xread(
      'COUNT',
      1000,
      'BLOCK',
      1000,
      'STREAMS',
      this.keys.indexChanges,
      this.lastId,
    );
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
    await this.exclusive(async () => {
      await this.apply(entries);
      this.lastId = entries[entries.length - 1].streamId;
    });
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
    this.dirty.add(catalogue);
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
    this.dirty.add(view.catalogue);
    const touched = this.compacting.get(view.catalogue);
    if (touched) for (const id of lastOp.keys()) touched.add(id);
    else if (entry.index.tombstones > Math.max(COMPACT_MIN_TOMBSTONES, entry.index.size * COMPACT_RATIO)) {
      void this.compact(view.catalogue);
    }
  }

  /**
   * Rebuilds a catalogue's index without its tombstones, a slice at a time so queries keep being served;
   * changes applied meanwhile are replayed onto the new index before it is swapped in.
   */
  async compact(catalogue: string): Promise<void> {
    const old = this.registry.get(catalogue);
    if (!old || this.compacting.has(catalogue)) return;
    const touched = new Set<string>();
    this.compacting.set(catalogue, touched);
    const started = Date.now();
    try {
      const ids = [...old.index.ids()];
      const fresh = this.registry.createIndex(
        catalogue,
        old.generation,
        old.model,
        old.index.dimension,
        ids.length + 1024,
      );
      for (let i = 0; i < ids.length; i++) {
        const v = old.index.vector(ids[i]);
        if (v) fresh.index.upsert(ids[i], v);
        if (i % 256 === 255) await new Promise((r) => setImmediate(r));
      }
      await this.exclusive(() => {
        if (this.registry.get(catalogue) !== old) return;
        for (const id of touched) {
          const v = old.index.vector(id);
          if (v) fresh.index.upsert(id, v);
          else fresh.index.remove(id);
        }
        this.registry.setIndex(catalogue, fresh);
        this.dirty.add(catalogue);
        this.logger.log(
          `index ${catalogue} compacted: ${fresh.index.size} items in ${Date.now() - started} ms`,
        );
      });
    } finally {
      this.compacting.delete(catalogue);
    }
  }
}
