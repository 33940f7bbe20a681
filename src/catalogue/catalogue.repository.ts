import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { DEFAULT_TEXT_TEMPLATE, type Item } from '../domain/item';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import type { CatalogueMeta, EmbedRequest, ItemStateRecord, StoredItem } from './catalogue.types';

// Deletes the item, its state and vector, and tells every replica, in one atomic step.
const DELETE_ITEM = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[2], 'op', 'delete', 'id', ARGV[1], 'gen', ARGV[3])
return 1
`;

// Stores vectors only for items whose text is still the one embedded (a newer write or a delete wins).
// KEYS: state, vectors, stream, meta. ARGV: catalogue, generation, model, at, maxlen, dim, then (id, hash, bytes)*.
const STORE_VECTORS = `
local stored = 0
local meta_gen = tonumber(redis.call('HGET', KEYS[4], 'generation') or '1')
if meta_gen ~= tonumber(ARGV[2]) then return -1 end
for i = 7, #ARGV, 3 do
  local id, hash, bytes = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then
    local st = cjson.decode(raw)
    if st.hash == hash then
      redis.call('HSET', KEYS[2], id, bytes)
      st.state = 'indexed'; st.model = ARGV[3]; st.at = ARGV[4]; st.generation = tonumber(ARGV[2])
      redis.call('HSET', KEYS[1], id, cjson.encode(st))
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[1], 'op', 'upsert', 'id', id, 'gen', ARGV[2])
      stored = stored + 1
    end
  end
end
redis.call('HSETNX', KEYS[4], 'dimension', ARGV[6])
return stored
`;

export const STREAM_MAXLEN = 1_000_000;

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

/** All item, state and catalogue I/O in Redis. */
@Injectable()
export class CatalogueRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async meta(catalogue: string): Promise<CatalogueMeta | undefined> {
    const raw = await this.redis.hgetall(this.keys.catalogueMeta(catalogue));
    if (!raw.model) return undefined;
    return {
      name: catalogue,
      model: raw.model,
      dimension: raw.dimension ? Number(raw.dimension) : undefined,
      generation: Number(raw.generation ?? 1),
      textTemplate: raw.textTemplate ?? DEFAULT_TEXT_TEMPLATE,
      createdAt: raw.createdAt ?? '',
    };
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

  async itemCount(catalogue: string): Promise<number> {
    return this.redis.hlen(this.keys.items(catalogue));
  }

  /**
   * Writes items (already validated) with their embedding-text hashes; items whose text changed become
   * `pending` and are returned for embedding. One MULTI, so a batch lands whole or not at all.
   */
  async upsertItems(
    catalogue: string,
    items: { item: Item; hash: string }[],
    generation: number,
  ): Promise<EmbedRequest[]> {
    const ids = items.map((i) => i.item.id);
    const previous = await this.redis.hmget(this.keys.itemState(catalogue), ...ids);
    const now = new Date().toISOString();
    const toEmbed: EmbedRequest[] = [];
    const itemArgs: string[] = [];
    const stateArgs: string[] = [];
    // Later duplicates of an id in one batch win, as they would in sequential writes.
    const last = new Map(items.map((entry, i) => [entry.item.id, i]));
    items.forEach(({ item, hash }, i) => {
      if (last.get(item.id) !== i) return;
      itemArgs.push(item.id, JSON.stringify(item));
      const prev = previous[i] ? (JSON.parse(previous[i]) as ItemStateRecord) : undefined;
      if (prev && prev.hash === hash && prev.generation === generation) return;
      const state: ItemStateRecord = { state: 'pending', hash, generation, at: now };
      stateArgs.push(item.id, JSON.stringify(state));
      toEmbed.push({ id: item.id, hash });
    });
    const tx = this.redis.multi().hset(this.keys.items(catalogue), ...itemArgs);
    if (stateArgs.length > 0) tx.hset(this.keys.itemState(catalogue), ...stateArgs);
    // Replicas keep item fields in memory for filters and answers; tell them which changed.
    for (let i = 0; i < itemArgs.length; i += 2) {
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
        itemArgs[i],
        'gen',
        generation,
      );
    }
    await tx.exec();
    return toEmbed;
  }

  async getItem(catalogue: string, id: string): Promise<StoredItem | undefined> {
    const [item, state] = await Promise.all([
      this.redis.hget(this.keys.items(catalogue), id),
      this.redis.hget(this.keys.itemState(catalogue), id),
    ]);
    if (!item || !state) return undefined;
    return { item: JSON.parse(item) as Item, state: JSON.parse(state) as ItemStateRecord };
  }

  /** Items by id, in order; missing (deleted) ids are undefined. */
  async getItems(catalogue: string, ids: string[]): Promise<(Item | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.items(catalogue), ...ids);
    return raw.map((r) => (r ? (JSON.parse(r) as Item) : undefined));
  }

  async getStates(catalogue: string, ids: string[]): Promise<(ItemStateRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.itemState(catalogue), ...ids);
    return raw.map((r) => (r ? (JSON.parse(r) as ItemStateRecord) : undefined));
  }

  async deleteItem(catalogue: string, id: string, generation: number): Promise<boolean> {
    const removed = (await this.redis.eval(
      DELETE_ITEM,
      4,
      this.keys.items(catalogue),
      this.keys.itemState(catalogue),
      this.keys.vectors(catalogue, generation),
      this.keys.indexChanges,
      id,
      catalogue,
      String(generation),
      String(STREAM_MAXLEN),
    )) as number;
    return removed === 1;
  }

  /** Returns how many vectors were stored (stale ones are skipped), or -1 if the generation moved on. */
  async storeVectors(
    catalogue: string,
    generation: number,
    model: string,
    entries: { id: string; hash: string; vector: Float32Array }[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const args: (string | Buffer)[] = [
      catalogue,
      String(generation),
      model,
      new Date().toISOString(),
      String(STREAM_MAXLEN),
      String(entries[0].vector.length),
    ];
    for (const e of entries) args.push(e.id, e.hash, vectorToBuffer(e.vector));
    return (await this.redis.eval(
      STORE_VECTORS,
      4,
      this.keys.itemState(catalogue),
      this.keys.vectors(catalogue, generation),
      this.keys.indexChanges,
      this.keys.catalogueMeta(catalogue),
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
}
