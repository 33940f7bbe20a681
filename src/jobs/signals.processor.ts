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
import { DEFAULT_RANKING_CONFIG, eventWeight, parseRankingConfig, type EventWeight } from '../domain/ranking';
import { DEFAULT_NEIGHBOUR_CAP, DEFAULT_WINDOW } from '../domain/personalization/co-occurrence';
import { DEFAULT_TRENDING_HALF_LIFE_SECONDS } from '../domain/personalization/popularity';
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
const CONSUMER = 'signals-1';
// A changed `default` config's eventWeights apply to events read after this long.
const WEIGHTS_TTL_MS = 5_000;

// Applies a batch in order and acks it in the same script, so a crash never applies an event twice.
// KEYS: popularity, popularity meta, cooc totals, events. ARGV: hist prefix, cooc prefix, half-life s,
// max steps, max seconds (0 = none), backward weight, cap, history length, session ttl, group, n ids,
// ids..., then (item, ts, weight, user, session)*.
export const APPLY_SIGNALS = `
local histp, coocp = ARGV[1], ARGV[2]
local half, steps_max, max_s, back = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cap, hlen, sttl = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local nids = tonumber(ARGV[11])
local ids = {}
for i = 1, nids do ids[i] = ARGV[11 + i] end
local first = 12 + nids
local epoch = tonumber(redis.call('HGET', KEYS[2], 'epoch') or '')
if not epoch and #ARGV >= first then
  epoch = tonumber(ARGV[first + 1])
  redis.call('HSET', KEYS[2], 'epoch', ARGV[first + 1], 'halfLifeSeconds', ARGV[3])
end
local function edge(from, to, w)
  local k = coocp .. from
  redis.call('ZINCRBY', k, w, to)
  redis.call('HINCRBYFLOAT', KEYS[3], from, w)
  if redis.call('ZCARD', k) >= 2 * cap then redis.call('ZREMRANGEBYRANK', k, 0, -(cap + 1)) end
end
for i = first, #ARGV, 5 do
  local item, ts, w, user, session = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4]
  if w > 0 then redis.call('ZINCRBY', KEYS[1], w * math.pow(2, (ts - epoch) / half), item) end
  local ulist = user ~= '' and (histp .. 'u:' .. user) or nil
  local slist = session ~= '' and (histp .. 's:' .. session) or nil
  local plist = slist or ulist
  if plist and w > 0 then
    local prev = redis.call('LRANGE', plist, 0, steps_max - 1)
    local steps = 0
    for _, p in ipairs(prev) do
      local pitem, pts, pw = string.match(p, '^(.*)|([^|]*)|([^|]*)|[^|]*$')
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
  local entry = item .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. pol
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
if nids > 0 then redis.call('XACK', KEYS[4], ARGV[10], unpack(ids)) end
return nids
`;

/**
 * Keeps popularity, history and co-occurrence current from every catalogue's event stream: one
 * XREADGROUP loop (not HTTP, not in the request path), batches applied in order by one Lua script each.
 */
@Injectable()
export class SignalsProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SignalsProcessor.name);
  private blocking?: Redis;
  private running = false;
  private loop?: Promise<void>;
  private readonly attached = new Set<string>();
  private recovered = false;
  private readonly weights = new Map<
    string,
    { at: number; weights: Readonly<Record<string, EventWeight>> }
  >();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly catalogues: CatalogueRepository,
    private readonly configs: RankingConfigRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.blocking = createRedis(this.config.REDIS_URL, this.logger, { name: 'signals', forWorker: true });
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
        const applied = await this.step();
        if (applied === 0 && this.attached.size === 0) await sleep(200);
      } catch (e) {
        if (!this.running) return;
        this.logger.warn(`signals: ${(e as Error).message}; retrying`);
        await sleep(500);
      }
    }
  }

  /** One read-and-apply round over every catalogue; returns how many events were applied. */
  async step(blockMs = 500): Promise<number> {
    const catalogues = await this.catalogues.listCatalogues();
    for (const c of catalogues) if (!this.attached.has(c)) await this.attach(c);
    if (catalogues.length === 0) return 0;
    const streams = catalogues.map((c) => this.keys.events(c));
    // After a restart, first take back what this consumer was handed but never acked.
    const from = this.recovered ? '>' : '0';
    const res = (await this.blocking!.call(
      'XREADGROUP',
      'GROUP',
      SIGNALS_GROUP,
      CONSUMER,
      'COUNT',
      BATCH,
      ...(from === '>' ? ['BLOCK', blockMs] : []),
      'STREAMS',
      ...streams,
      ...streams.map(() => from),
    )) as [string, [string, string[]][]][] | null;
    let applied = 0;
    for (const [stream, entries] of res ?? []) {
      if (entries.length === 0) continue;
      const c = catalogues[streams.indexOf(stream)];
      applied += await this.apply(c, entries);
    }
    if (!this.recovered && applied === 0) this.recovered = true;
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

  private async apply(catalogue: string, entries: [string, string[]][]): Promise<number> {
    const weights = await this.eventWeights(catalogue);
    const args: string[] = [];
    const ids: string[] = [];
    const attributed: QueuedEvent[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      const payload = fields[fields.indexOf('e') + 1];
      if (!payload) continue;
      const e = JSON.parse(payload) as QueuedEvent;
      if (e.recommId) attributed.push(e);
      // Impressions only count for experiments; they are not interactions.
      if (e.type === 'impression') continue;
      const w = eventWeight(weights, e.type, e.value);
      args.push(e.itemId, String(e.ts / 1000), String(w), e.userId ?? '', e.sessionId ?? '');
    }
    await this.redis.eval(
      APPLY_SIGNALS,
      4,
      this.keys.popularity(catalogue),
      this.keys.popularityMeta(catalogue),
      this.keys.coocTotals(catalogue),
      this.keys.events(catalogue),
      this.keys.historyPrefix(catalogue),
      this.keys.coocPrefix(catalogue),
      String(DEFAULT_TRENDING_HALF_LIFE_SECONDS),
      String(DEFAULT_WINDOW.maxSteps),
      String(DEFAULT_WINDOW.maxSeconds ?? 0),
      String(DEFAULT_WINDOW.backwardWeight),
      String(DEFAULT_NEIGHBOUR_CAP),
      String(USER_HISTORY_LENGTH),
      String(SESSION_TTL_SECONDS),
      SIGNALS_GROUP,
      String(ids.length),
      ...ids,
      ...args,
    );
    if (attributed.length > 0) await this.attribute(catalogue, attributed);
    return ids.length;
  }

  /** The catalogue's `default` config's eventWeights (the built-in ones until it is overridden). */
  private async eventWeights(catalogue: string): Promise<Readonly<Record<string, EventWeight>>> {
    const hit = this.weights.get(catalogue);
    if (hit && Date.now() - hit.at < WEIGHTS_TTL_MS) return hit.weights;
    const stored = await this.configs.current(catalogue, 'default');
    const parsed = stored ? parseRankingConfig(stored.config) : undefined;
    const weights = parsed?.ok ? parsed.config.eventWeights : DEFAULT_RANKING_CONFIG.eventWeights;
    this.weights.set(catalogue, { at: Date.now(), weights });
    return weights;
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
