import { eventSchema, ingestSchema } from './events.dto';
import { parseHistory } from './signals.reader';

describe('event DTO', () => {
  it('resolves ISO strings, epoch seconds and epoch milliseconds to the same instant', () => {
    const iso = eventSchema.parse({ type: 'view', itemId: 'a', timestamp: '2026-11-01T10:00:00Z' });
    const s = eventSchema.parse({ type: 'view', itemId: 'a', timestamp: 1793527200 });
    const ms = eventSchema.parse({ type: 'view', itemId: 'a', timestamp: 1793527200000 });
    expect(iso.timestamp).toBe(Date.parse('2026-11-01T10:00:00Z'));
    expect(s.timestamp).toBe(iso.timestamp);
    expect(ms.timestamp).toBe(iso.timestamp);
  });

  it('rejects far-future timestamps, ratings without a 0-5 value and unknown fields', () => {
    expect(
      eventSchema.safeParse({ type: 'view', itemId: 'a', timestamp: Date.now() + 86400_000 }).success,
    ).toBe(false);
    expect(eventSchema.safeParse({ type: 'rating', itemId: 'a', value: 6 }).success).toBe(false);
    expect(eventSchema.safeParse({ type: 'rating', itemId: 'a', value: 4.5 }).success).toBe(true);
    expect(eventSchema.safeParse({ type: 'view', itemId: 'a', color: 'red' }).success).toBe(false);
    expect(eventSchema.safeParse({ type: 'view', itemId: 'a', userId: 'a|b' }).success).toBe(false);
    expect(ingestSchema.safeParse({ events: [] }).success).toBe(false);
  });

  it('parses history entries (with or without the event type), item ids with colons included', () => {
    expect(parseHistory('sku:1.2|1700000000.5|-5|n')).toEqual({
      itemId: 'sku:1.2',
      ts: 1700000000.5,
      weight: -5,
      polarity: 'negative',
    });
    expect(parseHistory('x|1|0.5|p')?.polarity).toBe('positive');
    expect(parseHistory('x|1|0.5|p')?.type).toBeUndefined();
    expect(parseHistory('sku:1|1700000000|5|p|purchase')).toEqual({
      itemId: 'sku:1',
      ts: 1700000000,
      weight: 5,
      polarity: 'positive',
      type: 'purchase',
    });
    expect(parseHistory('garbage')).toBeUndefined();
    expect(parseHistory('a|1|2|p|view|extra')).toBeUndefined();
  });
});
