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
  /** String with a TTL: the token of the worker replica that consumes event streams (signals upkeep). */
  get signalsLease(): string {
    return `${this.prefix}:signals:lease`;
  }
  catalogueMeta(c: string): string {
    return `${this.prefix}:cat:${c}:meta`;
  }
  items(c: string): string {
    return `${this.prefix}:cat:${c}:items`;
  }
  /** Hash per generation: item id → text hash still to embed (removed once stored). */
  pending(c: string, generation: number): string {
    return `${this.prefix}:cat:${c}:gen:${generation}:pending`;
  }
  /** Hash per generation: item id → `<text hash>|<ISO time>` of the stored vector. */
  indexed(c: string, generation: number): string {
    return `${this.prefix}:cat:${c}:gen:${generation}:indexed`;
  }
  /** Hash per generation: item id → Float32 little-endian vector bytes. */
  vectors(c: string, generation: number): string {
    return `${this.prefix}:cat:${c}:gen:${generation}:vectors`;
  }
  /** Hash: a background job's progress (reindex), read by GET /v1/jobs/:id. */
  jobStatus(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }
  catalogueKeyPattern(c: string): string {
    return `${this.prefix}:cat:${c}:*`;
  }
  configChannel(): string {
    return `${this.prefix}:config-changes`;
  }
  /** Hash: ranking config name → current version. */
  rankingConfigs(c: string): string {
    return `${this.prefix}:cat:${c}:ranking-configs`;
  }
  /** List: every version of one ranking config, oldest first (version n at index n-1), as `{config, createdAt, rollbackOf?}` JSON. */
  rankingConfigVersions(c: string, name: string): string {
    return `${this.prefix}:cat:${c}:ranking-config:${name}:versions`;
  }
  /** Hash: experiment name → `{variants, updatedAt}` JSON. */
  experiments(c: string): string {
    return `${this.prefix}:cat:${c}:experiments`;
  }
  /**
   * One client's request budget (@nestjs/throttler): the Redis storage wraps it as `{<this>:<throttler>}:hits` and
   * `…:blocked` (a cluster hash tag), so these are the service's only keys that start with `{`; they expire by TTL.
   */
  rateLimit(tracker: string): string {
    return `${this.prefix}:ratelimit:${tracker}`;
  }
  /** String with a TTL: the ids served so far under one recommId, for cursor paging. */
  recommendation(c: string, recommId: string): string {
    return `${this.prefix}:cat:${c}:recomm:${recommId}`;
  }
  /** Sorted set: item id → decayed popularity (written by the events pipeline). */
  popularity(c: string): string {
    return `${this.prefix}:cat:${c}:popularity`;
  }
  /** Hash: epoch (t0 seconds), halfLifeSeconds and latest (newest event, seconds) of the popularity set. */
  popularityMeta(c: string): string {
    return `${this.prefix}:cat:${c}:popularity:meta`;
  }
  /** Ingested events awaiting the signals worker (consumer group `signals`). */
  events(c: string): string {
    return `${this.prefix}:cat:${c}:events`;
  }
  /** Prefix of per-event idempotency keys (`<prefix><eventId>`, SET NX with a TTL). */
  eventIdPrefix(c: string): string {
    return `${this.prefix}:cat:${c}:evid:`;
  }
  /** Prefix of user (`u:<id>`) and session (`s:<id>`) history lists of `item|ts|weight|polarity|type` (older lines lack `|type`). */
  historyPrefix(c: string): string {
    return `${this.prefix}:cat:${c}:hist:`;
  }
  userHistory(c: string, userId: string): string {
    return `${this.historyPrefix(c)}u:${userId}`;
  }
  sessionHistory(c: string, sessionId: string): string {
    return `${this.historyPrefix(c)}s:${sessionId}`;
  }
  /** Prefix of co-occurrence sorted sets (`<prefix><item>`: neighbour → weight). */
  coocPrefix(c: string): string {
    return `${this.prefix}:cat:${c}:cooc:`;
  }
  /** Hash item → total edge weight that ever left it. */
  coocTotals(c: string): string {
    return `${this.prefix}:cat:${c}:cooc-total`;
  }
  /** String: the catalogue's trained `collaborative` model (binary, see domain/personalization/collaborative.ts). */
  collaborativeModel(c: string): string {
    return `${this.prefix}:cat:${c}:collab:model`;
  }
  /** Hash: version, trainedAt, items, users, events (applied when trained), trainMs of that model. */
  collaborativeMeta(c: string): string {
    return `${this.prefix}:cat:${c}:collab:meta`;
  }
  /** Hash of experiment counters: `<variant>|<type>` → count. */
  experimentCounters(c: string, experiment: string): string {
    return `${this.prefix}:cat:${c}:exp:${experiment}:counts`;
  }
}
