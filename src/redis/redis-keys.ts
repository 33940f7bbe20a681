// Every Redis key the service uses, in one place, under the configured prefix.
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own prefix (queues live under `<prefix>:bull:<queue>:*`). */
  get queuePrefix(): string {
    return `${this.prefix}:bull`;
  }
  get catalogues(): string {
    return `${this.prefix}:catalogues`;
  }
  /** One stream for every catalogue's index changes: `{c, op, id, gen}` entries. */
  get indexChanges(): string {
    return `${this.prefix}:index-changes`;
  }
  catalogueMeta(c: string): string {
    return `${this.prefix}:cat:${c}:meta`;
  }
  items(c: string): string {
    return `${this.prefix}:cat:${c}:items`;
  }
  itemState(c: string): string {
    return `${this.prefix}:cat:${c}:state`;
  }
  vectors(c: string, generation: number): string {
    return `${this.prefix}:cat:${c}:gen:${generation}:vectors`;
  }
  catalogueKeyPattern(c: string): string {
    return `${this.prefix}:cat:${c}:*`;
  }
  configChannel(): string {
    return `${this.prefix}:config-changes`;
  }
}
