// Loads MovieLens ml-latest-small from the shared folder and caches use-lite vectors under /tmp (never in the repo).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { itemText, type Item } from '../domain/item';

export const MOVIELENS_DIR = '/work/shared/data/movielens-ml-latest-small';
export const VECTOR_CACHE = '/tmp/recsvc-movielens-use-lite.f32';

export interface Rating {
  userId: string;
  itemId: string;
  rating: number;
  /** Unix seconds. */
  ts: number;
}

export interface MovieLens {
  items: Item[];
  ratings: Rating[];
}

function readCsv(dir: string, file: string): Record<string, string>[] {
  return parse(readFileSync(`${dir}/${file}`), { columns: true, skip_empty_lines: true });
}

export function loadMovieLens(dir = MOVIELENS_DIR): MovieLens {
  const tags = new Map<string, string[]>();
  for (const r of readCsv(dir, 'tags.csv')) {
    const list = tags.get(r.movieId) ?? [];
    const tag = r.tag.trim();
    // Tags repeat across users; keep each once, case-insensitively.
    if (tag && !list.some((t) => t.toLowerCase() === tag.toLowerCase())) list.push(tag);
    tags.set(r.movieId, list);
  }
  const items: Item[] = readCsv(dir, 'movies.csv').map((r) => ({
    id: r.movieId,
    title: r.title.trim(),
    categories: r.genres === '(no genres listed)' ? [] : r.genres.split('|'),
    tags: tags.get(r.movieId) ?? [],
    available: true,
  }));
  const ratings: Rating[] = readCsv(dir, 'ratings.csv').map((r) => ({
    userId: r.userId,
    itemId: r.movieId,
    rating: Number(r.rating),
    ts: Number(r.timestamp),
  }));
  return { items, ratings };
}

/** Item text as the service embeds it: `Title (Year). Genre1, Genre2. tag1, tag2`. */
export function movieText(item: Item): string {
  return itemText(item);
}

interface FeaturePipeline {
  (texts: string[], opts: { pooling: 'mean'; normalize: boolean }): Promise<{ tolist(): number[][] }>;
}

/** Vectors in item order; computed once with the real model, then read from the /tmp cache. */
export async function movieVectors(items: Item[], cacheFile = VECTOR_CACHE): Promise<Float32Array[]> {
  const texts = items.map(movieText);
  if (existsSync(cacheFile)) {
    const buf = readFileSync(cacheFile);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const dim = all.length / items.length;
    if (Number.isInteger(dim)) return items.map((_, i) => all.slice(i * dim, (i + 1) * dim));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const t = require('@huggingface/transformers') as {
    env: { allowRemoteModels: boolean; localModelPath: string };
    pipeline(task: string, model: string, opts: { dtype: string }): Promise<FeaturePipeline>;
  };
  t.env.allowRemoteModels = false;
  t.env.localModelPath = '/work/shared/models/';
  const pipe = await t.pipeline('feature-extraction', 'google/use-lite', { dtype: 'fp32' });
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 64) {
    const rows = (await pipe(texts.slice(i, i + 64), { pooling: 'mean', normalize: true })).tolist();
    for (const row of rows) out.push(Float32Array.from(row));
  }
  const flat = new Float32Array(out.length * out[0].length);
  out.forEach((v, i) => flat.set(v, i * v.length));
  writeFileSync(cacheFile, Buffer.from(flat.buffer));
  return out;
}
