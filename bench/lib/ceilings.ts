import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HierarchicalNSW } from 'hnswlib-node';
import { replicaEnv } from '../../src/common/replica-flags';
import type { CeilingSpec } from '../ceiling-server';
import { type Dataset, vectorAt } from './fixtures';
import { CACHE_DIR, type Child, ensureDir, freePort, log, ROOT, startChild } from './util';

export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 200;
export const HNSW_EF_SEARCH = 64;

/** Builds (or reuses from the cache) a raw hnswlib index over a dataset with the service's default params. */
export function rawIndexFiles(d: Dataset): { indexFile: string; itemsFile: string; buildMs?: number } {
  ensureDir(CACHE_DIR);
  const key = createHash('sha1')
    .update(Buffer.from(d.vectors.buffer, d.vectors.byteOffset, d.vectors.byteLength))
    .update(`${HNSW_M}/${HNSW_EF_CONSTRUCTION}`)
    .digest('hex')
    .slice(0, 16);
  const indexFile = path.join(CACHE_DIR, `hnsw-${d.name}-${key}.bin`);
  const itemsFile = path.join(CACHE_DIR, `items-${d.name}-${key}.json`);
  if (fs.existsSync(indexFile) && fs.existsSync(itemsFile)) return { indexFile, itemsFile };
  const started = Date.now();
  const index = new HierarchicalNSW('cosine', d.dim);
  index.initIndex(d.items.length, HNSW_M, HNSW_EF_CONSTRUCTION, 100);
  for (let i = 0; i < d.items.length; i++) index.addPoint(Array.from(vectorAt(d, i)), i);
  index.writeIndexSync(indexFile);
  fs.writeFileSync(itemsFile, JSON.stringify(d.items));
  const buildMs = Date.now() - started;
  log(`raw hnsw index over ${d.items.length} items built in ${buildMs} ms (cached)`);
  return { indexFile, itemsFile, buildMs };
}

export interface CeilingServer {
  url: string;
  child: Child;
  stop(): Promise<void>;
}

export async function startCeiling(spec: Omit<CeilingSpec, 'port'>): Promise<CeilingServer> {
  const port = await freePort();
  let out = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  const child = startChild(
    ['--import', 'tsx', path.join(ROOT, 'bench/ceiling-server.ts')],
    // The environment our API replicas get (src/main.ts: huge pages for the index), so the walks compare like with like.
    { ...(replicaEnv(process.env) as Record<string, string>), CEILING: JSON.stringify({ ...spec, port }) },
    {
      stdout: (chunk) => {
        out += chunk;
        if (out.includes('ready')) onReady();
      },
    },
  );
  const exited = new Promise<never>((_, reject) =>
    child.proc.once('exit', (code) => reject(new Error(`ceiling server exited ${code}:\n${child.tail()}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([ready, exited]);
  return { url: `http://127.0.0.1:${port}`, child, stop: () => child.stop() };
}
