// GET /metrics: Prometheus text behind the API key, request latency per route template, and with API_WORKERS=2
// one scrape answers for both replicas (needs dist/: npm test builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deleteKeys } from '../src/redis/redis-connection';
import { API_KEY, freePort, startStack, testConfig, waitFor, type Stack } from './support/stack';

jest.setTimeout(120_000);

const MAIN = path.resolve(__dirname, '../dist/src/main.js');
const SIMILAR_404 = '/v1/catalogues/no-such-catalogue/items/x/similar';

/** The value of one sample line of the exposition text whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => m[2].includes(`${k}="${v}"`));
    if (has) return Number(m[3]);
  }
  return undefined;
}

async function scrape(url: string, key = API_KEY): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe('GET /metrics (one process)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack('metrics', { worker: false });
  });
  afterAll(async () => {
    await s.close();
  });

  it('needs the API key', async () => {
    expect((await scrape(s.url, 'wrong-key')).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
  });

  it('counts requests per route template and status, with process metrics', async () => {
    for (let i = 0; i < 3; i++) expect((await s.call('GET', SIMILAR_404)).status).toBe(404);
    const m = await scrape(s.url);
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    const labels = { method: 'GET', route: '/v1/catalogues/:catalogue/items/:id/similar', status: '404' };
    expect(sample(m.text, 'recsvc_http_request_duration_seconds_count', labels)).toBe(3);
    // Buckets are cumulative: all three answers took under 5 s.
    expect(sample(m.text, 'recsvc_http_request_duration_seconds_bucket', { ...labels, le: '5' })).toBe(3);
    expect(m.text).toContain('process_cpu_user_seconds_total');
    expect(m.text).toContain('nodejs_eventloop_lag_p99_seconds');
  });

  it("reports each queue's backlog by state (no worker here, so embed jobs wait)", async () => {
    const items = ['a', 'b', 'c'].map((id) => ({ id, title: `Queued item ${id}` }));
    expect((await s.call('PUT', '/v1/catalogues/m-queue/items', { items })).status).toBe(202);
    const m = await scrape(s.url);
    expect(sample(m.text, 'recsvc_queue_jobs', { queue: 'embed', state: 'waiting' })).toBe(3);
    expect(sample(m.text, 'recsvc_queue_jobs', { queue: 'embed', state: 'failed' })).toBe(0);
    expect(sample(m.text, 'recsvc_queue_jobs', { queue: 'reindex', state: 'waiting' })).toBe(0);
    expect(sample(m.text, 'recsvc_queue_jobs', { queue: 'models', state: 'active' })).toBe(0);
  });
});

describe('GET /metrics with API_WORKERS=2', () => {
  let child: ChildProcess | undefined;
  const config = testConfig('metrics-cluster');

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    const { default: Redis } = await import('ioredis');
    const r = new Redis(config.REDIS_URL);
    await deleteKeys(r, `${config.REDIS_PREFIX}:*`);
    await r.quit();
    fs.rmSync(config.INDEX_DIR_ABS, { recursive: true, force: true });
  });

  it('one scrape answers for both replicas', async () => {
    if (!fs.existsSync(MAIN))
      throw new Error(`${MAIN} is missing: run 'npm run build' first (npm test does)`);
    const port = await freePort();
    child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        API_WORKERS: '2',
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_API_KEY: API_KEY,
        REDIS_PREFIX: config.REDIS_PREFIX,
        INDEX_DIR: config.INDEX_DIR_ABS,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    // A new connection per request: the primary hands connections to the replicas in turn.
    const get = async (route: string, headers: Record<string, string> = {}) =>
      (await fetch(`${url}${route}`, { headers: { connection: 'close', ...headers } })).status;
    // Both replicas are up once several fresh connections in a row are answered.
    let streak = 0;
    await waitFor(
      async () => {
        streak = (await get('/health/live').catch(() => 0)) === 200 ? streak + 1 : 0;
        return streak >= 6;
      },
      'both replicas to answer',
      60_000,
    );
    const auth = { authorization: `Bearer ${API_KEY}` };
    for (let i = 0; i < 20; i++) expect(await get(SIMILAR_404, auth)).toBe(404);

    // Whichever replica answers, the count is both replicas' (each saw about half of the 20).
    for (let i = 0; i < 4; i++) {
      const m = await scrape(url);
      expect(m.status).toBe(200);
      const count = sample(m.text, 'recsvc_http_request_duration_seconds_count', {
        route: '/v1/catalogues/:catalogue/items/:id/similar',
        status: '404',
      });
      expect(count).toBe(20);
    }
  });
});
