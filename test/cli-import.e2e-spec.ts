import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Item } from '../src/domain/item';
import { readMovies } from '../src/datasets/movielens';
import { API_KEY, SHARED_DIR, startStack, type Stack } from './support/stack';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a real child process (async, so the in-process API keeps serving). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, RECSVC_URL: '', ADMIN_API_KEY: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function itemsPerSecond(stdout: string): number {
  return Number(/\((\d+) items\/s\)/.exec(stdout)?.[1] ?? NaN);
}

describe('CLI import / export (real child process against the real API)', () => {
  let s: Stack;
  let dir: string;
  let movies: Item[];
  let env: Record<string, string>;
  const jsonl = () => path.join(dir, 'movies.jsonl');
  const csv = () => path.join(dir, 'movies.csv');
  const count = async (c: string) => {
    const r = await s.call('GET', `/v1/catalogues/${c}`);
    return r.status === 200 ? (r.body.items as number) : r.status === 404 ? 0 : NaN;
  };

  beforeAll(async () => {
    // The API alone: these tests are about what lands in the store, not about embedding.
    s = await startStack('cli', { worker: false });
    env = { RECSVC_URL: s.url, ADMIN_API_KEY: API_KEY };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-cli-e2e-'));
    movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small'));
    fs.writeFileSync(jsonl(), movies.map((m) => JSON.stringify(m)).join('\n') + '\n');
    // Column names that are not item fields, so the import must use --map.
    const rows = movies.map((m) =>
      [
        m.id,
        m.title,
        (m.categories ?? []).join('|'),
        (m.tags ?? []).join('|'),
        String(m.attributes?.year ?? ''),
      ]
        .map(csvCell)
        .join(','),
    );
    fs.writeFileSync(csv(), ['movieId,name,genres,tags,attributes.year', ...rows].join('\n') + '\n');
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports every MovieLens movie from JSON Lines, showing progress with items/s and ETA', async () => {
    expect(movies.length).toBe(9742);
    const r = await cli(['import', jsonl(), '--catalogue', 'ml-jsonl'], env);
    expect(r.stderr).toMatch(/\d+% \| \d+ items \| \d+ items\/s \| ETA/);
    expect(r.stdout).toMatch(/^imported 9742, failed 0 /);
    expect(r.code).toBe(0);
    expect(await count('ml-jsonl')).toBe(9742);
    const toyStory = await s.call('GET', '/v1/catalogues/ml-jsonl/items/1');
    expect(toyStory.body.item).toEqual(movies[0]);
    console.log(`CLI import JSONL: ${itemsPerSecond(r.stdout)} items/s (${r.stdout.split('\n')[0]})`);
  });

  it('imports every movie from CSV with a column mapping, list splitting and coercion', async () => {
    const r = await cli(
      [
        'import',
        csv(),
        '-c',
        'ml-csv',
        '--map',
        'id=movieId,title=name,categories=genres',
        '--batch-size',
        '1000',
      ],
      env,
    );
    expect(r.stdout).toMatch(/^imported 9742, failed 0 /);
    expect(r.code).toBe(0);
    expect(await count('ml-csv')).toBe(9742);
    // Same item as the JSON Lines import: lists split on |, the year attribute a number.
    for (const id of ['1', '2', movies[5000].id]) {
      const [a, b] = await Promise.all([
        s.call('GET', `/v1/catalogues/ml-csv/items/${id}`),
        s.call('GET', `/v1/catalogues/ml-jsonl/items/${id}`),
      ]);
      expect(a.body.item).toEqual(b.body.item);
    }
    console.log(`CLI import CSV: ${itemsPerSecond(r.stdout)} items/s (${r.stdout.split('\n')[0]})`);
  });

  it('lands the good lines of a file with 3 bad ones, reports exactly those line numbers, and exits 1', async () => {
    const lines = movies.slice(0, 40).map((m) => JSON.stringify(m));
    lines[4] = JSON.stringify({ id: 'no-title', categories: ['Drama'] }); // line 5
    lines[11] = JSON.stringify({ id: 'bad id!', title: 'Spaces are not allowed' }); // line 12
    lines[29] = JSON.stringify({ id: 'bad-price', title: 'Costs too little', price: -3 }); // line 30
    lines.splice(20, 0, ''); // a blank line is skipped, not a failure; later lines shift by one
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const r = await cli(['import', file, '-c', 'ml-bad', '--batch-size', '10'], env);
    expect(r.code).toBe(1);
    const reported = r.stdout.split('\n').filter((l) => l.startsWith('line '));
    expect(reported).toEqual([
      'line 5: title: is required',
      expect.stringMatching(/^line 12: id: must be/),
      expect.stringMatching(/^line 31: price: Too small/),
    ]);
    expect(r.stdout).toMatch(/^imported 37, failed 3 /);
    expect(await count('ml-bad')).toBe(37);
  });

  it('reports a CSV bad line with its line number too', async () => {
    const file = path.join(dir, 'bad.csv');
    fs.writeFileSync(
      file,
      'id,title,price,available\na,First,1,true\nb,,2,no\nc,Third,cheap,yes\nd,Fourth,4,0\n',
    );
    const r = await cli(['import', file, '-c', 'csv-bad', '--no-progress'], env);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('line '))).toEqual([
      'line 3: title: is required',
      expect.stringMatching(/^line 4: price: /),
    ]);
    expect((await s.call('GET', '/v1/catalogues/csv-bad/items/d')).body.item).toEqual({
      id: 'd',
      title: 'Fourth',
      price: 4,
      available: false,
    });
  });

  it('--dry-run validates only and writes nothing (and needs no server)', async () => {
    const r = await cli(['import', jsonl(), '-c', 'ml-dry', '--dry-run', '--no-progress'], {
      RECSVC_URL: 'http://127.0.0.1:1',
    });
    expect(r.stdout).toMatch(/^dry run: valid 9742, failed 0/);
    expect(r.code).toBe(0);
    expect((await s.call('GET', '/v1/catalogues/ml-dry')).status).toBe(404);
  });

  it('exports JSON Lines that round-trip the count and the items', async () => {
    const out = path.join(dir, 'export.jsonl');
    const r = await cli(['export', '-c', 'ml-jsonl', '--out', out], env);
    expect(r.code).toBe(0);
    const exported = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as Item);
    expect(exported).toHaveLength(9742);
    expect(new Set(exported.map((i) => i.id)).size).toBe(9742);
    const byId = new Map(exported.map((i) => [i.id, i]));
    expect(byId.get('1')).toEqual(movies[0]);
    const back = await cli(
      ['import', out, '-c', 'ml-roundtrip', '--no-progress', '--batch-size', '1000'],
      env,
    );
    expect(back.code).toBe(0);
    expect(await count('ml-roundtrip')).toBe(9742);

    const small = await cli(['export', '-c', 'csv-bad', '--no-progress'], env);
    expect(small.code).toBe(0);
    expect(
      small.stdout
        .split('\n')
        .filter((l) => l)
        .map((l) => (JSON.parse(l) as Item).id)
        .sort(),
    ).toEqual(['a', 'd']);
  });

  it('exits 2 on usage errors and 1 on an unknown catalogue, with a clear message', async () => {
    const noCatalogue = await cli(['import', jsonl()], env);
    expect(noCatalogue.code).toBe(2);
    expect(noCatalogue.stderr).toMatch(/--catalogue/);
    const noKey = await cli(['import', jsonl(), '-c', 'x'], { RECSVC_URL: s.url });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/API key/);
    const wrongKey = await cli(['export', '-c', 'ml-jsonl'], { RECSVC_URL: s.url, ADMIN_API_KEY: 'wrong' });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/refused the API key/);
    const badSize = await cli(['import', jsonl(), '-c', 'x', '--batch-size', '1001'], env);
    expect(badSize.code).toBe(2);
    const missing = await cli(['export', '-c', 'no-such-catalogue'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/catalogue 'no-such-catalogue' not found/);
  });

  it('reindex without --wait prints the job id and returns at once', async () => {
    const r = await cli(['reindex', '-c', 'ml-jsonl'], env);
    expect(r.code).toBe(0);
    const jobId = r.stdout.trim();
    expect(jobId).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect((await s.call('GET', `/v1/jobs/${jobId}`)).body).toMatchObject({ state: expect.any(String) });
  });
});

describe('CLI reindex --wait (real API and worker)', () => {
  let s: Stack;
  let dir: string;

  beforeAll(async () => {
    s = await startStack('cli-reindex');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-cli-reindex-'));
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('follows a reindex job to completion with progress, and exits 1 for an unknown catalogue', async () => {
    const env = { RECSVC_URL: s.url, ADMIN_API_KEY: API_KEY };
    const file = path.join(dir, 'small.jsonl');
    const movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small')).slice(0, 40);
    fs.writeFileSync(file, movies.map((m) => JSON.stringify(m)).join('\n'));
    expect((await cli(['import', file, '-c', 'small', '--no-progress'], env)).code).toBe(0);

    const r = await cli(
      ['reindex', '-c', 'small', '--text-template', '{title}. {categories}', '--wait'],
      env,
    );
    expect(r.stderr).toMatch(/reindex job \S+ started/);
    expect(r.stderr).toMatch(/job \S+ completed: processed 40 of 40, errors 0/);
    expect(r.code).toBe(0);
    const meta = await s.call('GET', '/v1/catalogues/small');
    expect(meta.body).toMatchObject({ textTemplate: '{title}. {categories}', items: 40, reindex: null });

    const missing = await cli(['reindex', '-c', 'no-such-catalogue', '--wait'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/reindex answered 404/);
  });
});
