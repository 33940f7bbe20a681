import { z } from 'zod';
import { catalogueNameSchema, itemIdSchema } from '../domain/item.schema';

export const catalogueParamsSchema = z.object({ catalogue: catalogueNameSchema });
export const itemParamsSchema = z.object({ catalogue: catalogueNameSchema, id: itemIdSchema });

export const similarQuerySchema = z.object({
  limit: z.coerce
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'must be a number' : undefined) })
    .int('must be an integer')
    .min(1)
    .max(100)
    .default(10),
  config: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
});
export type SimilarQuery = z.infer<typeof similarQuerySchema>;

export const listQuerySchema = z.object({
  cursor: z.string().regex(/^\d+$/, 'must be a cursor returned by a previous page').default('0'),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
