// Same-window A/B: two builds of the API (or one build under two environments) up side by side, measured in
// alternating order on the realistic recommendations, so a change's effect shows through the machine's own swings.
// `npm run bench:ab -- <rev>` compares <rev> (built in a git worktree under $TMPDIR/recsvc-ab/) with this checkout.
// See bench/README.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type ApiProcess,
  type Dataset,
  ensureBuilt,
  loadEvents,
  loadIntoRedis,
  movielens,
  newPrefix,
  rng,
  startApi,
  synthetic,
} from './lib/fixtures';
import { type LoadResult, type LoadSpec, runAtRateWithCpu, runLoad } from './lib/load';
import {
  API_KEY,
  deleteKeys,
  ensureDir,
  fmt,
  http,
  killAllChildrenSync,
  log,
  redis,
  RESULTS_DIR,
  ROOT,
  stopAllChildren,
} from './lib/util';
import { defaultBodies, REALISTIC_CONFIG, realisticBodies } from './sections/serving';

const CATALOGUE = 'bench';
const CONFIG = 'bench-realistic';

export interface AbOptions {
  /** Git revision of side A; unset: A is this checkout too (compare environments only). */
  base?: string;
  envA: Record<string, string>;
  envB: Record<string, string>;
  size: 'movielens' | number;
  /** Which recommendations: the realistic config (3 sources, filters, MMR) or the built-in default one. */
  config: 'realistic' | 'default';
  /** Fixed rate in requests/s; unset: half of the slower side's peak. */
  rate?: number;
  rounds: number;
  rateDuration: number;
  workers: number;
}

interface Side {
  name: string;
  api: ApiProcess;
  peaks: number[];
  runs: (LoadResult & { cpuMsPerRequest?: number })[];
}

function usage(): never {
  process.stderr.write(
    'usage: npm run bench:ab -- [<rev>] [--size movielens|<items>] [--config realistic|default] [--rate <req/s>] [--rounds <n>]\n' +
      '  <rev>: git revision for side A (default: this checkout, then set AB_ENV_A / AB_ENV_B)\n' +
      '  AB_ENV_A, AB_ENV_B: JSON objects of extra environment for each side, e.g. {"NODE_OPTIONS":"--max-semi-space-size=64"}\n',
  );
  process.exit(2);
}

export function parseAbArgs(args: string[], env: NodeJS.ProcessEnv): AbOptions {
  const o: AbOptions = {
    envA: JSON.parse(env.AB_ENV_A ?? '{}') as Record<string, string>,
    envB: JSON.parse(env.AB_ENV_B ?? '{}') as Record<string, string>,
    size: 'movielens',
    config: 'realistic',
    rounds: Number(env.AB_ROUNDS ?? 3),
    rateDuration: Number(env.BENCH_RATE_DURATION ?? 20),
    workers: Number(env.BENCH_SERVER_PROCESSES ?? 2),
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => args[++i] ?? usage();
    if (a === '--size') {
      const v = value();
      o.size = v === 'movielens' ? 'movielens' : Number(v);
    } else if (a === '--config') {
      const v = value();
      if (v !== 'realistic' && v !== 'default') usage();
      o.config = v;
    } else if (a === '--rate') o.rate = Number(value());
    else if (a === '--rounds') o.rounds = Number(value());
    else if (a.startsWith('--')) usage();
    else o.base = a;
  }
  if (o.size !== 'movielens' && !(o.size > 0)) usage();
  if (o.rate !== undefined && !(o.rate > 0)) usage();
  if (!(o.rounds > 0)) usage();
  return o;
}

/** Builds `rev` in a worktree of its own (reused when it is there) and returns its API entry point. */
function buildRevision(rev: string): { main: string; sha: string } {
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]).trim();
  // Outside the checkout, so its sources are not type-checked, linted or tested with ours.
  const dir = path.join(os.tmpdir(), 'recsvc-ab', sha.slice(0, 12));
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    ensureDir(path.dirname(dir));
    git(['worktree', 'add', '--detach', '--force', dir, sha]);
  }
  // The revision's own dependencies may differ; this checkout's are used (say so if package.json differs).
  const link = path.join(dir, 'node_modules');
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(ROOT, 'node_modules'), link, 'dir');
  const ours = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
  if (fs.readFileSync(path.join(dir, 'package.json'), 'utf8') !== ours) {
    log(`note: ${rev}'s package.json differs from this checkout's; both run on this checkout's node_modules`);
  }
  const main = path.join(dir, 'dist/src/main.js');
  if (!fs.existsSync(main)) {
    log(`building ${rev} (${sha.slice(0, 12)}) in ${dir}`);
    const res = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
    if (!fs.existsSync(main)) throw new Error(`building ${rev} failed:\n${res.stdout}${res.stderr}`);
  }
  return { main, sha };
}

function git(args: string[]): string {
  const res = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`git ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const o = parseAbArgs(process.argv.slice(2), process.env);
  ensureBuilt();
  const a = o.base ? buildRevision(o.base) : undefined;
  const names = [o.base ? `A (${o.base})` : 'A', o.base ? 'B (this checkout)' : 'B'];
  const d: Dataset = o.size === 'movielens' ? await movielens() : await synthetic(o.size);
  const r = redis();
  const prefix = newPrefix('ab');
  const sides: Side[] = [];
  try {
    await loadIntoRedis(r, d, prefix, CATALOGUE);
    const rand = rng(11);
    const ids = Array.from({ length: 1000 }, () => d.items[Math.floor(rand() * d.items.length)].id);
    // Both sides read the same catalogue, events and config from the same Redis prefix, as two deployments would.
    for (const [i, env] of [o.envA, o.envB].entries()) {
      const api = await startApi(prefix, { workers: o.workers, env, main: i === 0 ? a?.main : undefined });
      sides.push({ name: names[i], api, peaks: [], runs: [] });
    }
    const users = await loadEvents(sides[0].api, prefix, d, CATALOGUE);
    const bodies = o.config === 'realistic' ? realisticBodies(ids, users) : defaultBodies(ids);
    if (o.config === 'realistic') {
      const put = await http(
        sides[0].api.url,
        'PUT',
        `/v1/catalogues/${CATALOGUE}/ranking-configs/${CONFIG}`,
        REALISTIC_CONFIG,
      );
      if (put.status >= 300) throw new Error(`PUT ranking config answered ${put.status}: ${put.text}`);
    }
    const spec = (url: string): LoadSpec => ({
      url,
      connections: 100,
      duration: 6,
      warmup: 2,
      method: 'POST',
      paths: [`/v1/catalogues/${CATALOGUE}/recommendations`],
      bodies,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    });
    // Every side's config must be live (pub/sub) before anything is measured.
    for (const side of sides) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const res = await http(side.api.url, 'POST', spec('').paths[0], JSON.parse(bodies[0]));
        if (res.status === 200) break;
        if (Date.now() > deadline)
          throw new Error(`${side.name}: recommendations answered ${res.status}: ${res.text}`);
        await new Promise((res2) => setTimeout(res2, 100));
      }
    }
    let rate = o.rate;
    if (rate === undefined) {
      for (let round = 0; round < 2; round++) {
        for (const side of round % 2 ? [...sides].reverse() : sides) {
          side.peaks.push((await runLoad(spec(side.api.url))).okRps);
        }
      }
      rate = Math.round(Math.min(...sides.map((s) => Math.max(...s.peaks))) / 2);
      log(
        `peaks: ${sides.map((s) => `${s.name} ${s.peaks.map((p) => fmt(p)).join(' / ')} req/s`).join('; ')}`,
      );
    }
    log(
      `fixed-rate runs at ${rate} req/s, ${o.rateDuration} s each, ${o.rounds} round(s) in alternating order`,
    );
    for (let round = 0; round < o.rounds; round++) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const res = await runAtRateWithCpu(
          { ...spec(side.api.url), rate, duration: o.rateDuration },
          side.api.child.pid,
        );
        const { cpuMsPerRequest } = res;
        side.runs.push(res);
        log(
          `round ${round + 1} ${side.name}: p50 ${fmt(res.p50, 1)} / p95 ${fmt(res.p95, 1)} / p99 ${fmt(res.p99, 1)} ms` +
            (cpuMsPerRequest === undefined ? '' : `, ${fmt(cpuMsPerRequest, 2)} ms CPU per request`) +
            (res.non2xx + res.errors > 0 ? `, ${res.non2xx} non-2xx, ${res.errors} errors` : ''),
        );
      }
    }
    const rows = sides.map((s) => {
      const cpu = s.runs.map((x) => x.cpuMsPerRequest).filter((x): x is number => x !== undefined);
      return (
        `| ${s.name} | ${s.peaks.length ? s.peaks.map((p) => fmt(p)).join(' / ') : '–'} | ` +
        `${s.runs.map((x) => fmt(x.p99, 1)).join(' / ')} (median ${fmt(median(s.runs.map((x) => x.p99)), 1)}) | ` +
        `${fmt(median(s.runs.map((x) => x.p50)), 1)} | ${cpu.length ? fmt(median(cpu), 2) : '–'} |`
      );
    });
    const table = [
      `${o.config === 'realistic' ? 'Realistic' : 'Default-config'} recommendations, ${d.name} (${d.items.length} items), ${o.workers} replicas per side, ` +
        `${rate} req/s${o.rate === undefined ? ' (half the slower peak)' : ''}, ${o.rounds} alternating round(s) of ${o.rateDuration} s`,
      '',
      '| side | peak req/s | p99 per round, ms | p50 (median), ms | CPU per request (median), ms |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
    process.stdout.write(`\n${table}\n`);
    ensureDir(RESULTS_DIR);
    const file = path.join(RESULTS_DIR, `ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          options: o,
          baseSha: a?.sha,
          rate,
          sides: sides.map(({ name, peaks, runs }) => ({ name, peaks, runs })),
        },
        null,
        2,
      ),
    );
    log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    for (const side of sides) await side.api.stop();
    await deleteKeys(r, `${prefix}:*`);
    await r.quit();
    await stopAllChildren();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildrenSync();
    process.exit(130);
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    log(`A/B failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  });
}
