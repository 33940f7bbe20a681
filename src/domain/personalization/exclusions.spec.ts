import { excludedFromHistory, wantsHistoryExclusions } from './exclusions';
import type { HistoryEvent } from './user-interests';

const H = 3600;
const NOW_MS = 1_800_000_000_000;
const at = (itemId: string, hoursAgo: number, type?: string): HistoryEvent => ({
  itemId,
  ts: NOW_MS / 1000 - hoursAgo * H,
  weight: 1,
  polarity: 'positive',
  ...(type ? { type } : {}),
});

describe('excludedFromHistory', () => {
  const history = [
    at('bought', 500, 'purchase'),
    at('legacy', 1),
    at('viewed', 3, 'view'),
    at('rated', 30, 'rating'),
  ];

  it('drops purchases at any age and only when asked', () => {
    expect([...excludedFromHistory(history, { purchased: true }, NOW_MS)]).toEqual(['bought']);
    expect(excludedFromHistory(history, {}, NOW_MS).size).toBe(0);
  });

  it('drops interactions within the last N hours (the boundary included), typed or not', () => {
    expect([...excludedFromHistory(history, { seenWithinHours: 3 }, NOW_MS)].sort()).toEqual([
      'legacy',
      'viewed',
    ]);
    expect([...excludedFromHistory(history, { seenWithinHours: 2.9 }, NOW_MS)]).toEqual(['legacy']);
    expect(
      [...excludedFromHistory(history, { purchased: true, seenWithinHours: 48 }, NOW_MS)].sort(),
    ).toEqual(['bought', 'legacy', 'rated', 'viewed']);
  });

  it('never counts an impression as seen', () => {
    expect(excludedFromHistory([at('shown', 1, 'impression')], { seenWithinHours: 5 }, NOW_MS).size).toBe(0);
  });

  it('says when there is nothing to read', () => {
    expect(wantsHistoryExclusions({})).toBe(false);
    expect(wantsHistoryExclusions({ purchased: false, seenWithinHours: undefined })).toBe(false);
    expect(wantsHistoryExclusions({ purchased: true })).toBe(true);
    expect(wantsHistoryExclusions({ seenWithinHours: 1 })).toBe(true);
  });
});
