import type { Item } from './item';

interface Dated {
  id: string;
  t: number;
}

// Versions come from one counter for every map, so a map built to replace another never repeats its version.
let versions = 0;

// The ids of at least this many recent changes are kept, so a reader that fell behind by fewer catches up per id.
const CHANGE_LOG = 1024;

// More changes than this between two reads and the order is rebuilt (one sort) instead of patched (a splice each).
const PATCH_LIMIT = 1000;

/** Newest first, then by id; the same order a full sort gives. */
const newerFirst = (a: Dated, b: Dated): number => b.t - a.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function createdAtOf(item: Item | undefined): number {
  const t = item?.createdAt ? Date.parse(item.createdAt) : NaN;
  return Number.isNaN(t) ? NaN : t;
}

/**
 * A catalogue's items by id that also keeps the dated ones newest first (`new_arrivals`). The order is built on
 * first use and then patched per change (binary search + splice), so a read never re-sorts the catalogue while
 * items trickle in; a bulk load between two reads just drops it for one rebuild.
 */
export class ItemMap extends Map<string, Item> {
  private order: Dated[] | undefined;
  private changesSinceRead = 0;
  private changes = ++versions;
  private log: { version: number; id: string }[] = [];
  /** Every change after this version is in the log. */
  private logFrom = this.changes;

  /**
   * Changes with every set, delete and clear, and differs between maps: answers computed from the items hold while
   * it stays the same.
   */
  get version(): number {
    return this.changes;
  }

  /** Ids changed after `version` of this map (newest first, repeats possible); undefined when the log no longer reaches back that far or a clear came after it. */
  changedSince(version: number): string[] | undefined {
    if (version < this.logFrom) return undefined;
    const out: string[] = [];
    for (let i = this.log.length - 1; i >= 0 && this.log[i].version > version; i--) out.push(this.log[i].id);
    return out;
  }

  private changed(id: string | undefined): void {
    this.changes = ++versions;
    if (id === undefined) {
      this.log = [];
      this.logFrom = this.changes;
      return;
    }
    this.log.push({ version: this.changes, id });
    if (this.log.length > 2 * CHANGE_LOG) {
      this.logFrom = this.log[CHANGE_LOG - 1].version;
      this.log = this.log.slice(CHANGE_LOG);
    }
  }

  override set(id: string, item: Item): this {
    this.changed(id);
    if (this.order) this.patch(id, createdAtOf(super.get(id)), createdAtOf(item));
    return super.set(id, item);
  }

  override delete(id: string): boolean {
    this.changed(id);
    if (this.order && super.has(id)) this.patch(id, createdAtOf(super.get(id)), NaN);
    return super.delete(id);
  }

  override clear(): void {
    this.changed(undefined);
    this.order = undefined;
    super.clear();
  }

  /** Ids of items with a valid `createdAt`, newest first (ties by id); read it before changing the map again. */
  *newest(): IterableIterator<string> {
    this.changesSinceRead = 0;
    if (!this.order) {
      const dated: Dated[] = [];
      for (const [id, item] of this) {
        const t = createdAtOf(item);
        if (!Number.isNaN(t)) dated.push({ id, t });
      }
      this.order = dated.sort(newerFirst);
    }
    for (const d of this.order) yield d.id;
  }

  private patch(id: string, before: number, after: number): void {
    if (before === after || (Number.isNaN(before) && Number.isNaN(after))) return;
    if (++this.changesSinceRead > PATCH_LIMIT) {
      this.order = undefined;
      return;
    }
    const order = this.order!;
    if (!Number.isNaN(before)) {
      const at = lowerBound(order, { id, t: before });
      if (at < order.length && order[at].id === id) order.splice(at, 1);
    }
    if (!Number.isNaN(after)) {
      const entry = { id, t: after };
      order.splice(lowerBound(order, entry), 0, entry);
    }
  }
}

/** First position whose entry does not sort before `x`. */
function lowerBound(order: readonly Dated[], x: Dated): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (newerFirst(order[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
