import { getOrInsert } from '../common/maps';
import type { ReadValues } from './recent-reads';

/** Where the table comes from (Redis in the service, anything in a spec). */
export interface PopularitySource {
  /** Every id of the catalogue's popularity table with its value (ids without events are absent). */
  readAll(catalogue: string): Promise<Map<string, number>>;
  /** Just these ids, in order (0 for an id without events): one round trip. */
  readSome(catalogue: string, ids: string[]): Promise<number[]>;
}

interface Table {
  values?: Map<string, number>;
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
 * catalogue. Until the first copy is in, requests read their own ids (one round trip each). A failed read leaves the
 * previous copy in place and is tried again one interval later. `ttlMs` 0: no copy, every request reads its ids.
 */
export class PopularityTable {
  private readonly tables = new Map<string, Table>();

  constructor(
    private readonly source: PopularitySource,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly idsPerSecond = 20_000,
  ) {}

  async read(catalogue: string, ids: Iterable<string>): Promise<ReadValues<number>> {
    if (this.ttlMs <= 0) return this.readOwn(catalogue, ids);
    const table = getOrInsert(this.tables, catalogue, () => ({ at: 0 }));
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
        (values) => {
          table.values = values;
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
