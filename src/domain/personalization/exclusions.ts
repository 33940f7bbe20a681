// The config's `exclude.purchased` / `exclude.seenWithinHours`, decided from a user's (or session's) history.
import type { HistoryEvent } from './user-interests';

export interface HistoryExclusions {
  /** Drop items with any purchase event in the history. */
  purchased?: boolean;
  /** Drop items with any interaction (impressions are never stored) at most this many hours before now. */
  seenWithinHours?: number;
}

/** Item ids a request must not return; histories written before event types were stored cannot show purchases. */
export function excludedFromHistory(
  history: readonly HistoryEvent[],
  exclude: HistoryExclusions,
  nowMs: number,
): Set<string> {
  const out = new Set<string>();
  const hours = exclude.seenWithinHours;
  const since = hours !== undefined && hours > 0 ? nowMs / 1000 - hours * 3600 : undefined;
  for (const e of history) {
    if (exclude.purchased && e.type === 'purchase') out.add(e.itemId);
    else if (since !== undefined && e.ts >= since && e.type !== 'impression') out.add(e.itemId);
  }
  return out;
}

/** Whether the options ask for anything (so callers can skip reading the history). */
export function wantsHistoryExclusions(exclude: HistoryExclusions): boolean {
  return exclude.purchased === true || (exclude.seenWithinHours !== undefined && exclude.seenWithinHours > 0);
}
