import { z } from 'zod';
import { fieldErrors, type FieldError } from '../item.schema';
import { configNameSchema } from './ranking-config.schema';

export const experimentSchema = z
  .object({
    variants: z
      .array(
        z
          .object({
            config: configNameSchema,
            weight: z.number().finite().min(0).max(1_000_000),
            /** Label reported back as `variant`; defaults to the config name. */
            name: z.string().min(1).max(64).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100)
      .refine(
        (vs) => vs.reduce((s, v) => s + v.weight, 0) > 0,
        'at least one variant needs a weight above 0',
      ),
  })
  .strict();
export type Experiment = z.output<typeof experimentSchema>;
export type Variant = Experiment['variants'][number];

export function parseExperiment(
  input: unknown,
): { ok: true; experiment: Experiment } | { ok: false; errors: FieldError[] } {
  const r = experimentSchema.safeParse(input);
  return r.success ? { ok: true, experiment: r.data } : { ok: false, errors: fieldErrors(r.error) };
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so near-identical ids ("u1", "u2") spread out. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Variant for a unit (userId, else session id), proportional to weight; the experiment name in the hash keeps experiments independent. */
export function assignVariant<V extends { weight: number }>(
  variants: readonly V[],
  unitId: string,
  experimentName: string,
): { index: number; variant: V } {
  const total = variants.reduce((s, v) => s + Math.max(0, v.weight), 0);
  if (variants.length === 0 || total <= 0)
    throw new Error('an experiment needs a variant with a positive weight');
  const u = (stableHash(`${experimentName}:${unitId}`) / 0x100000000) * total;
  let acc = 0;
  for (let i = 0; i < variants.length; i++) {
    acc += Math.max(0, variants[i].weight);
    if (u < acc) return { index: i, variant: variants[i] };
  }
  // Only reachable through float rounding at the top edge: the last weighted variant.
  const last =
    variants
      .map((v, i) => (v.weight > 0 ? i : -1))
      .filter((i) => i >= 0)
      .pop() ?? 0;
  return { index: last, variant: variants[last] };
}
