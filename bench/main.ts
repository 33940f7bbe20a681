// Benchmark suite: `npm run bench` runs every section, `npm run bench -- serving index` only those;
// `--quick` (or BENCH_QUICK=1) shrinks sizes and durations for development. See bench/README.md.
import { embedding } from './sections/embedding';
import { freshness } from './sections/freshness';
import { indexSection } from './sections/index';
import { memory } from './sections/memory';
import { restart } from './sections/restart';
import { serving } from './sections/serving';
import { Report, SECTIONS, type SectionName } from './lib/report';
import {
  benchOptions,
  type BenchOptions,
  deleteKeys,
  killAllChildrenSync,
  log,
  redis,
  RUN_PREFIX,
  stopAllChildren,
} from './lib/util';

const RUNNERS: Record<SectionName, (report: Report, o: BenchOptions) => Promise<void>> = {
  serving,
  embedding,
  index: indexSection,
  freshness,
  memory,
  restart,
};

/** Set by SIGINT/SIGTERM: no further section starts, so none writes keys after the cleanup deleted them. */
let stopping = false;

async function cleanup(): Promise<void> {
  await stopAllChildren();
  const r = redis();
  try {
    const n = await deleteKeys(r, `${RUN_PREFIX}*`);
    if (n > 0) log(`deleted ${n} Redis keys under ${RUN_PREFIX}`);
  } finally {
    await r.quit();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
  const named = args.filter((a) => !a.startsWith('--'));
  const unknown = named.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
  const sections = named.length > 0 ? SECTIONS.filter((s) => named.includes(s)) : [...SECTIONS];
  const options = benchOptions(quick);
  const report = new Report();
  log(`sections: ${sections.join(', ')}${quick ? ' (quick)' : ''}; Redis prefix ${RUN_PREFIX}`);
  let failed = false;
  for (const section of sections) {
    // A signal that came during a synchronous section is handled here, before the next one starts writing.
    await new Promise((r) => setImmediate(r));
    if (stopping) return;
    const started = Date.now();
    try {
      await RUNNERS[section](report, options);
    } catch (e) {
      failed = true;
      const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
      log(`section ${section} failed: ${msg}`);
      report.note(section, `**This section failed:** ${msg.split('\n')[0]}`);
      await stopAllChildren();
    }
    log(`section ${section} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const json = await report.write(sections, options);
  log(`wrote bench/RESULTS.md and ${json}`);
  if (failed) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    log(`${signal}: stopping children and deleting ${RUN_PREFIX}* keys`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', killAllChildrenSync);

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
