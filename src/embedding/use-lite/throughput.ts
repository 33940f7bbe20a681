import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureUseLiteModel } from './build-model';
import { Dtype, loadUseLite, UseLitePipeline } from './embed-pipeline';

const SENTENCES = 1024;
const BATCH = 32;
const ROUNDS = 6;

const SHARED_MODELS = process.env.SHARED_DIR
  ? path.join(process.env.SHARED_DIR, 'models')
  : path.resolve(__dirname, '../../../../shared/models');

const BRANDS = ['Acme', 'Northwind', 'Contoso', 'Fabrikam', 'Globex', 'Initech', 'Umbrella', 'Stark'];
const ADJECTIVES = [
  'Lightweight',
  'Waterproof',
  'Stainless Steel',
  'Wireless',
  'Organic',
  'Ergonomic',
  'Vintage',
  'Compact',
];
const NOUNS = [
  'Running Shoes',
  'Frying Pan',
  'Headphones',
  'Backpack',
  'Coffee Grinder',
  'Desk Lamp',
  'Yoga Mat',
  'Rain Jacket',
];
const EXTRAS = [
  'for Men',
  'for Women',
  '2-Pack',
  'with USB-C Charging',
  '12 inch',
  'Black',
  'Large',
  'Non-Stick',
];

// Deterministic LCG so both models see the same product-title-like text in every run.
function productTitles(n: number): string[] {
  let seed = 42;
  const next = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const pick = (xs: string[]) => xs[next(xs.length)];
  return Array.from({ length: n }, () =>
    [
      pick(BRANDS),
      pick(ADJECTIVES),
      pick(NOUNS),
      ...Array.from({ length: next(3) }, () => pick(EXTRAS)),
    ].join(' '),
  );
}

interface Run {
  label: string;
  pipe: UseLitePipeline;
  seconds: number[];
}

// Whole passes alternate per round; per-batch alternation lets idle ORT pools spin and slow the next session.
async function measureRound(runs: Run[], texts: string[]): Promise<void> {
  for (const run of runs) {
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i += BATCH) await run.pipe.embed(texts.slice(i, i + BATCH));
    run.seconds.push((performance.now() - t0) / 1000);
  }
}

async function main(): Promise<void> {
  const texts = productTitles(SENTENCES);
  const ourRoot = await mkdtemp(path.join(os.tmpdir(), 'use-lite-throughput-'));
  try {
    const t0 = performance.now();
    await ensureUseLiteModel(ourRoot, { force: true });
    console.log(`build: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const runs: Run[] = [];
    for (const dtype of ['fp32', 'q8'] as Dtype[]) {
      for (const [who, root] of [
        ['ours', ourRoot],
        ['reference', SHARED_MODELS],
      ]) {
        const pipe = await loadUseLite(root, dtype);
        await pipe.embed(texts.slice(0, BATCH));
        runs.push({ label: `${dtype} ${who}`, pipe, seconds: [] });
      }
    }
    // Reverse the order every other round so no configuration always runs right after the same one.
    for (let r = 0; r < ROUNDS; r++) await measureRound(r % 2 ? [...runs].reverse() : runs, texts);
    for (const run of runs) {
      const rates = run.seconds.map((sec) => texts.length / sec).sort((a, b) => b - a);
      const shown = rates.map((x) => x.toFixed(0)).join(', ');
      const median = rates[Math.floor(rates.length / 2)];
      // Best round is the one least disturbed by other load on the shared CPUs.
      console.log(
        `${run.label.padEnd(15)} best ${rates[0].toFixed(0)}, median ${median.toFixed(0)} sentences/s (rounds, sorted: ${shown})`,
      );
      await run.pipe.dispose();
    }
  } finally {
    await rm(ourRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
