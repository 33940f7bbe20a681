import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisKeys } from '../redis/redis-keys';
import { REDIS } from '../redis/redis.tokens';
import type { EventLag, IngestResult, QueuedEvent } from './events.dto';

/** Consumer group of the signals worker on every catalogue's event stream. */
export const SIGNALS_GROUP = 'signals';
/** How long an eventId is remembered for idempotent retries. */
export const EVENT_ID_TTL_SECONDS = 7 * 86400;
/** Safety cap on a stream the worker has fallen far behind on. */
export const EVENTS_MAXLEN = 2_000_000;

// One round trip per batch: dedupe by eventId (SET NX EX), check the item exists, XADD.
// KEYS: items, events. ARGV: evid prefix, ttl, maxlen, then (eventId|'', itemId, payload)*.
const INGEST = `
local accepted, unknown, dup = 0, 0, 0
for i = 4, #ARGV, 3 do
  local eid, item, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local fresh = true
  if eid ~= '' then
    fresh = redis.call('SET', ARGV[1] .. eid, '1', 'NX', 'EX', ARGV[2]) ~= false
  end
  if not fresh then
    dup = dup + 1
  else
    accepted = accepted + 1
    if redis.call('HEXISTS', KEYS[1], item) == 1 then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e', payload)
    else
      unknown = unknown + 1
    end
  end
end
return {accepted, unknown, dup}
`;

/** Event ingest and upkeep-lag I/O. */
@Injectable()
export class EventsRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async ingest(catalogue: string, events: { eventId?: string; event: QueuedEvent }[]): Promise<IngestResult> {
    const args: string[] = [
      this.keys.eventIdPrefix(catalogue),
      String(EVENT_ID_TTL_SECONDS),
      String(EVENTS_MAXLEN),
    ];
    for (const { eventId, event } of events) args.push(eventId ?? '', event.itemId, JSON.stringify(event));
    const [accepted, unknownItems, duplicates] = (await this.redis.eval(
      INGEST,
      2,
      this.keys.items(catalogue),
      this.keys.events(catalogue),
      ...args,
    )) as [number, number, number];
    return { accepted, unknownItems, duplicates };
  }

  async experimentCounters(catalogue: string, experiment: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.experimentCounters(catalogue, experiment));
  }

  /** Entries not yet applied (undelivered + delivered-unacked) and the age of the oldest. */
  async lag(catalogue: string): Promise<EventLag> {
    const key = this.keys.events(catalogue);
    const groups = (await this.redis.xinfo('GROUPS', key).catch(() => [])) as unknown[][];
    const length = await this.redis.xlen(key);
    const g = groups.map(toRecord).find((r) => r.name === SIGNALS_GROUP);
    if (!g) {
      // The worker has not attached yet: everything queued is behind.
      const first = length > 0 ? await this.redis.xrange(key, '-', '+', 'COUNT', 1) : [];
      return { pending: length, secondsBehind: ageOf(first[0]?.[0]), applied: 0 };
    }
    const delivered = Number(g.pending ?? 0);
    const undelivered = g.lag === null || g.lag === undefined ? length : Number(g.lag);
    const pending = delivered + undelivered;
    let oldest: string | undefined;
    if (delivered > 0) {
      const summary = (await this.redis.xpending(key, SIGNALS_GROUP)) as [number, string | null];
      oldest = summary[1] ?? undefined;
    } else if (undelivered > 0) {
      const next = await this.redis.xrange(key, `(${String(g['last-delivered-id'])}`, '+', 'COUNT', 1);
      oldest = next[0]?.[0];
    }
    const read = Number(g['entries-read'] ?? 0);
    return { pending, secondsBehind: ageOf(oldest), applied: Math.max(0, read - delivered) };
  }
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** Seconds since a stream id's millisecond part; 0 without an id. */
function ageOf(streamId: string | undefined): number {
  if (!streamId) return 0;
  const ms = Number(streamId.split('-')[0]);
  return Math.max(0, Math.round((Date.now() - ms) / 100) / 10);
}
