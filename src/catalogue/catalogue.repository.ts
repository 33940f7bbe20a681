import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { DEFAULT_TEXT_TEMPLATE, type Item } from '../domain/item';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import type {
  CatalogueMeta,
  EmbedRequest,
  GenerationSpec,
  ItemIndexing,
  StoredItem,
} from './catalogue.types';

export const STREAM_MAXLEN = 1_000_000;

// Deletes an item, its vectors in every live generation, and tells every replica, in one atomic step.
// KEYS: items, stream, then (pending, indexed, vectors) per live generation. ARGV: id, catalogue, maxlen.
const DELETE_ITEM = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 3, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'c', ARGV[2], 'op', 'delete', 'id', ARGV[1], 'gen', '0')
return 1
`;

// Stores vectors for items whose content is still the one embedded; a newer write or a delete wins.
// Embed jobs (mode 'job') need the pending hash to match; reindex batches (mode 'fill') only fill gaps.
// KEYS: pending, indexed, vectors, stream, meta, items.
// ARGV: catalogue, generation, at, maxlen, dim, mode, then (id, hash, bytes)*.
const STORE_VECTORS = `
local gen = ARGV[2]
local active = redis.call('HGET', KEYS[5], 'generation')
local nextg = redis.call('HGET', KEYS[5], 'nextGeneration')
if active ~= gen and nextg ~= gen then return -1 end
local stored = 0
for i = 7, #ARGV, 3 do
  local id, hash, bytes = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('HEXISTS', KEYS[6], id) == 1 then
    local pending = redis.call('HGET', KEYS[1], id)
    local ok
    if ARGV[6] == 'job' then
      ok = pending == hash
    else
      ok = (not pending or pending == hash) and redis.call('HEXISTS', KEYS[2], id) == 0
    end
    if ok then
      redis.call('HSET', KEYS[3], id, bytes)
      redis.call('HSET', KEYS[2], id, hash .. '|' .. ARGV[3])
      redis.call('HDEL', KEYS[1], id)
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[1], 'op', 'upsert', 'id', id, 'gen', gen)
      stored = stored + 1
    end
  end
end
if stored > 0 then
  if active == gen then redis.call('HSETNX', KEYS[5], 'dimension', ARGV[5])
  else redis.call('HSETNX', KEYS[5], 'nextDimension', ARGV[5]) end
end
return stored
`;

// Opens the next generation unless a reindex is already running. KEYS: meta. ARGV: model, template, jobId.
const OPEN_GENERATION = `
local running = redis.call('HGET', KEYS[1], 'nextJobId')
if running then return {0, running} end
local active = tonumber(redis.call('HGET', KEYS[1], 'generation'))
local last = tonumber(redis.call('HGET', KEYS[1], 'lastGeneration') or active)
if last < active then last = active end
local gen = last + 1
redis.call('HSET', KEYS[1], 'lastGeneration', gen, 'nextGeneration', gen, 'nextModel', ARGV[1],
  'nextTextTemplate', ARGV[2], 'nextJobId', ARGV[3])
redis.call('HDEL', KEYS[1], 'nextDimension')
return {gen, ARGV[3]}
`;

// Makes the next generation the active one (every replica swaps on the 'activate' entry).
// KEYS: meta, stream. ARGV: generation, jobId, catalogue, maxlen. Returns the old generation or -1.
const ACTIVATE_GENERATION = `
if redis.call('HGET', KEYS[1], 'nextGeneration') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'nextJobId') ~= ARGV[2] then
  return -1
end
local old = tonumber(redis.call('HGET', KEYS[1], 'generation'))
local m = redis.call('HMGET', KEYS[1], 'nextModel', 'nextTextTemplate', 'nextDimension')
redis.call('HSET', KEYS[1], 'generation', ARGV[1], 'model', m[1], 'textTemplate', m[2])
if m[3] then redis.call('HSET', KEYS[1], 'dimension', m[3]) end
redis.call('HDEL', KEYS[1], 'nextGeneration', 'nextModel', 'nextTextTemplate', 'nextJobId', 'nextDimension')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[3], 'op', 'activate', 'id', '', 'gen', ARGV[1])
return old
`;

// Abandons the next generation if it still belongs to this job. KEYS: meta. ARGV: jobId.
const CLOSE_GENERATION = `
if redis.call('HGET', KEYS[1], 'nextJobId') ~= ARGV[1] then return -1 end
local gen = tonumber(redis.call('HGET', KEYS[1], 'nextGeneration'))
redis.call('HDEL', KEYS[1], 'nextGeneration', 'nextModel', 'nextTextTemplate', 'nextJobId', 'nextDimension')
return gen
`;

export function textHash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export function vectorToBuffer(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function bufferToVector(b: Buffer): Float32Array {
  // Copy: ioredis buffers may share a pool and be unaligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  Buffer.from(out.buffer).set(b);
  return out;
}

/** The generations an item write must keep current: the active one and, during a reindex, the next. */
export function liveGenerations(meta: CatalogueMeta): GenerationSpec[] {
  const live: GenerationSpec[] = [
    { generation: meta.generation, model: meta.model, textTemplate: meta.textTemplate },
  ];
  if (meta.next) live.push(meta.next);
  return live;
}

/** All item, vector and catalogue I/O in Redis. */
@Injectable()
export class CatalogueRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async meta(catalogue: string): Promise<CatalogueMeta | undefined> {
    const raw = await this.redis.hgetall(this.keys.catalogueMeta(catalogue));
    if (!raw.model) return undefined;
    const meta: CatalogueMeta = {
      name: catalogue,
      model: raw.model,
      dimension: raw.dimension ? Number(raw.dimension) : undefined,
      generation: Number(raw.generation ?? 1),
      textTemplate: raw.textTemplate ?? DEFAULT_TEXT_TEMPLATE,
      createdAt: raw.createdAt ?? '',
    };
    if (raw.nextGeneration && raw.nextJobId) {
      meta.next = {
        generation: Number(raw.nextGeneration),
        model: raw.nextModel,
        textTemplate: raw.nextTextTemplate ?? meta.textTemplate,
        jobId: raw.nextJobId,
      };
    }
    return meta;
  }

  /** Creates the catalogue's record on first write; returns what is stored. */
  async ensureCatalogue(catalogue: string, model: string): Promise<CatalogueMeta> {
    const key = this.keys.catalogueMeta(catalogue);
    await this.redis
      .multi()
      .hsetnx(key, 'model', model)
      .hsetnx(key, 'generation', '1')
      .hsetnx(key, 'textTemplate', DEFAULT_TEXT_TEMPLATE)
      .hsetnx(key, 'createdAt', new Date().toISOString())
      .sadd(this.keys.catalogues, catalogue)
      .exec();
    return (await this.meta(catalogue))!;
  }

  async listCatalogues(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.catalogues)).sort();
  }

  async exists(catalogue: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.catalogues, catalogue)) === 1;
  }

  async counts(
    catalogue: string,
    generation: number,
  ): Promise<{ items: number; indexed: number; pending: number }> {
    const [items, indexed, pending] = await Promise.all([
      this.redis.hlen(this.keys.items(catalogue)),
      this.redis.hlen(this.keys.indexed(catalogue, generation)),
      this.redis.hlen(this.keys.pending(catalogue, generation)),
    ]);
    return { items, indexed, pending };
  }

  /**
   * Writes items (validated, with their text hash per live generation) in one MULTI, so a batch lands
   * whole or not at all. Returns the embeddings to make: items whose text changed in a generation.
   */
  async upsertItems(
    catalogue: string,
    items: { item: Item; hashes: Map<number, string> }[],
  ): Promise<EmbedRequest[]> {
    // Later duplicates of an id in one batch win, as they would in sequential writes.
    const last = new Map(items.map((entry, i) => [entry.item.id, i]));
    const unique = items.filter((entry, i) => last.get(entry.item.id) === i);
    const ids = unique.map((u) => u.item.id);
    const generations = [...unique[0].hashes.keys()];
    const read = this.redis.pipeline();
    for (const g of generations) {
      read.hmget(this.keys.pending(catalogue, g), ...ids);
      read.hmget(this.keys.indexed(catalogue, g), ...ids);
    }
    const results = (await read.exec())!.map(([err, value]) => {
      if (err) throw err;
      return value as (string | null)[];
    });
    const tx = this.redis.multi();
    tx.hset(this.keys.items(catalogue), ...unique.flatMap((u) => [u.item.id, JSON.stringify(u.item)]));
    const toEmbed: EmbedRequest[] = [];
    generations.forEach((g, gi) => {
      const pending = results[gi * 2];
      const indexed = results[gi * 2 + 1];
      const setPending: string[] = [];
      const clearPending: string[] = [];
      unique.forEach((u, i) => {
        const hash = u.hashes.get(g)!;
        if (pending[i] === hash) return;
        if (indexed[i]?.startsWith(`${hash}|`)) {
          // Back to the text already embedded: nothing to do, and an older pending change is void.
          if (pending[i] !== null) clearPending.push(u.item.id);
          return;
        }
        setPending.push(u.item.id, hash);
        toEmbed.push({ id: u.item.id, hash, generation: g });
      });
      if (setPending.length > 0) tx.hset(this.keys.pending(catalogue, g), ...setPending);
      if (clearPending.length > 0) tx.hdel(this.keys.pending(catalogue, g), ...clearPending);
    });
    // Replicas keep item fields in memory for filters and answers; tell them which changed.
    for (const id of ids) {
      tx.xadd(
        this.keys.indexChanges,
        'MAXLEN',
        '~',
        STREAM_MAXLEN,
        '*',
        'c',
        catalogue,
        'op',
        'item',
        'id',
        id,
        'gen',
        '0',
      );
    }
    const outcome = await tx.exec();
    const failed = outcome?.find(([err]) => err);
    if (!outcome || failed) throw failed?.[0] ?? new Error('item write was aborted');
    return toEmbed;
  }

  async getItem(catalogue: string, id: string, meta: CatalogueMeta): Promise<StoredItem | undefined> {
    const g = meta.generation;
    const [item, pending, indexed] = await Promise.all([
      this.redis.hget(this.keys.items(catalogue), id),
      this.redis.hget(this.keys.pending(catalogue, g), id),
      this.redis.hget(this.keys.indexed(catalogue, g), id),
    ]);
    if (!item) return undefined;
    const indexing: ItemIndexing =
      pending === null && indexed !== null
        ? { state: 'indexed', model: meta.model, at: indexed.slice(indexed.indexOf('|') + 1) }
        : { state: 'pending', model: meta.model, at: null };
    return { item: JSON.parse(item) as Item, indexing };
  }

  /** Items by id, in order; missing (deleted) ids are undefined. */
  async getItems(catalogue: string, ids: string[]): Promise<(Item | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.items(catalogue), ...ids);
    return raw.map((r) => (r ? (JSON.parse(r) as Item) : undefined));
  }

  async getPending(catalogue: string, generation: number, ids: string[]): Promise<(string | null)[]> {
    if (ids.length === 0) return [];
    return this.redis.hmget(this.keys.pending(catalogue, generation), ...ids);
  }

  /** Ids (of those given) that have no vector yet in a generation. */
  async missingIn(catalogue: string, generation: number, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hexists(this.keys.indexed(catalogue, generation), id);
    const res = (await pipe.exec())!;
    return ids.filter((_, i) => res[i][1] === 0);
  }

  async deleteItem(catalogue: string, id: string, meta: CatalogueMeta): Promise<boolean> {
    const genKeys = liveGenerations(meta).flatMap((g) => [
      this.keys.pending(catalogue, g.generation),
      this.keys.indexed(catalogue, g.generation),
      this.keys.vectors(catalogue, g.generation),
    ]);
    const removed = (await this.redis.eval(
      DELETE_ITEM,
      2 + genKeys.length,
      this.keys.items(catalogue),
      this.keys.indexChanges,
      ...genKeys,
      id,
      catalogue,
      String(STREAM_MAXLEN),
    )) as number;
    return removed === 1;
  }

  /** Returns how many vectors were stored (stale ones are skipped), or -1 if the generation is gone. */
  async storeVectors(
    catalogue: string,
    generation: number,
    mode: 'job' | 'fill',
    entries: { id: string; hash: string; vector: Float32Array }[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const args: (string | Buffer)[] = [
      catalogue,
      String(generation),
      new Date().toISOString(),
      String(STREAM_MAXLEN),
      String(entries[0].vector.length),
      mode,
    ];
    for (const e of entries) args.push(e.id, e.hash, vectorToBuffer(e.vector));
    return (await this.redis.eval(
      STORE_VECTORS,
      6,
      this.keys.pending(catalogue, generation),
      this.keys.indexed(catalogue, generation),
      this.keys.vectors(catalogue, generation),
      this.keys.indexChanges,
      this.keys.catalogueMeta(catalogue),
      this.keys.items(catalogue),
      ...args,
    )) as number;
  }

  async getVectors(
    catalogue: string,
    generation: number,
    ids: string[],
  ): Promise<(Float32Array | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmgetBuffer(this.keys.vectors(catalogue, generation), ...ids);
    return raw.map((b) => (b ? bufferToVector(b) : undefined));
  }

  async vectorCount(catalogue: string, generation: number): Promise<number> {
    return this.redis.hlen(this.keys.vectors(catalogue, generation));
  }

  /** Pages through every stored vector of a generation (HSCAN), for index rebuilds. */
  async *scanVectors(
    catalogue: string,
    generation: number,
    count = 1000,
  ): AsyncGenerator<[string, Float32Array][]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscanBuffer(
        this.keys.vectors(catalogue, generation),
        cursor,
        'COUNT',
        count,
      );
      cursor = next.toString();
      const page: [string, Float32Array][] = [];
      for (let i = 0; i < flat.length; i += 2) page.push([flat[i].toString(), bufferToVector(flat[i + 1])]);
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /** Pages through every item (HSCAN), for building a replica's in-memory view. */
  async *scanAllItems(catalogue: string, count = 1000): AsyncGenerator<Item[]> {
    let cursor = '0';
    do {
      const page = await this.scanItems(catalogue, cursor, count);
      cursor = page.cursor;
      if (page.items.length > 0) yield page.items;
    } while (cursor !== '0');
  }

  /** Pages through item ids only (HSCAN NOVALUES is Redis 7.4+, so values are read and dropped). */
  async *scanItemIds(catalogue: string, count = 1000): AsyncGenerator<string[]> {
    for await (const page of this.scanAllItems(catalogue, count)) yield page.map((i) => i.id);
  }

  /** Pages through items in a stable order of HSCAN cursors; `cursor` is opaque to clients. */
  async scanItems(
    catalogue: string,
    cursor: string,
    count: number,
  ): Promise<{ items: Item[]; cursor: string }> {
    const [next, flat] = await this.redis.hscan(this.keys.items(catalogue), cursor, 'COUNT', count);
    const items: Item[] = [];
    for (let i = 1; i < flat.length; i += 2) items.push(JSON.parse(flat[i]) as Item);
    return { items, cursor: next };
  }

  /** Starts a next generation for a reindex; `{generation: 0, jobId}` names a reindex already running. */
  async openGeneration(
    catalogue: string,
    model: string,
    textTemplate: string,
    jobId: string,
  ): Promise<{ generation: number; jobId: string }> {
    const [generation, running] = (await this.redis.eval(
      OPEN_GENERATION,
      1,
      this.keys.catalogueMeta(catalogue),
      model,
      textTemplate,
      jobId,
    )) as [number, string];
    return { generation, jobId: running };
  }

  async activateGeneration(catalogue: string, generation: number, jobId: string): Promise<number> {
    return (await this.redis.eval(
      ACTIVATE_GENERATION,
      2,
      this.keys.catalogueMeta(catalogue),
      this.keys.indexChanges,
      String(generation),
      jobId,
      catalogue,
      String(STREAM_MAXLEN),
    )) as number;
  }

  async closeGeneration(catalogue: string, jobId: string): Promise<number> {
    return (await this.redis.eval(CLOSE_GENERATION, 1, this.keys.catalogueMeta(catalogue), jobId)) as number;
  }

  /** Frees a generation that no query can reach any more (UNLINK frees memory in the background). */
  async dropGeneration(catalogue: string, generation: number): Promise<void> {
    await this.redis.unlink(
      this.keys.pending(catalogue, generation),
      this.keys.indexed(catalogue, generation),
      this.keys.vectors(catalogue, generation),
    );
  }
}
