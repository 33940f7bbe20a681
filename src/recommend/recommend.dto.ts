import { z } from 'zod';
import { itemIdSchema } from '../domain/item.schema';
import { configNameSchema, filtersSchema } from '../domain/ranking';

const idList = z.array(itemIdSchema).max(100).default([]);
const unitId = z.string().min(1).max(256);

/** The request context shared by recommendations and compare. */
const contextShape = {
  userId: unitId.optional(),
  sessionId: unitId.optional(),
  itemIds: idList,
  sessionItemIds: idList,
  positive: idList,
  negative: idList,
  query: z.string().trim().min(1).max(1000).optional(),
  filters: filtersSchema.optional(),
  exclude: z.array(itemIdSchema).max(10000).default([]),
  limit: z.number().int().min(1).max(100).default(10),
};

export const recommendContextSchema = z.object(contextShape).strict();
export type RecommendContext = z.output<typeof recommendContextSchema>;

export const recommendRequestSchema = z
  .object({
    ...contextShape,
    /** Ranking config name; `default` when neither this nor `experiment` is given. */
    config: configNameSchema.optional(),
    /** An experiment picks the config per userId (else sessionId). */
    experiment: configNameSchema.optional(),
    cursor: z.string().min(1).max(200).optional(),
    explain: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.config !== undefined && r.experiment !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['experiment'], message: 'give config or experiment, not both' });
    }
    if (r.experiment !== undefined && r.userId === undefined && r.sessionId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'an experiment needs userId or sessionId' });
    }
  });
export type RecommendRequest = z.output<typeof recommendRequestSchema>;

const configRef = z
  .object({
    name: configNameSchema.optional(),
    version: z.number().int().min(0).optional(),
    /** An inline config, not stored; validated like a PUT. */
    config: z.unknown().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.name === undefined) === (r.config === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give a config name (optionally a version) or an inline config',
      });
    }
    if (r.version !== undefined && r.name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'a version needs a name' });
    }
  });
export type ConfigRef = z.output<typeof configRef>;

export const compareRequestSchema = z
  .object({
    a: configRef,
    b: configRef,
    request: recommendContextSchema.prefault({}),
    /** Cut-off for overlap and rank correlation; default request.limit. */
    k: z.number().int().min(1).max(100).optional(),
  })
  .strict();
export type CompareRequest = z.output<typeof compareRequestSchema>;
