import type { HistoryEvent } from '../domain/personalization/user-interests';
import type { Candidate } from '../domain/ranking';

/** What a behavioural source gets to work with for one request. */
export interface SignalRequest {
  catalogue: string;
  userId?: string;
  sessionId?: string;
  /** Context items: itemIds ∪ sessionItemIds ∪ positive. */
  itemIds: readonly string[];
  limit: number;
  /** Filters, hides, exclusions and already-served ids: apply before cutting to `limit`. */
  accept: (id: string) => boolean;
  /** ANN over the catalogue's index with the same `accept`, for sources that produce vectors (user interests). */
  searchVectors: (vectors: readonly Float32Array[], k: number) => Candidate[];
  /** The user's/session's interactions, oldest first ([] for neither): read at most once per request. */
  history: () => Promise<readonly HistoryEvent[]>;
  /**
   * One fresh map per request, shared by its sources, where a reader keeps work they share (under its own symbol).
   * Not a WeakMap keyed by the request: V8's minor GC treats such entries as strong, so every request's working set
   * would survive into the old generation.
   */
  scope: Map<symbol, unknown>;
}

/** The seam the events pipeline fills (src/events/signals.reader.ts): behavioural candidate sources and popularity. */
export abstract class SignalsReader {
  /** Most popular eligible items, best first; score = popularity. */
  abstract trending(req: SignalRequest): Promise<Candidate[]>;
  /** Items co-interacted with the context items; score on any non-negative scale. */
  abstract boughtTogether(req: SignalRequest): Promise<Candidate[]>;
  /** Items matching the user's (or session's) interests; score is cosine in [0,1]. */
  abstract userInterests(req: SignalRequest): Promise<Candidate[]>;
  /** Items the trained item-item model predicts from the user's/session's recent items; score on any scale ≥ 0. */
  abstract collaborative(req: SignalRequest): Promise<Candidate[]>;
  /** A user's and/or session's interactions, oldest first (exclusions and the sources above read them). */
  abstract history(catalogue: string, who: { userId?: string; sessionId?: string }): Promise<HistoryEvent[]>;
  /** Popularity of each id (absent = 0), in at most one round trip; it may also know other ids. Read it at once. */
  abstract popularity(
    catalogue: string,
    ids: Iterable<string>,
  ): Promise<{ get(id: string): number | undefined }>;
}
