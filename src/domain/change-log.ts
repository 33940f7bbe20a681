// Versions come from one counter for every log, so a map or index built to replace another never repeats its version.
let versions = 0;

/**
 * Which ids changed after a given version, for readers that catch up per id instead of starting over: the ids of at
 * least `keep` recent changes are kept, older ones are dropped in bulk.
 */
export class ChangeLog {
  private current = ++versions;
  // Parallel arrays, not an object per change: an index build records one change per item.
  private versionsLog: number[] = [];
  private idsLog: string[] = [];
  /** Every change after this version is in the log. */
  private from = this.current;

  constructor(private readonly keep = 1024) {}

  /** Changes with every record, and differs between logs. */
  get version(): number {
    return this.current;
  }

  /** One id changed; `undefined`: everything may have changed (a clear), so readers start over. */
  record(id: string | undefined): void {
    this.current = ++versions;
    if (id === undefined) {
      this.versionsLog = [];
      this.idsLog = [];
      this.from = this.current;
      return;
    }
    this.versionsLog.push(this.current);
    this.idsLog.push(id);
    if (this.idsLog.length > 2 * this.keep) {
      this.from = this.versionsLog[this.keep - 1];
      this.versionsLog = this.versionsLog.slice(this.keep);
      this.idsLog = this.idsLog.slice(this.keep);
    }
  }

  /** Ids changed after `version` (newest first, repeats possible); undefined when the log no longer reaches back that far or a clear came after it. */
  changedSince(version: number): string[] | undefined {
    if (version < this.from) return undefined;
    const out: string[] = [];
    for (let i = this.idsLog.length - 1; i >= 0 && this.versionsLog[i] > version; i--)
      out.push(this.idsLog[i]);
    return out;
  }
}
