import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { CatalogueRepository, textHash } from '../../src/catalogue/catalogue.repository';
import { readMovies, readRatings } from '../../src/datasets/movielens';
import { itemText, type Item } from '../../src/domain/item';
import { TransformersEmbedder } from '../../src/embedding/transformers-embedder';
import { RedisKeys } from '../../src/redis/redis-keys';
import {
  API_KEY,
  CACHE_DIR,
  type Child,
  ensureDir,
  freePort,
  http,
  log,
  MODEL_DIR,
  MODEL_ID,
  MOVIELENS_DIR,
  REDIS_URL,
  ROOT,
  RUN_PREFIX,
  sleep,
  startChild,
} from './util';

/** A catalogue held in memory: items and their unit vectors (flat, `dim` floats per item). */
export interface Dataset {
  name: string;
  items: Item[];
  vectors: Float32Array;
  dim: number;
}

export function vectorAt(d: Dataset, i: number): Float32Array {
  return d.vectors.subarray(i * d.dim, (i + 1) * d.dim);
}

/** Deterministic PRNG (mulberry32) so every run benchmarks the same synthetic data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let movielensCache: Dataset | undefined;

const DAY_MS = 86_400_000;

/**
 * MovieLens movies as items (with a few unavailable ones and prices, so filters have work to do, and a createdAt
 * within the last year, so `new_arrivals` has something to rank).
 */
export function movielensItems(): Item[] {
  const rand = rng(7);
  const added = rng(13);
  const now = Date.now();
  return readMovies(MOVIELENS_DIR).map((item) => ({
    ...item,
    available: rand() > 0.05,
    price: Math.round((2 + rand() * 18) * 100) / 100,
    createdAt: new Date(now - Math.floor(added() * 365 * DAY_MS)).toISOString(),
  }));
}

/** The MovieLens catalogue with real embeddings of the default model (cached in bench/results/cache). */
export async function movielens(): Promise<Dataset> {
  if (movielensCache) return movielensCache;
  const items = movielensItems();
  const texts = items.map((i) => itemText(i));
  const modelFile = path.join(MODEL_DIR, MODEL_ID, 'onnx/model.onnx');
  const stat = fs.statSync(modelFile);
  const key = createHash('sha1')
    .update(`${MODEL_ID}\0${stat.size}\0${stat.mtimeMs}\0${texts.join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  ensureDir(CACHE_DIR);
  const file = path.join(CACHE_DIR, `movielens-${key}.f32`);
  let vectors: Float32Array;
  let dim: number;
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    vectors = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    dim = vectors.length / items.length;
  } else {
    log(`embedding ${items.length} MovieLens items once (cached in ${path.relative(ROOT, file)})`);
    const embedder = await TransformersEmbedder.load({
      modelId: MODEL_ID,
      modelDir: MODEL_DIR,
      allowRemote: false,
      dtype: 'fp32',
    });
    dim = embedder.dimension;
    vectors = new Float32Array(items.length * dim);
    for (let i = 0; i < texts.length; i += 32) {
      const out = await embedder.embed(texts.slice(i, i + 32));
      out.forEach((v, j) => vectors.set(v, (i + j) * dim));
    }
    await embedder.dispose();
    fs.writeFileSync(file, Buffer.from(vectors.buffer));
  }
  movielensCache = { name: 'movielens', items, vectors, dim };
  return movielensCache;
}

/**
 * `n` items for scale: the MovieLens items and vectors, then perturbed copies of them (gaussian noise of
 * norm ~0.5, renormalised: each real movie gets a cluster of near neighbours), titled "<title> #<i>".
 */
export async function synthetic(n: number): Promise<Dataset> {
  const base = await movielens();
  const { dim } = base;
  const m = base.items.length;
  const items: Item[] = [];
  const vectors = new Float32Array(n * dim);
  const rand = rng(42);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const sigma = 0.5 / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    const src = i % m;
    const b = base.vectors.subarray(src * dim, (src + 1) * dim);
    const out = vectors.subarray(i * dim, (i + 1) * dim);
    if (i < m) {
      out.set(b);
      items.push(base.items[src]);
      continue;
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      out[d] = b[d] + sigma * gauss();
      norm += out[d] * out[d];
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[d] /= norm;
    const it = base.items[src];
    items.push({ ...it, id: `s${i}`, title: `${it.title} #${i}` });
  }
  return { name: `${Math.round(n / 1000)}k`, items, vectors, dim };
}

export interface LoadedCatalogue {
  prefix: string;
  catalogue: string;
  dataset: Dataset;
}

let prefixCounter = 0;
export function newPrefix(label: string): string {
  return `${RUN_PREFIX}-${label}-${prefixCounter++}`;
}

/** Writes a dataset into Redis in the service's own format, through its repository (items, states, vectors). */
export async function loadIntoRedis(
  r: Redis,
  dataset: Dataset,
  prefix: string,
  catalogue = 'bench',
): Promise<LoadedCatalogue> {
  const started = Date.now();
  const repo = new CatalogueRepository(r, new RedisKeys(prefix));
  const meta = await repo.ensureCatalogue(catalogue, MODEL_ID);
  const chunk = 1000;
  for (let i = 0; i < dataset.items.length; i += chunk) {
    const slice = dataset.items.slice(i, i + chunk);
    const withHash = slice.map((item) => ({ item, hash: textHash(itemText(item, meta.textTemplate)) }));
    await repo.upsertItems(
      catalogue,
      withHash.map((w) => ({ item: w.item, hashes: new Map([[meta.generation, w.hash]]) })),
    );
    const stored = await repo.storeVectors(
      catalogue,
      meta.generation,
      'job',
      withHash.map((w, j) => ({ id: w.item.id, hash: w.hash, vector: vectorAt(dataset, i + j) })),
    );
    if (stored !== slice.length) throw new Error(`stored ${stored} of ${slice.length} vectors`);
  }
  log(`loaded ${dataset.items.length} items into Redis (${prefix}) in ${Date.now() - started} ms`);
  return { prefix, catalogue, dataset };
}

/**
 * The MovieLens ratings as `rating` events for a dataset, shifted in time so the newest is a minute old. For a
 * synthetic dataset each rating goes to one of its movie's copies (picked at random), so popularity keeps the real
 * long tail and users keep their tastes across the copies.
 */
export function datasetEvents(d: Dataset): { events: Record<string, unknown>[]; users: string[] } {
  const ratings = readRatings(MOVIELENS_DIR);
  const base = movielensItems();
  const m = base.length;
  const n = d.items.length;
  const indexOf = new Map(base.map((item, i) => [item.id, i]));
  const newest = ratings.reduce((max, r) => Math.max(max, r.timestamp), 0);
  const shift = Date.now() - 60_000 - 1000 * newest;
  const rand = rng(17);
  const users = new Set<string>();
  const events: Record<string, unknown>[] = [];
  for (const r of ratings) {
    const src = indexOf.get(r.movieId);
    if (src === undefined || src >= n) continue;
    const copies = Math.floor((n - 1 - src) / m) + 1;
    const i = src + m * Math.floor(rand() * copies);
    users.add(r.userId);
    events.push({
      type: 'rating',
      userId: r.userId,
      itemId: d.items[i].id,
      value: r.rating,
      timestamp: shift + 1000 * r.timestamp,
    });
  }
  return { events, users: [...users] };
}

/**
 * Sends a dataset's events (datasetEvents) through the API and has a worker apply them (popularity, histories,
 * co-occurrence), then stops the worker: the catalogue then has trending items and users with histories.
 * Returns the users, for personalised requests.
 */
export async function loadEvents(
  api: ApiProcess,
  prefix: string,
  d: Dataset,
  catalogue = 'bench',
): Promise<string[]> {
  const started = Date.now();
  const { events, users } = datasetEvents(d);
  const worker = startWorker(prefix);
  try {
    const route = `/v1/catalogues/${catalogue}/events`;
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < events.length; i += 1000) batches.push(events.slice(i, i + 1000));
    let next = 0;
    const send = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++];
        const res = await http(api.url, 'POST', route, { events: batch });
        if (res.status !== 202)
          throw new Error(`POST events answered ${res.status}: ${res.text.slice(0, 300)}`);
      }
    };
    await Promise.all([send(), send(), send(), send()]);
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      const lag = await http(api.url, 'GET', `${route}/lag`);
      if (lag.status === 200 && (lag.body as { pending?: number }).pending === 0) break;
      if (Date.now() > deadline) throw new Error(`events not applied in time: ${lag.text}`);
      if (worker.proc.exitCode !== null) throw new Error(`worker exited early:\n${worker.tail()}`);
      await sleep(250);
    }
  } finally {
    await worker.stop();
  }
  log(`applied ${events.length} rating events of ${users.length} users in ${Date.now() - started} ms`);
  return users;
}

let built = false;

/** Compiles the service once per run (the API and worker run from dist/, as in production). */
export function ensureBuilt(): void {
  if (built || process.env.BENCH_BUILD === '0') return;
  log('npm run build (set BENCH_BUILD=0 to skip)');
  const res = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (res.status !== 0) {
    if (!fs.existsSync(path.join(ROOT, 'dist/src/main.js'))) {
      throw new Error(`build failed:\n${res.stdout}${res.stderr}`);
    }
    log(`build reported errors (using dist/ as emitted):\n${(res.stdout + res.stderr).slice(0, 1500)}`);
  }
  built = true;
}

export interface ApiProcess {
  child: Child;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function serviceEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    MODEL_DIR,
    EMBEDDING_MODEL: MODEL_ID,
    ADMIN_API_KEY: API_KEY,
    INDEX_DIR: path.join(os.tmpdir(), `recsvc-${prefix}`),
    SNAPSHOT_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    ...extra,
  };
}

/**
 * Starts `node dist/src/main.js` (API_WORKERS replicas) and waits until every replica answers ready.
 * `profileDir`: profile the (single) replica from ready until stop, into `<profileDir>/api.cpuprofile`.
 */
export async function startApi(
  prefix: string,
  opts: {
    workers?: number;
    env?: Record<string, string>;
    profileDir?: string;
    timeoutMs?: number;
    keepIndexDir?: boolean;
    /** Another build's entry point (bench/ab.ts: an older revision); default this checkout's dist/. */
    main?: string;
  } = {},
): Promise<ApiProcess> {
  if (!opts.main) ensureBuilt();
  const port = await freePort();
  const workers = opts.workers ?? 1;
  const env = serviceEnv(prefix, { PORT: String(port), API_WORKERS: String(workers), ...opts.env });
  const main = opts.main ?? path.join(ROOT, 'dist/src/main.js');
  // Profiling starts when <profileDir>/start appears (after ready, so start-up is not in it); when
  // <profileDir>/stop appears the profile is written and the process exits. Files, not signals: Nest's
  // shutdown hooks own the signals.
  const profiler = `
    const inspector = require('node:inspector'); const fs = require('node:fs'); const path = require('node:path');
    const dir = process.env.BENCH_PROFILE_DIR; const session = new inspector.Session(); session.connect();
    let on = false;
    setInterval(() => {
      if (!on && fs.existsSync(path.join(dir, 'start'))) {
        on = true;
        session.post('Profiler.enable', () => session.post('Profiler.start'));
      } else if (on && fs.existsSync(path.join(dir, 'stop'))) {
        on = false;
        session.post('Profiler.stop', (err, res) => {
          if (!err) fs.writeFileSync(path.join(dir, 'api.cpuprofile'), JSON.stringify(res.profile));
          process.exit(0);
        });
      }
    }, 50).unref();
    require(process.argv[1]);`;
  const args = opts.profileDir ? ['-e', profiler, main] : [main];
  if (opts.profileDir) env.BENCH_PROFILE_DIR = opts.profileDir;
  const child = startChild(args, env);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 900_000);
  let streak = 0;
  // Replicas share the port round-robin: several ready answers in a row mean all of them are.
  while (streak < workers * 3) {
    if (child.proc.exitCode !== null) throw new Error(`API exited early:\n${child.tail()}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`API not ready in time:\n${child.tail()}`);
    }
    try {
      const res = await fetch(`${url}/health/ready`);
      streak = res.status === 200 ? streak + 1 : 0;
    } catch {
      streak = 0;
    }
    await sleep(streak > 0 ? 20 : 250);
  }
  if (opts.profileDir) fs.writeFileSync(path.join(opts.profileDir, 'start'), '');
  return {
    child,
    url,
    port,
    async stop() {
      if (opts.profileDir && child.proc.exitCode === null) {
        const exited = new Promise<void>((r) => child.proc.once('exit', () => r()));
        fs.writeFileSync(path.join(opts.profileDir, 'stop'), '');
        await Promise.race([exited, sleep(15_000)]);
      }
      await child.stop();
      if (!opts.keepIndexDir) fs.rmSync(env.INDEX_DIR, { recursive: true, force: true });
    },
  };
}

export function startWorker(prefix: string, env: Record<string, string> = {}): Child {
  ensureBuilt();
  return startChild([path.join(ROOT, 'dist/workers/main.js')], serviceEnv(prefix, env));
}
