import { setImmediate as nextTurn } from 'node:timers/promises';
import { getOrInsert } from '../common/maps';
import type { ReadValues } from './recent-reads';

/** Where the table comes from (Redis in the service, anything in a spec). */
export interface PopularitySource {
  /** Every id of the catalogue's popularity table with its value, as two parallel lists (ids without events are absent). */
  readAll(catalogue: string): Promise<{ ids: readonly string[]; values: readonly number[] }>;
  /** Just these ids, in order (0 for an id without events): one round trip. */
  readSome(catalogue: string, ids: string[]): Promise<number[]>;
}

/**
 * One read of a catalogue's table: values by slot, in a typed array of its own; the id → slot map is shared by the
 * catalogue's copies and only grows (until compacted). A read again then writes one array of numbers rather than a new
 * map of every id with its strings and entries, which outlived the young generation each time (a copy lives for
 * seconds) and kept the old one busy.
 */
class PopularityCopy implements ReadValues<number> {
  constructor(
    private readonly slots: ReadonlyMap<string, number>,
    private readonly values: Float64Array,
    /** Ids with a value. */
    readonly size: number,
  ) {}

  get(id: string): number | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined || slot >= this.values.length) return undefined;
    const v = this.values[slot];
    return Number.isNaN(v) ? undefined : v;
  }
}

interface Table {
  values?: PopularityCopy;
  /** Slots of the ids read so far (see PopularityCopy). */
  slots: Map<string, number>;
  /** When the read that produced `values` started. */
  at: number;
  loading?: Promise<void>;
}

/**
 * Each replica's copy of a catalogue's whole popularity table. Popularity is a decayed count with a half-life of days,
 * asked for every candidate of every request: a request looks its few hundred ids up in memory instead of sharing
 * per-id Redis reads (no round trip, no per-request bookkeeping, no background read per request).
 *
 * The copy is read again in the background once it is `ttlMs` old, on the first request after that; a table of N ids is
 * read at most every N / `idsPerSecond` seconds, so the upkeep stays a small share of a replica however big the
 * catalogue: a read costs a few µs per id in the replica (reply parsing, the copy, and the garbage collector after
 * them), and at 20,000 ids a second a 60k-id table took ~80 ms of CPU a second per replica at any request rate
 * (bench catalogue of 100k items); at the default 2,000 it is read every 30 s, which a count with a half-life of days
 * does not notice (`trending` reads its pages every `ttlMs` regardless). Until the first copy is in, requests read
 * their own ids (one round trip each). A failed read leaves the previous copy in place and is tried again one
 * interval later. `ttlMs` 0: no copy, every request reads its ids.
 */
export class PopularityTable {
  private readonly tables = new Map<string, Table>();

  constructor(
    private readonly source: PopularitySource,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly idsPerSecond = 2_000,
  ) {}

  async read(catalogue: string, ids: Iterable<string>): Promise<ReadValues<number>> {
    if (this.ttlMs <= 0) return this.readOwn(catalogue, ids);
    const table = getOrInsert(this.tables, catalogue, (): Table => ({ at: 0, slots: new Map() }));
    if (table.values) {
      if (this.clock() - table.at >= this.interval(table.values.size)) this.reload(catalogue, table);
      return table.values;
    }
    this.reload(catalogue, table);
    return this.readOwn(catalogue, ids);
  }

  /** How long a copy of `size` ids is served before it is read again. */
  interval(size: number): number {
    return Math.max(this.ttlMs, (1000 * size) / this.idsPerSecond);
  }

  private async readOwn(catalogue: string, ids: Iterable<string>): Promise<ReadValues<number>> {
    const list = [...new Set(ids)];
    if (list.length === 0) return new Map();
    const values = await this.source.readSome(catalogue, list);
    return new Map(list.map((id, i) => [id, values[i]]));
  }

  private reload(catalogue: string, table: Table): void {
    if (table.loading) return;
    const started = this.clock();
    // A failure without a copy leaves `at` alone: the next request tries again. With one, it waits an interval.
    table.loading = this.source
      .readAll(catalogue)
      .then(
        async ({ ids, values }) => {
          table.values = await copyOf(table, ids, values);
          table.at = started;
        },
        (err: unknown) => {
          if (table.values) table.at = started;
          this.onError(err);
        },
      )
      .finally(() => {
        table.loading = undefined;
      });
  }
}

// Ids given their slots per turn of the event loop while a copy is made (~1 ms): a 100k-id table in one go held
// every request behind it for ~7 ms each time it was read again.
const COPY_CHUNK = 8192;

/**
 * A copy of one read, in the table's slots (a fresh slot map once the old one holds more than twice the ids), made
 * COPY_CHUNK ids per turn of the event loop; the copy being served meanwhile only gains slots past its values.
 */
async function copyOf(
  table: Table,
  ids: readonly string[],
  values: readonly number[],
): Promise<PopularityCopy> {
  // Ids that left the table keep their slots until then; a copy already served keeps the map it was made with.
  if (table.slots.size > 2 * ids.length + 1024) table.slots = new Map();
  const { slots } = table;
  const slotOf = new Int32Array(ids.length);
  for (let start = 0; start < ids.length; start += COPY_CHUNK) {
    if (start > 0) await nextTurn();
    const end = Math.min(ids.length, start + COPY_CHUNK);
    for (let i = start; i < end; i++) {
      let slot = slots.get(ids[i]);
      if (slot === undefined) {
        slot = slots.size;
        slots.set(ids[i], slot);
      }
      slotOf[i] = slot;
    }
  }
  const out = new Float64Array(slots.size).fill(NaN);
  let size = 0;
  for (let i = 0; i < ids.length; i++) {
    const slot = slotOf[i];
    if (Number.isNaN(out[slot])) size++;
    out[slot] = values[i];
  }
  return new PopularityCopy(slots, out, size);
}
