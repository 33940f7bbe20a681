import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { describeBuild, readBuild } from '../../src/index/native-build';

export const ROOT = path.resolve(__dirname, '../..');
export const SHARED_DIR = process.env.SHARED_DIR ?? path.resolve(ROOT, '../shared');
export const MOVIELENS_DIR = path.join(SHARED_DIR, 'data/movielens-ml-latest-small');
export const MODEL_DIR = path.resolve(process.env.MODEL_DIR ?? path.join(SHARED_DIR, 'models'));
export const MODEL_ID = process.env.EMBEDDING_MODEL ?? 'google/use-lite';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const API_KEY = 'bench-admin-key-0123456789';
export const RESULTS_DIR = path.join(ROOT, 'bench/results');
export const CACHE_DIR = path.join(RESULTS_DIR, 'cache');
/** Every Redis key this run writes starts with this prefix (deleted at exit). */
export const RUN_PREFIX = `bench-${randomBytes(4).toString('hex')}`;

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

/** Every size and duration of the suite; `--quick` (or BENCH_QUICK=1) shrinks them for development. */
export interface BenchOptions {
  quick: boolean;
  /** Measured seconds per closed-loop (peak) run. */
  duration: number;
  /**
   * Measured seconds per fixed-rate run (where the p99 goals are judged): a p99 over a few seconds is the ~20th
   * slowest of ~2,000 requests, so one stall of the machine decides it; longer runs measure the service's tail.
   */
  rateDuration: number;
  /** Seconds of the machine steadiness check at the start of the serving section (0 skips it). */
  steadySeconds: number;
  warmup: number;
  connections: number;
  /** Peak runs per server, in alternating order; the best counts. */
  servingRounds: number;
  largeItems: number;
  /** Cores given to our API (API_WORKERS) and to the ceiling servers alike. */
  serverProcesses: number;
  embedItems: number;
  embedBatch: number;
  embedRounds: number;
  recallQueries: number;
  efValues: number[];
  freshRate: number;
  freshSeconds: number;
}

export function benchOptions(quick: boolean): BenchOptions {
  const cores = os.cpus().length;
  return {
    quick,
    duration: num('BENCH_DURATION', quick ? 2 : 6),
    rateDuration: num('BENCH_RATE_DURATION', quick ? 2 : 20),
    steadySeconds: num('BENCH_STEADY_SECONDS', quick ? 3 : 20),
    warmup: num('BENCH_WARMUP', quick ? 1 : 2),
    connections: num('BENCH_CONNECTIONS', 100),
    servingRounds: num('BENCH_SERVING_ROUNDS', quick ? 1 : 2),
    largeItems: num('BENCH_LARGE_ITEMS', quick ? 20_000 : 100_000),
    serverProcesses: num('BENCH_SERVER_PROCESSES', cores),
    embedItems: num('BENCH_EMBED_ITEMS', quick ? 320 : 2000),
    embedBatch: num('BENCH_EMBED_BATCH', 32),
    embedRounds: num('BENCH_EMBED_ROUNDS', quick ? 1 : 3),
    recallQueries: num('BENCH_RECALL_QUERIES', quick ? 100 : 500),
    efValues: (process.env.BENCH_EF_VALUES ?? '16,32,64,128,256').split(',').map(Number),
    freshRate: num('BENCH_FRESH_RATE', 50),
    freshSeconds: num('BENCH_FRESH_SECONDS', quick ? 4 : 10),
  };
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    loadAverage: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    hnswlib: hnswlibBuild(),
  };
}

/** How hnswlib-node was compiled (src/index/native-build.ts) and whether the kernel gives huge pages on request. */
function hnswlibBuild(): string {
  const build = readBuild(path.dirname(require.resolve('hnswlib-node/package.json')));
  let thp = 'unknown';
  try {
    thp =
      /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? thp;
  } catch {
    // Not Linux.
  }
  return `${describeBuild(build?.march ?? null)}; transparent huge pages: ${thp}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Children started by the suite; all are killed on exit, error or Ctrl-C. */
const children = new Set<ChildProcess>();

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Last lines of its stderr/stdout, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

export function startChild(
  args: string[],
  env: Record<string, string>,
  opts: { stdout?: (chunk: string) => void } = {},
): Child {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  proc.stderr.on('data', keep);
  proc.stdout.on('data', (chunk: Buffer) => {
    if (opts.stdout) opts.stdout(chunk.toString());
    else keep(chunk);
  });
  proc.on('exit', () => children.delete(proc));
  return {
    proc,
    pid: proc.pid!,
    tail: () => tail,
    stop: () => stopProcess(proc),
  };
}

export async function stopProcess(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => stopProcess(c, 2000)));
}

export function killAllChildrenSync(): void {
  for (const c of children) c.kill('SIGKILL');
}

export function redis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
}

export { deleteKeys } from '../../src/redis/redis-connection';

export async function http(
  base: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, text };
}

/** A process and (for a cluster primary) its direct children, from /proc; the process alone off Linux. */
function withChildren(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const f = `/proc/${pid}/task/${t}/children`;
      if (fs.existsSync(f))
        kids.push(...fs.readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    // Not Linux or gone: the process alone.
  }
  return [pid, ...kids];
}

/** Resident set size of a process and (for a cluster primary) its direct children, from /proc. */
export function rssBytes(pid: number): { total: number; perProcess: number[] } {
  const read = (p: number): number => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  const perProcess = withChildren(pid).map(read);
  return { total: perProcess.reduce((a, b) => a + b, 0), perProcess };
}

/**
 * CPU milliseconds (user + system) used so far by a process and (for a cluster primary) its direct children, from
 * /proc; undefined off Linux. Children that exited are not counted.
 */
export function processTreeCpuMs(pid: number): number | undefined {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  let found = false;
  for (const p of withChildren(pid)) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm) ": state ppid … utime (12th) stime (13th); comm may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    found = true;
    total += (Number(f[11]) + Number(f[12])) * tick;
  }
  return found ? total : undefined;
}

export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}
