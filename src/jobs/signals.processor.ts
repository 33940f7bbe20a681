import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import { DEFAULT_RANKING_CONFIG, eventWeight, parseRankingConfig, type EventWeight } from '../domain/ranking';
import { DEFAULT_NEIGHBOUR_CAP, DEFAULT_WINDOW } from '../domain/personalization/co-occurrence';
import { USER_HISTORY_LENGTH } from '../domain/personalization/user-interests';
import type { QueuedEvent } from '../events/events.dto';
import { SIGNALS_GROUP } from '../events/events.repository';
import { RankingConfigRepository } from '../ranking/ranking-config.repository';
import { createRedis } from '../redis/redis-connection';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';

/** Anonymous session lists expire this long after their last event. */
export const SESSION_TTL_SECONDS = 7 * 86400;
const BATCH = 1000;
// Every replica reads as the same consumer: whoever holds the lease also takes over the pending entries of the
// one before it (XREADGROUP … 0), so a batch read but not applied by a replica that died is applied once, next.
const CONSUMER = 'signals-1';
// A changed `default` config's eventWeights and popularity half-life apply to events read after this long.
const SETTINGS_TTL_MS = 5_000;
/** Popularity scores are moved to a new epoch once events are this many half-lives past it (doubles overflow at 2^1024). */
export const REBASE_HALF_LIVES = 500;

// Reads the next batch only while holding the lease: this consumer's pending entries first (left by a crash or by
// the previous holder), then new ones. Returns -1 without the lease.
// KEYS: lease, streams... ARGV: token, group, consumer, count.
export const READ_SIGNALS = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local function read(from)
  local args = {'XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS'}
  for i = 2, #KEYS do args[#args + 1] = KEYS[i] end
  for i = 2, #KEYS do args[#args + 1] = from end
  return redis.call(unpack(args))
end
local pending = read('0')
for _, s in ipairs(pending or {}) do
  if #s[2] > 0 then return pending end
end
return read('>') or {}
`;

// Applies a batch in order and acks it in the same script, so a crash never applies an event twice; a replica
// that lost the lease applies nothing (returns -1), so two replicas never both apply.
// KEYS: popularity, popularity meta, cooc totals, events, lease. ARGV: hist prefix, cooc prefix, half-life s,
// max steps, max seconds (0 = none), backward weight, cap, history length, session ttl, group, lease token,
// rebase half-lives, n ids, ids..., then (item, ts, weight, user, session, type)*.
export const APPLY_SIGNALS = `
if redis.call('GET', KEYS[5]) ~= ARGV[11] then return -1 end
local histp, coocp = ARGV[1], ARGV[2]
local half, steps_max, max_s, back = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cap, hlen, sttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local rebase_after = tonumber(ARGV[12])
local nids = tonumber(ARGV[13])
local ids = {}
for i = 1, nids do ids[i] = ARGV[13 + i] end
local first = 14 + nids
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'halfLifeSeconds', 'latest')
local epoch, mhalf, latest = tonumber(meta[1] or ''), tonumber(meta[2] or ''), tonumber(meta[3] or '')
-- Every stored score times f, in one pass (all read before any write: rank order must not shift mid-pass).
local function rescale(f)
  local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for j = 1, #rows, 2000 do
    local args = {}
    for k = j, math.min(j + 1999, #rows), 2 do
      args[#args + 1] = tonumber(rows[k + 1]) * f
      args[#args + 1] = rows[k]
    end
    redis.call('ZADD', KEYS[1], unpack(args))
  end
end
-- Stored scores are s = sum w*2^((t - epoch)/half): the decayed count at any time T is s*2^(-(T - epoch)/half).
-- Moving the epoch to T (or the half-life from then on) multiplies every score by the same 2^(-(T - epoch)/half).
local function move_epoch(to, new_half)
  rescale(math.pow(2, -(to - epoch) / mhalf))
  epoch, mhalf = to, new_half
  redis.call('HSET', KEYS[2], 'epoch', tostring(epoch), 'halfLifeSeconds', tostring(mhalf))
end
if #ARGV >= first then
  local t0 = tonumber(ARGV[first + 1])
  if not epoch or not mhalf then
    epoch, mhalf = t0, half
    redis.call('HSET', KEYS[2], 'epoch', ARGV[first + 1], 'halfLifeSeconds', ARGV[3])
  elseif mhalf ~= half then
    -- The configured half-life changed: what has accumulated decays at the old rate up to now, at the new one after.
    move_epoch(math.max(t0, latest or t0), half)
  end
end
local function edge(from, to, w)
  local k = coocp .. from
  redis.call('ZINCRBY', k, w, to)
  redis.call('HINCRBYFLOAT', KEYS[3], from, w)
  if redis.call('ZCARD', k) >= 2 * cap then redis.call('ZREMRANGEBYRANK', k, 0, -(cap + 1)) end
end
local newest = latest
for i = first, #ARGV, 6 do
  local item, ts, w, user, session, etype = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  if (ts - epoch) / mhalf > rebase_after then move_epoch(ts, mhalf) end
  if not newest or ts > newest then newest = ts end
  if w > 0 then redis.call('ZINCRBY', KEYS[1], w * math.pow(2, (ts - epoch) / mhalf), item) end
  local ulist = user ~= '' and (histp .. 'u:' .. user) or nil
  local slist = session ~= '' and (histp .. 's:' .. session) or nil
  local plist = slist or ulist
  if plist and w > 0 then
    local prev = redis.call('LRANGE', plist, 0, steps_max - 1)
    local steps = 0
    for _, p in ipairs(prev) do
      -- item|ts|weight|polarity[|type]: item ids never contain '|', so the first three fields are fixed.
      local pitem, pts, pw = string.match(p, '^([^|]*)|([^|]*)|([^|]*)|')
      pts, pw = tonumber(pts), tonumber(pw)
      if max_s > 0 and ts - pts > max_s then break end
      steps = steps + 1
      if pitem ~= item and pw > 0 then
        local pair = math.sqrt(pw * w)
        edge(pitem, item, pair)
        if back > 0 then edge(item, pitem, pair * back) end
      end
    end
  end
  local pol = w > 0 and 'p' or (w < 0 and 'n' or 'z')
  local entry = item .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. pol .. '|' .. etype
  if ulist then
    redis.call('LPUSH', ulist, entry)
    redis.call('LTRIM', ulist, 0, hlen - 1)
  end
  if slist then
    redis.call('LPUSH', slist, entry)
    redis.call('LTRIM', slist, 0, hlen - 1)
    redis.call('EXPIRE', slist, sttl)
  end
end
if newest and newest ~= latest then redis.call('HSET', KEYS[2], 'latest', tostring(newest)) end
if nids > 0 then redis.call('XACK', KEYS[4], ARGV[10], unpack(ids)) end
return nids
`;

// Renews the lease only if this replica still holds it. KEYS: lease. ARGV: token, ttl ms.
const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
// KEYS: lease. ARGV: token.
const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** What the upkeep takes from a catalogue's `default` ranking config. */
export interface UpkeepSettings {
  weights: Readonly<Record<string, EventWeight>>;
  /**
   * The `default` config's popularity.halfLifeDays, in seconds. There is one popularity set per catalogue (the
   * worker cannot keep one per config), so the catalogue's `default` config governs it; other configs' values are
   * not used. A change takes effect from the next batch: scores so far are decayed to that moment at the old rate.
   */
  halfLifeSeconds: number;
}

/**
 * Keeps popularity, history and co-occurrence current from every catalogue's event stream: one XREADGROUP loop
 * (not HTTP, not in the request path), batches applied in order by one Lua script each. Any number of worker
 * replicas may run: one holds a lease (a Redis key with a TTL, renewed while it lives) and consumes; the others
 * wait and take over when it lapses or is released, continuing with the entries the previous holder left pending.
 */
@Injectable()
export class SignalsProcessor
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(SignalsProcessor.name);
  private blocking?: Redis;
  private running = false;
  private loop?: Promise<void>;
  private renewTimer?: NodeJS.Timeout;
  private readonly attached = new Set<string>();
  private readonly settingsCache = new Map<string, { at: number; settings: UpkeepSettings }>();
  /** This replica's lease token; the lease key holds it while this replica consumes. */
  readonly token = `${os.hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  private holding = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly catalogues: CatalogueRepository,
    private readonly configs: RankingConfigRepository,
  ) {}

  /** Whether this replica holds the lease (as of its last acquire/renew). */
  get holdsLease(): boolean {
    return this.holding;
  }

  private get leaseMs(): number {
    return this.config.SIGNALS_LEASE_MS;
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.blocking = createRedis(this.config.REDIS_URL, this.logger, { name: 'signals', forWorker: true });
    this.renewTimer = setInterval(() => void this.renew(), Math.max(250, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
    this.loop = this.run();
  }

  /** Stops consuming and hands the lease back, so another replica takes over at once (not after the TTL). */
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    clearInterval(this.renewTimer);
    this.blocking?.disconnect();
    await this.loop;
    await this.release();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.beforeApplicationShutdown();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!(await this.acquire())) {
          // Another replica consumes; try again well within its TTL.
          await sleep(Math.min(1000, Math.floor(this.leaseMs / 4)));
          continue;
        }
        const applied = await this.step();
        if (applied === 0 && this.attached.size === 0) await sleep(200);
      } catch (e) {
        if (!this.running) return;
        this.logger.warn(`signals: ${(e as Error).message}; retrying`);
        await sleep(500);
      }
    }
  }

  /** Takes the lease if it is free (or already ours). */
  async acquire(): Promise<boolean> {
    if (this.holding) return true;
    const ok = await this.redis.set(this.keys.signalsLease, this.token, 'PX', this.leaseMs, 'NX');
    if (ok === 'OK') {
      this.holding = true;
      this.logger.log(`signals: lease taken (${this.token})`);
    }
    return this.holding;
  }

  private async renew(): Promise<void> {
    if (!this.holding) return;
    try {
      const ok = await this.redis.eval(RENEW_LEASE, 1, this.keys.signalsLease, this.token, this.leaseMs);
      if (ok !== 1) this.lost();
    } catch (e) {
      // Redis unreachable: keep trying; if the key lapses meanwhile, the fenced scripts refuse our writes.
      this.logger.warn(`signals: lease renewal failed: ${(e as Error).message}`);
    }
  }

  private lost(): void {
    if (!this.holding) return;
    this.holding = false;
    this.logger.warn('signals: lease lost; another replica consumes now');
  }

  private async release(): Promise<void> {
    this.holding = false;
    await this.redis.eval(RELEASE_LEASE, 1, this.keys.signalsLease, this.token).catch(() => undefined);
  }

  /** One read-and-apply round over every catalogue; returns how many events were applied (0 without the lease). */
  async step(blockMs = 500): Promise<number> {
    const catalogues = await this.catalogues.listCatalogues();
    for (const c of catalogues) if (!this.attached.has(c)) await this.attach(c);
    if (catalogues.length === 0) return 0;
    const streams = catalogues.map((c) => this.keys.events(c));
    const res = (await this.redis.eval(
      READ_SIGNALS,
      1 + streams.length,
      this.keys.signalsLease,
      ...streams,
      this.token,
      SIGNALS_GROUP,
      CONSUMER,
      BATCH,
    )) as -1 | [string, [string, string[] | null][]][];
    if (res === -1) {
      this.lost();
      return 0;
    }
    let applied = 0;
    for (const [stream, entries] of res) {
      if (entries.length === 0) continue;
      const c = catalogues[streams.indexOf(stream)];
      const n = await this.apply(c, entries);
      if (n < 0) {
        this.lost();
        return applied;
      }
      applied += n;
    }
    // Nothing to do: wait for new entries on the blocking connection rather than polling.
    if (applied === 0 && this.running && this.blocking)
      await this.blocking.call('XREAD', 'BLOCK', blockMs, 'STREAMS', ...streams, ...streams.map(() => '$'));
    return applied;
  }

  private async attach(catalogue: string): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.events(catalogue), SIGNALS_GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!(e as Error).message.includes('BUSYGROUP')) throw e;
    }
    this.attached.add(catalogue);
  }

  /** Applies entries in order and acks them; -1 (nothing applied) when this replica no longer holds the lease. */
  private async apply(catalogue: string, entries: [string, string[] | null][]): Promise<number> {
    const { weights, halfLifeSeconds } = await this.settings(catalogue);
    const args: string[] = [];
    const ids: string[] = [];
    const attributed: QueuedEvent[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      // A pending entry trimmed from the stream comes back without fields: acknowledge it, nothing to apply.
      const payload = fields ? fields[fields.indexOf('e') + 1] : undefined;
      if (!payload) continue;
      const e = JSON.parse(payload) as QueuedEvent;
      if (e.recommId) attributed.push(e);
      // Impressions only count for experiments; they are not interactions.
      if (e.type === 'impression') continue;
      const w = eventWeight(weights, e.type, e.value);
      args.push(e.itemId, String(e.ts / 1000), String(w), e.userId ?? '', e.sessionId ?? '', e.type);
    }
    const n = (await this.redis.eval(
      APPLY_SIGNALS,
      5,
      this.keys.popularity(catalogue),
      this.keys.popularityMeta(catalogue),
      this.keys.coocTotals(catalogue),
      this.keys.events(catalogue),
      this.keys.signalsLease,
      this.keys.historyPrefix(catalogue),
      this.keys.coocPrefix(catalogue),
      String(halfLifeSeconds),
      String(DEFAULT_WINDOW.maxSteps),
      String(DEFAULT_WINDOW.maxSeconds ?? 0),
      String(DEFAULT_WINDOW.backwardWeight),
      String(DEFAULT_NEIGHBOUR_CAP),
      String(USER_HISTORY_LENGTH),
      String(SESSION_TTL_SECONDS),
      SIGNALS_GROUP,
      this.token,
      String(REBASE_HALF_LIVES),
      String(ids.length),
      ...ids,
      ...args,
    )) as number;
    if (n < 0) return n;
    if (attributed.length > 0) await this.attribute(catalogue, attributed);
    return ids.length;
  }

  /** The catalogue's `default` config's eventWeights and popularity half-life (built-in ones until overridden). */
  async settings(catalogue: string): Promise<UpkeepSettings> {
    const hit = this.settingsCache.get(catalogue);
    if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.settings;
    const stored = await this.configs.current(catalogue, 'default');
    const parsed = stored ? parseRankingConfig(stored.config) : undefined;
    const config = parsed?.ok ? parsed.config : DEFAULT_RANKING_CONFIG;
    const settings: UpkeepSettings = {
      weights: config.eventWeights,
      halfLifeSeconds: config.popularity.halfLifeDays * 86400,
    };
    this.settingsCache.set(catalogue, { at: Date.now(), settings });
    return settings;
  }

  /** Counts events served under an experiment per (config, type); the served list names both. */
  private async attribute(catalogue: string, events: QueuedEvent[]): Promise<void> {
    const recommIds = [...new Set(events.map((e) => e.recommId!))];
    const raw = await this.redis.mget(...recommIds.map((r) => this.keys.recommendation(catalogue, r)));
    const origin = new Map<string, { experiment: string; config: string }>();
    recommIds.forEach((r, i) => {
      const served = raw[i] ? (JSON.parse(raw[i]) as { experiment?: string; config?: string }) : undefined;
      if (served?.experiment && served.config)
        origin.set(r, { experiment: served.experiment, config: served.config });
    });
    if (origin.size === 0) return;
    const tx = this.redis.multi();
    for (const e of events) {
      const o = origin.get(e.recommId!);
      if (o) tx.hincrby(this.keys.experimentCounters(catalogue, o.experiment), `${o.config}|${e.type}`, 1);
    }
    await tx.exec();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
