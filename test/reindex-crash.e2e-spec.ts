import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CatalogueRepository } from '../src/catalogue/catalogue.repository';
import { readMovies } from '../src/datasets/movielens';
import type { Item } from '../src/domain/item';
import { IndexRegistry } from '../src/index/index-registry';
import { EmbedQueue } from '../src/jobs/embed.queue';
import { SHARED_DIR, startStack, waitFor, type Stack } from './support/stack';

const WORKER = path.resolve(__dirname, '../dist/workers/main.js');
// The figure; CRASH_TEST_ITEMS shrinks it for quick local runs.
const TOTAL = Number(process.env.CRASH_TEST_ITEMS ?? 20_000);

/** 20,000 items: the MovieLens films and numbered editions of them. */
function items(): Item[] {
  const movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small'));
  return Array.from({ length: TOTAL }, (_, i) => {
    const m = movies[i % movies.length];
    const edition = Math.floor(i / movies.length);
    return edition === 0
      ? m
      : { ...m, id: `${m.id}-e${edition}`, title: `${m.title} [edition ${edition + 1}]` };
  });
}

describe('a reindex survives its worker being killed (real processes)', () => {
  let s: Stack;
  let worker: ChildProcess | undefined;
  const C = '/v1/catalogues/crash';

  const startWorker = (): ChildProcess => {
    const env = { ...process.env, ...envOf(s), LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [WORKER], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    return child;
  };

  beforeAll(async () => {
    if (!fs.existsSync(WORKER))
      throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
    s = await startStack('crash', { worker: false });
    const all = items();
    for (let i = 0; i < all.length; i += 1000) {
      expect((await s.call('PUT', `${C}/items`, { items: all.slice(i, i + 1000) })).status).toBe(202);
    }
    // Only the reindex is under test: drop the initial embed jobs so the worker does just that.
    await s.api.get(EmbedQueue).queue.drain();
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await s?.close();
  });

  it('completes after SIGKILL mid-way, with every item in the new generation exactly once', async () => {
    const t0 = Date.now();
    const start = await s.call('POST', `${C}/reindex`, { textTemplate: '{title}. {categories}. {tags}' });
    expect(start.status).toBe(202);
    const jobId: string = start.body.jobId;
    worker = startWorker();
    const progress = await waitFor(
      async () => {
        const j = (await s.call('GET', `/v1/jobs/${jobId}`)).body;
        return j.processed >= TOTAL * 0.25 ? j : undefined;
      },
      'a quarter of the reindex',
      240_000,
      100,
    );
    expect(progress.state).toBe('running');
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    const atKill = (await s.call('GET', `/v1/jobs/${jobId}`)).body;
    expect(atKill.state).toBe('running');
    expect(atKill.processed).toBeLessThan(TOTAL);

    worker = startWorker();
    const done = await waitFor(
      async () => {
        const j = (await s.call('GET', `/v1/jobs/${jobId}`)).body;
        return ['completed', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
      },
      'the reindex to finish after the restart',
      300_000,
      250,
    );
    expect(done.state).toBe('completed');
    expect(done.errors).toEqual([]);

    const repo = s.api.get(CatalogueRepository);
    const meta = (await repo.meta('crash'))!;
    expect(meta.generation).toBe(2);
    expect(await repo.vectorCount('crash', 2)).toBe(TOTAL);
    expect((await repo.counts('crash', 2)).indexed).toBe(TOTAL);
    const ids = items().map((i) => i.id);
    expect(await repo.missingIn('crash', 2, ids)).toEqual([]);
    expect(await repo.vectorCount('crash', 1)).toBe(0);
    const registry = s.api.get(IndexRegistry);
    await waitFor(
      async () => registry.get('crash')?.generation === 2 && registry.get('crash')!.index.size === TOTAL,
      'replica on generation 2',
    );
    expect(new Set(registry.get('crash')!.index.ids()).size).toBe(TOTAL);
    console.log(
      `reindex of ${TOTAL} items with a SIGKILL at ${progress.processed}: ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 900_000);
});

function envOf(s: Stack): Record<string, string> {
  return {
    REDIS_URL: s.config.REDIS_URL,
    REDIS_PREFIX: s.config.REDIS_PREFIX,
    MODEL_DIR: s.config.MODEL_DIR_ABS,
    ADMIN_API_KEY: s.config.ADMIN_API_KEY,
    INDEX_DIR: s.config.INDEX_DIR_ABS,
  };
}
