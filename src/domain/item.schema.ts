import { z } from 'zod';
import { CATALOGUE_NAME_PATTERN, ITEM_ID_PATTERN } from './item';

export const MAX_ITEMS_PER_BATCH = 1000;

const shortString = z.string().min(1).max(256);

export const itemIdSchema = z
  .string()
  .regex(ITEM_ID_PATTERN, 'must be 1-256 characters of A-Z a-z 0-9 . _ : -');

export const catalogueNameSchema = z
  .string()
  .regex(CATALOGUE_NAME_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,63}');

export const itemSchema = z
  .object({
    id: itemIdSchema,
    title: z.string().trim().min(1, 'is required').max(1000),
    description: z.string().max(10000).optional(),
    categories: z.array(shortString).max(100).optional(),
    tags: z.array(shortString).max(200).optional(),
    attributes: z
      .record(
        z.string().min(1).max(128),
        z.union([z.string().max(1000), z.number().finite(), z.boolean()], {
          error: 'must be a string, number or boolean (no nested objects or arrays)',
        }),
        {
          error: 'must be an object whose values are strings, numbers or booleans',
        },
      )
      .refine((a) => Object.keys(a).length <= 100, 'at most 100 attributes')
      .optional(),
    price: z.number().finite().min(0).optional(),
    available: z.boolean().default(true),
    imageUrl: z.url().max(2048).optional(),
    createdAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export type ItemInput = z.input<typeof itemSchema>;

export const upsertItemsSchema = z
  .object({
    items: z.array(itemSchema).min(1).max(MAX_ITEMS_PER_BATCH),
  })
  .strict();

export interface FieldError {
  /** Dotted path of the bad field, e.g. `items.3.title`. */
  path: string;
  message: string;
}

/** Every problem zod found, as `{path, message}` pairs a client can act on. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }));
}
