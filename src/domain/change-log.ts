// Versions come from one counter for every log, so a map or index built to replace another never repeats its version.
let versions = 0;

/**
 * Which ids changed after a given version, for readers that catch up per id instead of starting over: the ids of at
 * least `keep` recent changes are kept, older ones are dropped in bulk.
 */
export class ChangeLog {
  private current = ++versions;
  private log: { version: number; id: string }[] = [];
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
      this.log = [];
      this.from = this.current;
      return;
    }
    this.log.push({ version: this.current, id });
    if (this.log.length > 2 * this.keep) {
      this.from = this.log[this.keep - 1].version;
      this.log = this.log.slice(this.keep);
    }
  }

  /** Ids changed after `version` (newest first, repeats possible); undefined when the log no longer reaches back that far or a clear came after it. */
  changedSince(version: number): string[] | undefined {
    if (version < this.from) return undefined;
    const out: string[] = [];
    for (let i = this.log.length - 1; i >= 0 && this.log[i].version > version; i--) out.push(this.log[i].id);
    return out;
  }
}
