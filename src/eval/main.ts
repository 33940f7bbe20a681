// `npm run eval -- --dataset <folder> --out <folder>`: the issue-7 protocol through the service's own code path
// (catalogue upsert, embed worker, event ingest over HTTP, signals worker, RecommendService) on a temporary prefix.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { createApiApp } from '../bootstrap';
import { CatalogueService } from '../catalogue/catalogue.service';
import { parseConfig } from '../config/config';
import { readMovies, readRatings } from '../datasets/movielens';
import {
  DEFAULT_RANKING_CONFIG,
  parseRankingConfig,
  type RankingConfig,
  type RankingConfigInput,
} from '../domain/ranking';
import { CollaborativeRepository } from '../events/collaborative.repository';
import { EventsRepository } from '../events/events.repository';
import { EventsService } from '../events/events.service';
import { IndexRegistry } from '../index/index-registry';
import { recommendRequestSchema } from '../recommend/recommend.dto';
import { RecommendService } from '../recommend/recommend.service';
import { createWorker } from '../../workers/bootstrap';
import { barChartPng } from './chart';
import type { Rating } from './movielens';
import { buildCases, summarise, type EvalCase, type Metrics, type Split } from './protocol';
import { deleteKeys } from '../redis/redis-connection';

const CATALOGUE = 'eval';
/** Set when SIGINT/SIGTERM stops the run. */
let interrupted: NodeJS.Signals | undefined;
const BATCH = 1000;

/** Single-source baselines, run through the same rank() as `default`; popularity only where it is the method. */
const BASELINES: Record<string, RankingConfigInput> = {
  popularity: { candidates: [{ source: 'trending', limit: 200 }], score: { similarity: 0, popularity: 1 } },
  content: { candidates: [{ source: 'similar', limit: 100 }], score: { popularity: 0 } },
  user_interests: { candidates: [{ source: 'user_interests', limit: 100 }], score: { popularity: 0 } },
  co_occurrence: { candidates: [{ source: 'bought_together', limit: 100 }], score: { popularity: 0 } },
  collaborative: { candidates: [{ source: 'collaborative', limit: 100 }], score: { popularity: 0 } },
};
const METHODS = [...Object.keys(BASELINES), 'default'];

interface Options {
  dataset: string;
  out: string;
  split: Split;
  redisUrl?: string;
  users?: number;
  sweep?: boolean;
  methods: string;
}

async function main(): Promise<void> {
  const program = new Command()
    .requiredOption('--dataset <folder>', 'MovieLens-format folder (movies.csv, ratings.csv, tags.csv)')
    .requiredOption('--out <folder>', 'where the report and chart go')
    .option('--split <split>', 'test | validation | validation-N', 'test')
    .option('--redis-url <url>', 'Redis to use (a temporary key prefix is created and removed)')
    .option('--users <n>', 'evaluate only the first n users (smoke runs)', (v) => Number(v))
    .option('--methods <list>', 'comma-separated subset of ' + METHODS.join(','), METHODS.join(','))
    .option('--sweep', 'also rank with variants of the default source weights (validation splits only)');
  program.parse(process.argv);
  const opts = program.opts<Options>();
  const report = await run(opts);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(path.join(opts.out, 'report.md'), report.markdown);
  barChartPng(
    path.join(opts.out, 'chart.png'),
    report.rows.map((r) => ({ label: r.method, values: [r.metrics.ndcg, r.metrics.hr, r.metrics.coverage] })),
    [
      [31, 119, 180],
      [255, 127, 14],
      [44, 160, 44],
    ],
  );
  process.stdout.write(report.markdown);
}

interface Row {
  method: string;
  metrics: Metrics;
}

async function run(o: Options): Promise<{ markdown: string; rows: Row[] }> {
  const log = (m: string) => process.stderr.write(`[eval] ${m}\n`);
  const config = parseConfig({
    ...process.env,
    ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
    ADMIN_API_KEY: process.env.ADMIN_API_KEY ?? randomBytes(16).toString('hex'),
    REDIS_PREFIX: `eval-${randomBytes(4).toString('hex')}`,
    INDEX_DIR: path.join(os.tmpdir(), `recsvc-eval-${randomBytes(4).toString('hex')}`),
    LOG_LEVEL: 'warn',
    SNAPSHOT_INTERVAL_SECONDS: '0',
  });
  const items = readMovies(o.dataset);
  const ratings: Rating[] = readRatings(o.dataset).map((r) => ({
    userId: r.userId,
    itemId: r.movieId,
    rating: r.rating,
    ts: r.timestamp,
  }));
  if (o.sweep && o.split === 'test') throw new Error('--sweep tunes: use a validation split, never test');
  let cases = buildCases(ratings, o.split);
  if (o.users) cases = cases.slice(0, o.users);
  log(`${items.length} items, ${ratings.length} ratings, ${cases.length} users (${o.split})`);

  const redis = new Redis(config.REDIS_URL);
  // Held as promises: a signal during start-up waits for an app being created and closes it too (its queues would
  // otherwise write their keys after the delete).
  let apiStarting: Promise<NestFastifyApplication> | undefined;
  let workerStarting: Promise<INestApplicationContext> | undefined;
  // Everything the run leaves behind, removed once: the apps close first so nothing writes after the delete.
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      const [worker, api] = await Promise.all([
        workerStarting?.catch(() => undefined),
        apiStarting?.catch(() => undefined),
      ]);
      await worker?.close();
      await api?.close();
      await deleteKeys(redis, `${config.REDIS_PREFIX}:*`);
      await redis.quit();
      // The snapshot the API wrote on close.
      rmSync(config.INDEX_DIR_ABS, { recursive: true, force: true });
    })());
  // Ctrl-C or a kill mid-run cleans up too; a second signal exits at once.
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    const code = signal === 'SIGINT' ? 130 : 143;
    log(`${signal}: removing Redis prefix ${config.REDIS_PREFIX} and ${config.INDEX_DIR_ABS}, then exiting`);
    process.once(signal, () => process.exit(code));
    void cleanup()
      .catch((e: unknown) => log(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  log(`temporary Redis prefix ${config.REDIS_PREFIX}, index dir ${config.INDEX_DIR_ABS}`);
  try {
    apiStarting = createApiApp(config, false);
    const app = await apiStarting;
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    // After a signal nothing new starts (the cleanup has already looked for apps to close).
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
    workerStarting = createWorker(config, false);
    await workerStarting;
    const t0 = Date.now();
    const catalogue = app.get(CatalogueService);
    for (let i = 0; i < items.length; i += BATCH)
      await catalogue.upsert(CATALOGUE, items.slice(i, i + BATCH));
    const registry = app.get(IndexRegistry);
    await until(() => (registry.get(CATALOGUE)?.index.size ?? 0) >= items.length, 'indexing', 1800);
    log(`catalogue indexed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Every user's history (never a target) as rating events, in time order, over HTTP in batches of 1000.
    const events = cases
      .flatMap((c) => c.history.map((r, i) => ({ r, i })))
      .sort((a, b) => a.r.ts - b.r.ts || Number(a.r.userId) - Number(b.r.userId) || a.i - b.i)
      .map(({ r }) => ({
        type: 'rating',
        userId: r.userId,
        itemId: r.itemId,
        value: r.rating,
        timestamp: r.ts,
      }));
    const t1 = Date.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const res = await fetch(`${url}/v1/catalogues/${CATALOGUE}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.ADMIN_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: events.slice(i, i + BATCH) }),
      });
      if (res.status !== 202) throw new Error(`ingest: HTTP ${res.status} ${await res.text()}`);
    }
    const ingestSeconds = (Date.now() - t1) / 1000;
    const lagAtEnd = await app.get(EventsRepository).lag(CATALOGUE);
    await until(async () => (await app.get(EventsRepository).lag(CATALOGUE)).pending === 0, 'upkeep', 1800);
    const upkeepSeconds = (Date.now() - t1) / 1000;
    log(
      `${events.length} events ingested over HTTP in ${ingestSeconds.toFixed(1)} s; upkeep caught up after ${upkeepSeconds.toFixed(1)} s`,
    );

    // The worker retrains on its schedule; here the model is asked for once every event is applied.
    const t2 = Date.now();
    const models = app.get(CollaborativeRepository);
    const before = (await models.meta(CATALOGUE))?.version ?? 0;
    await app.get(EventsService).trainCollaborative(CATALOGUE);
    await until(
      async () => ((await models.meta(CATALOGUE))?.version ?? 0) > before,
      'collaborative model',
      1800,
    );
    const trained = (await models.meta(CATALOGUE))!;
    log(
      `collaborative model: ${trained.items} items from ${trained.users} histories, trained in ${trained.trainMs} ms (${((Date.now() - t2) / 1000).toFixed(1)} s after the request)`,
    );

    const service = app.get(RecommendService);
    const rows: Row[] = [];
    for (const method of METHODS.filter((m) => o.methods.split(',').includes(m))) {
      const t = Date.now();
      const results: { top: string[]; target: string }[] = [];
      const inline = BASELINES[method] ? mustParse(BASELINES[method]) : undefined;
      for (const c of cases)
        results.push({ top: await recommendFor(service, c, inline), target: c.target.itemId });
      const metrics = summarise(results, items.length);
      rows.push({ method, metrics });
      log(
        `${method.padEnd(15)} ndcg ${metrics.ndcg.toFixed(4)} hr ${metrics.hr.toFixed(4)} cov ${metrics.coverage.toFixed(4)} (${((Date.now() - t) / 1000).toFixed(1)} s)`,
      );
    }
    if (o.sweep) {
      for (const [name, input] of sweepVariants()) {
        const cfg = mustParse(input);
        const results: { top: string[]; target: string }[] = [];
        for (const c of cases)
          results.push({ top: await recommendFor(service, c, cfg), target: c.target.itemId });
        const metrics = summarise(results, items.length);
        rows.push({ method: `sweep: ${name}`, metrics });
        log(
          `sweep ${name.padEnd(30)} ndcg ${metrics.ndcg.toFixed(4)} hr ${metrics.hr.toFixed(4)} cov ${metrics.coverage.toFixed(4)}`,
        );
      }
    }
    return {
      rows,
      markdown: markdown(o, rows, {
        items: items.length,
        events: events.length,
        ingestSeconds,
        lagAtEnd: lagAtEnd.pending,
        upkeepSeconds,
      }),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/** `default`: exactly the controller's call; baselines: the same rank() core with a single-source config. */
async function recommendFor(
  service: RecommendService,
  c: EvalCase,
  inline?: RankingConfig,
): Promise<string[]> {
  const exclude = [...new Set(c.history.map((h) => h.itemId))];
  if (!inline) {
    const req = recommendRequestSchema.parse({ userId: c.userId, exclude, limit: 10 });
    return (await service.recommend(CATALOGUE, req)).items.map((i) => i.id);
  }
  // Content baseline: the mean of the last 5 distinct items as positives.
  const contentOnly = inline.candidates.length === 1 && inline.candidates[0].source === 'similar';
  const positive = contentOnly ? exclude.slice(-5) : [];
  const req = recommendRequestSchema.parse({ userId: c.userId, exclude, positive, limit: 10 });
  const view = await service.view(CATALOGUE);
  return (await service.rank(CATALOGUE, view, inline, req)).map((i) => i.id);
}

/** The default config with other source weights / popularity weight (tuning on validation only). */
function sweepVariants(): [string, RankingConfigInput][] {
  const base = DEFAULT_RANKING_CONFIG;
  const out: [string, RankingConfigInput][] = [];
  const env = process.env.EVAL_SWEEP;
  // [user_interests, bought_together, popularity, collaborative?, combine?]
  type Cell = [number, number, number, number?, ('sum' | 'noisy_or')?];
  const grid: Cell[] = env
    ? (JSON.parse(env) as Cell[])
    : [
        [1, 1, 0.1],
        [0.5, 1, 0.1],
        [0.3, 1, 0.1],
        [0.2, 1, 0.1],
        [0.1, 1, 0.1],
        [0.3, 1, 0.05],
        [0.3, 1, 0.2],
      ];
  for (const [ui, bt, pop, cf, combine] of grid) {
    const weights: Partial<Record<string, number>> = {
      user_interests: ui,
      bought_together: bt,
      collaborative: cf,
    };
    out.push([
      `ui ${ui} bt ${bt} pop ${pop}${cf === undefined ? '' : ` cf ${cf}`}${combine ? ` ${combine}` : ''}`,
      {
        candidates: base.candidates.map((c) => ({ ...c, weight: weights[c.source] ?? c.weight })),
        score: { popularity: pop, ...(combine ? { combine } : {}) },
      },
    ]);
  }
  return out;
}

function mustParse(input: RankingConfigInput): RankingConfig {
  const parsed = parseRankingConfig(input);
  if (!parsed.ok) throw new Error(`bad baseline config: ${JSON.stringify(parsed.errors)}`);
  return parsed.config;
}

function markdown(
  o: Options,
  rows: Row[],
  m: { items: number; events: number; ingestSeconds: number; lagAtEnd: number; upkeepSeconds: number },
): string {
  const lines = [
    `# Offline evaluation (${o.split} split)`,
    '',
    `Dataset: \`${o.dataset}\` — ${m.items} items, ${rows[0]?.metrics.users ?? 0} users evaluated.`,
    'Protocol: per user, ratings by timestamp (ties by movieId); target = last interaction rated ≥ 4' +
      (o.split === 'test' ? '' : ' (validation: an earlier one)') +
      '; history = every earlier interaction, replayed for all users as `rating` events before any request; users with < 3 history items skipped; every item except the history is ranked.',
    'Every method runs through the service: items via CatalogueService and the embed worker, events over HTTP, the signals worker, then `RecommendService` (`default`: `recommend({userId, exclude: history})`, as the controller; baselines: the same `rank()` with a single-source config).',
    '',
    '| method | NDCG@10 | HR@10 | coverage@10 |',
    '|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${r.metrics.ndcg.toFixed(4)} | ${r.metrics.hr.toFixed(4)} | ${r.metrics.coverage.toFixed(4)} |`,
    ),
    '',
    `Ingest: ${m.events} events over HTTP in batches of ${BATCH}: ${m.ingestSeconds.toFixed(1)} s ` +
      `(${Math.round(m.events / m.ingestSeconds)} events/s); upkeep lag when ingest finished: ${m.lagAtEnd} events; ` +
      `caught up ${m.upkeepSeconds.toFixed(1)} s after ingest began.`,
    '',
    '![NDCG@10 (blue), HR@10 (orange), coverage@10 (green) per method, in table order](chart.png)',
    '',
  ];
  return lines.join('\n');
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutSeconds: number,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

main().catch((e: unknown) => {
  // A signal's cleanup closed the apps under the run; its handler exits with the signal's code.
  if (interrupted) return;
  process.stderr.write(`eval failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
