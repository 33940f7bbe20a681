// `npm run eval` stopped mid-run (Ctrl-C, a CI timeout) removes its temporary Redis prefix and index directory.
// Needs dist/ (npm test builds first): the eval runs as a real process, as users run it.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { deleteKeys } from '../src/redis/redis-connection';
import { SHARED_DIR, testConfig, waitFor } from './support/stack';

jest.setTimeout(120_000);

const EVAL = path.resolve(__dirname, '../dist/src/eval/main.js');
const MOVIELENS = path.join(SHARED_DIR, 'data/movielens-ml-latest-small');

/** A MovieLens-format folder with the first `n` movies and their ratings and tags. */
function smallDataset(dir: string, n: number): void {
  const lines = (f: string) => fs.readFileSync(path.join(MOVIELENS, f), 'utf8').trimEnd().split('\n');
  const movies = lines('movies.csv');
  const kept = movies.slice(1, n + 1);
  const ids = new Set(kept.map((l) => l.split(',')[0]));
  const byMovie = (f: string) => {
    const [header, ...rows] = lines(f);
    return [header, ...rows.filter((l) => ids.has(l.split(',')[1]))].join('\n') + '\n';
  };
  fs.writeFileSync(path.join(dir, 'movies.csv'), [movies[0], ...kept].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'ratings.csv'), byMovie('ratings.csv'));
  fs.writeFileSync(path.join(dir, 'tags.csv'), byMovie('tags.csv'));
}

describe('npm run eval cleans up when interrupted', () => {
  let dir: string;
  let redis: Redis;
  let child: ChildProcess | undefined;
  // What a failed run may have left behind, removed in afterAll.
  const runs: { prefix: string; indexDir: string }[] = [];

  beforeAll(() => {
    if (!fs.existsSync(EVAL))
      throw new Error(`${EVAL} is missing: run 'npm run build' first (npm test does)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-eval-interrupt-'));
    smallDataset(dir, 400);
    redis = new Redis(testConfig('eval-interrupt').REDIS_URL);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    for (const r of runs) {
      await deleteKeys(redis, `${r.prefix}:*`);
      fs.rmSync(r.indexDir, { recursive: true, force: true });
    }
    await redis.quit();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Mid-run: the catalogue is being indexed; start-up: the API and worker are still being created.
  it.each([
    ['SIGINT', 'mid-run'],
    ['SIGTERM', 'mid-run'],
    ['SIGTERM', 'start-up'],
  ] as const)('%s %s: the prefix and index dir are gone', async (signal, when) => {
    const proc = spawn(process.execPath, [EVAL, '--dataset', dir, '--out', path.join(dir, 'out')], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));

    const started = await waitFor(
      async () => /temporary Redis prefix (\S+), index dir (\S+)/.exec(stderr) ?? undefined,
      'the eval to announce its prefix',
      30_000,
    );
    const [, prefix, indexDir] = started;
    runs.push({ prefix, indexDir });
    const keys = () => redis.keys(`${prefix}:*`);
    if (when === 'mid-run') {
      const catalogue = async () => (await redis.keys(`${prefix}:cat:*`)).length > 0;
      await waitFor(catalogue, 'the eval to write its catalogue', 60_000);
    }
    expect(proc.exitCode).toBeNull();

    proc.kill(signal);
    const code = await exited;
    expect({ code, stderr: code === (signal === 'SIGINT' ? 130 : 143) ? '' : stderr }).toEqual({
      code: signal === 'SIGINT' ? 130 : 143,
      stderr: '',
    });
    expect(await keys()).toEqual([]);
    expect(fs.existsSync(indexDir)).toBe(false);
    expect(stderr).toContain(`${signal}: removing Redis prefix ${prefix}`);
  });
});
