import { z } from 'zod';
import { CATALOGUE_NAME_PATTERN } from '../item';
import { fieldErrors, itemIdSchema, type FieldError } from '../item.schema';

export const SOURCE_NAMES = [
  'similar',
  'query',
  'trending',
  'new_arrivals',
  'bought_together',
  'user_interests',
  'collaborative',
] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export const CONDITION_OPERATORS = ['eq', 'ne', 'in', 'contains', 'gt', 'gte', 'lt', 'lte'] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export const CONDITION_FIELDS = [
  'categories',
  'tags',
  'price',
  'available',
  'title',
  'id',
  'createdAt',
] as const;
const ATTRIBUTE_FIELD = /^attributes\..{1,128}$/;
const RANGE_OPERATORS = ['gt', 'gte', 'lt', 'lte'] as const;
const MAX_MULTIPLIER = 100;

const scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()], {
  error: 'must be a string, number or boolean',
});
const rangeValue = z.union([z.number().finite(), z.string().max(64)], {
  error: 'must be a number (or an ISO date for createdAt)',
});
const isoInstant = z.iso.datetime({
  offset: true,
  error: 'must be an ISO-8601 date-time, e.g. 2026-11-01T00:00:00Z',
});

const fieldSchema = z
  .string()
  .refine(
    (f) => (CONDITION_FIELDS as readonly string[]).includes(f) || ATTRIBUTE_FIELD.test(f),
    `must be one of ${CONDITION_FIELDS.join(', ')} or attributes.<name>`,
  );

type Ctx = z.RefinementCtx;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
// Cross-field checks run even when a sibling field failed, so one pass reports every error.
const always = { when: (p: { value: unknown }) => isObject(p.value) };

/** Type sanity per known field, so `price eq "cheap"` is rejected instead of silently matching nothing. */
function checkConditionTypes(c: Record<string, unknown>, ctx: Ctx): void {
  const field = typeof c.field === 'string' ? c.field : undefined;
  const ops = CONDITION_OPERATORS.filter((op) => c[op] !== undefined);
  if (ops.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ops.length === 0 ? [] : [ops[1]],
      message:
        ops.length === 0
          ? `needs exactly one operator: ${CONDITION_OPERATORS.join(', ')}`
          : `has ${ops.join(' and ')}; use exactly one operator per condition`,
    });
  }
  if (!field) return;
  for (const op of ops) {
    const v = c[op];
    const values = op === 'in' && Array.isArray(v) ? (v as unknown[]) : [v];
    const bad = (message: string): void => ctx.addIssue({ code: 'custom', path: [op], message });
    const isRange = (RANGE_OPERATORS as readonly string[]).includes(op);
    if (field === 'price') {
      if (op === 'contains') bad('price cannot use contains');
      else if (values.some((x) => typeof x !== 'number')) bad('price compares with numbers');
    } else if (field === 'available') {
      if (op !== 'eq' && op !== 'ne') bad('available takes eq or ne');
      else if (typeof v !== 'boolean') bad('available compares with true or false');
    } else if (field === 'categories' || field === 'tags' || field === 'title' || field === 'id') {
      if (isRange) bad(`${field} cannot use ${op}`);
      else if (values.some((x) => typeof x !== 'string')) bad(`${field} compares with strings`);
    } else if (field === 'createdAt') {
      if (!isRange) bad('createdAt takes gt, gte, lt or lte');
      else if (!isoInstant.safeParse(v).success) bad('createdAt compares with an ISO-8601 date-time');
    } else if (isRange && typeof v !== 'number') {
      bad(`${op} on an attribute compares with numbers`);
    }
  }
}

export const conditionSchema = z
  .object({
    field: fieldSchema,
    eq: scalar.optional(),
    ne: scalar.optional(),
    in: z.array(scalar).min(1).max(1000).optional(),
    contains: scalar.optional(),
    gt: rangeValue.optional(),
    gte: rangeValue.optional(),
    lt: rangeValue.optional(),
    lte: rangeValue.optional(),
  })
  .strict()
  .superRefine((c, ctx) => checkConditionTypes(c, ctx), always);
export type Condition = z.output<typeof conditionSchema>;

const number = z.number().finite();
const rangeSchema = z
  .object({ gt: number.optional(), gte: number.optional(), lt: number.optional(), lte: number.optional() })
  .strict()
  .superRefine((r, ctx) => {
    const lo = typeof r.gte === 'number' ? r.gte : r.gt;
    const hi = typeof r.lte === 'number' ? r.lte : r.lt;
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `empty range: lower bound ${lo} > upper bound ${hi}`,
      });
    }
  }, always);

const stringList = z.array(z.string().min(1).max(256)).min(1).max(1000);
const setFilterSchema = z
  .object({ any: stringList.optional(), all: stringList.optional(), none: stringList.optional() })
  .strict();

const attributeFilterSchema = z
  .object({
    eq: scalar.optional(),
    ne: scalar.optional(),
    in: z.array(scalar).min(1).max(1000).optional(),
    contains: scalar.optional(),
    gt: number.optional(),
    gte: number.optional(),
    lt: number.optional(),
    lte: number.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!CONDITION_OPERATORS.some((op) => a[op] !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `needs an operator: ${CONDITION_OPERATORS.join(', ')}`,
      });
    }
  }, always);

export const filtersSchema = z
  .object({
    available: z.boolean().optional(),
    price: rangeSchema.optional(),
    categories: setFilterSchema.optional(),
    tags: setFilterSchema.optional(),
    attributes: z.record(z.string().min(1).max(128), attributeFilterSchema).optional(),
  })
  .strict();
export type Filters = z.output<typeof filtersSchema>;
export type AttributeFilter = z.output<typeof attributeFilterSchema>;

const candidateSourceSchema = z
  .object({
    source: z.enum(SOURCE_NAMES, { error: `must be one of ${SOURCE_NAMES.join(', ')}` }),
    limit: z.number().int().min(1).max(5000),
    /** Scales this source's normalised score before sources are combined. */
    weight: z.number().finite().min(0).max(10).default(1),
  })
  .strict();
export type CandidateSource = z.output<typeof candidateSourceSchema>;

export const DEFAULT_CANDIDATES: CandidateSource[] = [
  { source: 'similar', limit: 200, weight: 1 },
  { source: 'query', limit: 100, weight: 1 },
  { source: 'trending', limit: 100, weight: 1 },
  { source: 'new_arrivals', limit: 50, weight: 1 },
  { source: 'bought_together', limit: 100, weight: 1 },
  { source: 'user_interests', limit: 200, weight: 1 },
  // An item-item model learnt from every user's history (EASE). Through this ranker (noisy-OR) on MovieLens
  // validation: weight 0.2 / 0.3 / 0.4 / 1 → NDCG@10 0.1033 / 0.1051 / 0.1045 / 0.0967 (0 → 0.1042).
  { source: 'collaborative', limit: 100, weight: 0.3 },
];

const weight = z.number().finite().min(0).max(100);
const boostSchema = z
  .object({
    when: conditionSchema,
    multiply: z
      .number()
      .finite()
      .min(1, 'a boost multiplies by 1 or more (a bury lowers)')
      .max(MAX_MULTIPLIER, `at most ${MAX_MULTIPLIER}`),
  })
  .strict();
const burySchema = z
  .object({
    when: conditionSchema,
    multiply: z.number().finite().min(0).max(1, 'a bury multiplies by 0 to 1 (a boost raises)'),
  })
  .strict();

const scoreSchema = z
  .object({
    /**
     * How relevance sources' weighted scores combine: noisy-OR (1 − Π(1 − s): agreement raises, stays ≤ 1) or their
     * sum (agreement adds fully; a source whose head is 1 does not mask the others).
     */
    combine: z.enum(['noisy_or', 'sum']).default('noisy_or'),
    similarity: weight.default(1),
    popularity: weight.default(0.1),
    freshness: z
      .object({
        weight: weight.default(0),
        halfLifeDays: z.number().finite().positive().max(3650).default(14),
      })
      .strict()
      .prefault({}),
    boosts: z.array(boostSchema).max(100).default([]),
    buries: z.array(burySchema).max(100).default([]),
  })
  .strict();

const windowFields = { from: isoInstant.optional(), until: isoInstant.optional() };
const checkWindow = (r: Record<string, unknown>, ctx: Ctx): void => {
  if (
    typeof r.from === 'string' &&
    typeof r.until === 'string' &&
    Date.parse(r.from) >= Date.parse(r.until)
  ) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after from' });
  }
};

// One object schema rather than a union: zod's union errors would hide which field is wrong.
const ruleSchema = z
  .object({
    pin: itemIdSchema.optional(),
    position: z.number().int().min(1).max(1000).optional(),
    hide: conditionSchema.optional(),
    ...windowFields,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.pin === undefined && r.hide === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a rule needs pin (with position) or hide' });
    }
    if (r.pin !== undefined && r.hide !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['hide'], message: 'a rule is either pin or hide, not both' });
    }
    if (r.pin !== undefined && r.position === undefined) {
      ctx.addIssue({ code: 'custom', path: ['position'], message: 'is required with pin (1 = first)' });
    }
    if (r.pin === undefined && r.position !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['position'], message: 'only applies to a pin rule' });
    }
    checkWindow(r, ctx);
  }, always);

export interface PinRule {
  pin: string;
  position: number;
  from?: string;
  until?: string;
}
export interface HideRule {
  hide: Condition;
  from?: string;
  until?: string;
}
export type Rule = PinRule | HideRule;

/** Weight of one event; `{valueScale, valueOffset}` derives it from the event's value (e.g. a 1-5 rating). */
const eventWeightSchema = z.union(
  [
    z.number().finite().min(-100).max(100),
    z
      .object({
        valueScale: z.number().finite().min(-100).max(100),
        valueOffset: z.number().finite().default(0),
      })
      .strict(),
  ],
  { error: 'must be a number or {valueScale, valueOffset}' },
);
export type EventWeight = z.output<typeof eventWeightSchema>;

export const DEFAULT_EVENT_WEIGHTS: Readonly<Record<string, EventWeight>> = Object.freeze({
  purchase: 5,
  add_to_cart: 3,
  click: 1,
  view: 0.5,
  // A 0-5 rating: 2 is neutral, below is a dislike, a middling 3 is still mild interest (5 → +3, 1 → -1).
  // Offset -2 beat -3 on MovieLens validation (3 folds; src/eval/tune-validation.ts svcweights).
  rating: { valueScale: 1, valueOffset: -2 },
  dislike: -5,
  impression: 0,
});

export const rankingConfigSchema = z
  .object({
    candidates: z
      .array(candidateSourceSchema)
      .min(1)
      .max(SOURCE_NAMES.length)
      .superRefine(
        (list, ctx) => {
          const seen = new Set<unknown>();
          (list as unknown[]).forEach((c, i) => {
            const source = isObject(c) ? c.source : undefined;
            if (typeof source !== 'string') return;
            if (seen.has(source)) {
              ctx.addIssue({ code: 'custom', path: [i, 'source'], message: `${source} is listed twice` });
            }
            seen.add(source);
          });
        },
        { when: (p) => Array.isArray(p.value) },
      )
      .default(() => DEFAULT_CANDIDATES.map((c) => ({ ...c }))),
    score: scoreSchema.prefault({}),
    filters: filtersSchema.default({}),
    exclude: z
      .object({
        contextItems: z.boolean().default(true),
        ids: z.array(itemIdSchema).max(10000).default([]),
        /** Drop items the user/session purchased (any purchase in its history). */
        purchased: z.boolean().default(false),
        /** Drop items the user/session interacted with (not impressions) within this many hours. */
        seenWithinHours: z.number().finite().positive().max(87600).optional(),
      })
      .strict()
      .prefault({}),
    diversity: z
      .object({
        mmrLambda: z.number().finite().min(0).max(1).default(1),
        maxPerCategory: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .prefault({}),
    rules: z.array(ruleSchema).max(1000).default([]),
    eventWeights: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must match [a-z][a-z0-9_]{0,63}'),
        eventWeightSchema,
      )
      .default({})
      // Overrides are partial: {purchase: 10} keeps every other default weight.
      .transform((w) => ({ ...DEFAULT_EVENT_WEIGHTS, ...w })),
    popularity: z
      .object({ halfLifeDays: z.number().finite().positive().max(3650).default(7) })
      .strict()
      .prefault({}),
  })
  .strict();

type ParsedConfig = z.output<typeof rankingConfigSchema>;
export type RankingConfig = Omit<ParsedConfig, 'rules'> & { rules: Rule[] };
export type RankingConfigInput = z.input<typeof rankingConfigSchema>;

export type ParseResult<T> = { ok: true; config: T } | { ok: false; errors: FieldError[] };

/** Validates a config; on failure lists every error with its dotted path. */
export function parseRankingConfig(input: unknown): ParseResult<RankingConfig> {
  const result = rankingConfigSchema.safeParse(input);
  if (!result.success) return { ok: false, errors: fieldErrors(result.error) };
  return { ok: true, config: result.data as RankingConfig };
}

/** Request-level filters (same shape as the config's), validated on their own. */
export function parseFilters(
  input: unknown,
): { ok: true; filters: Filters } | { ok: false; errors: FieldError[] } {
  const result = filtersSchema.safeParse(input);
  return result.success
    ? { ok: true, filters: result.data }
    : { ok: false, errors: fieldErrors(result.error) };
}

/** The built-in `default` config; `{}` parses to the same value. */
export const DEFAULT_RANKING_CONFIG: Readonly<RankingConfig> = deepFreeze(
  rankingConfigSchema.parse({}) as RankingConfig,
);

// Shared by every request that names no config: a caller mutating it must fail loudly, not leak into others.
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** An event's contribution; unknown types weigh 0, value-based weights need the event's value. */
export function eventWeight(
  weights: Readonly<Record<string, EventWeight>>,
  type: string,
  value?: number,
): number {
  const w = Object.prototype.hasOwnProperty.call(weights, type) ? weights[type] : undefined;
  if (w === undefined) return 0;
  if (typeof w === 'number') return w;
  return typeof value === 'number' && Number.isFinite(value) ? w.valueScale * (value + w.valueOffset) : 0;
}

export const configNameSchema = z
  .string()
  .regex(CATALOGUE_NAME_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,63}');

export { type FieldError };
