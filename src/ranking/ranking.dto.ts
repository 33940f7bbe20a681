import { z } from 'zod';
import { catalogueNameSchema } from '../domain/item.schema';
import { configNameSchema } from '../domain/ranking';

export const configParamsSchema = z.object({ catalogue: catalogueNameSchema, name: configNameSchema });
export type ConfigParams = z.output<typeof configParamsSchema>;

export const rollbackSchema = z.object({ version: z.number().int().min(0) }).strict();
