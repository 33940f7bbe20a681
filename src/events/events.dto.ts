import { z } from 'zod';
import { itemIdSchema } from '../domain/item.schema';

export const EVENT_TYPES = [
  'view',
  'click',
  'add_to_cart',
  'purchase',
  'rating',
  'dislike',
  'impression',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Epoch numbers below this are seconds, at or above it milliseconds (1e11 s is the year 5138). */
const SECONDS_BELOW = 1e11;
/** Clock skew tolerated for client timestamps. */
const MAX_FUTURE_MS = 3600_000;

const idString = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^|\s]+$/, 'must not contain whitespace or |');

/** ISO-8601 with offset, or epoch seconds (< 1e11) or milliseconds; resolves to epoch ms. */
const timestampSchema = z
  .union([z.iso.datetime({ offset: true }), z.number().finite().positive()], {
    error: 'must be an ISO-8601 date-time or epoch seconds/milliseconds',
  })
  .transform((v) => (typeof v === 'string' ? Date.parse(v) : v < SECONDS_BELOW ? v * 1000 : v))
  .refine((ms) => ms <= Date.now() + MAX_FUTURE_MS, 'must not be more than an hour in the future');

export const eventSchema = z
  .object({
    type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
    userId: idString.optional(),
    sessionId: idString.optional(),
    itemId: itemIdSchema,
    timestamp: timestampSchema.optional(),
    value: z.number().finite().optional(),
    recommId: idString.optional(),
    eventId: idString.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.type === 'rating' && (e.value === undefined || e.value < 0 || e.value > 5))
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'a rating needs a value from 0 to 5' });
  });
export type EventInput = z.output<typeof eventSchema>;

export const ingestSchema = z
  .object({
    events: z.array(eventSchema).min(1, 'send 1 to 1000 events').max(1000, 'at most 1000 events per call'),
  })
  .strict();
export type IngestBody = z.output<typeof ingestSchema>;

/** An event as queued on the stream: timestamp resolved (ms), ids as given. */
export interface QueuedEvent {
  type: EventType;
  itemId: string;
  ts: number;
  userId?: string;
  sessionId?: string;
  value?: number;
  recommId?: string;
}

export interface IngestResult {
  /** Events taken in (not counting retries of an eventId already seen). */
  accepted: number;
  /** Of those, events naming an item the catalogue does not have (not applied to signals). */
  unknownItems: number;
  /** Retries of an eventId seen within the idempotency window (ignored). */
  duplicates: number;
}

export interface EventLag {
  /** Events queued but not yet applied to popularity, history and co-occurrence. */
  pending: number;
  /** Age of the oldest unapplied event's arrival; 0 when caught up. */
  secondsBehind: number;
  /** Events applied so far (since the stream began). */
  applied: number;
}
