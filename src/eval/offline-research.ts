// Prints HR@10 / NDCG@10 / coverage@10 per method on the validation and test splits: `npx tsx src/eval/offline-research.ts`.
import { Harness, type Method, type ResearchConfig } from './harness';
import { loadMovieLens, movieVectors } from './movielens';
import type { Split } from './protocol';
import { ISSUE_BASELINE, SHIPPED } from './shipped-config';

const ROWS: [string, Method, ResearchConfig][] = [
  ['popularity (all-time count)', 'popularity', SHIPPED],
  ['trending (decayed, as of request)', 'trending', SHIPPED],
  ['content (mean of last 5)', 'content', SHIPPED],
  ['user_interests', 'user_interests', SHIPPED],
  ['co-occurrence (issue baseline)', 'co_occurrence', ISSUE_BASELINE],
  ['co-occurrence (shipped, cap 200)', 'co_occurrence', SHIPPED],
  ['default blend (shipped, cap 200)', 'default', SHIPPED],
  // Honesty checks: co-occurrence only from events before each request, and thinned to simulate a sparse catalogue.
  ['co-occurrence, causal replay', 'co_occurrence', { ...SHIPPED, causal: true }],
  ['default blend, causal replay', 'default', { ...SHIPPED, causal: true }],
  ['co-occurrence, 10% of users', 'co_occurrence', { ...SHIPPED, coocUserShare: 0.1 }],
  ['default blend, 10% of users', 'default', { ...SHIPPED, coocUserShare: 0.1 }],
  ['co-occurrence, 3% of users', 'co_occurrence', { ...SHIPPED, coocUserShare: 0.03 }],
  ['default blend, 3% of users', 'default', { ...SHIPPED, coocUserShare: 0.03 }],
];

async function main(): Promise<void> {
  const splits = (process.argv[2] ?? 'validation,test').split(',') as Split[];
  const ml = loadMovieLens();
  const vectors = await movieVectors(ml.items);
  const data = { itemIds: ml.items.map((i) => i.id), vectors, ratings: ml.ratings };
  for (const split of splits) {
    const h = new Harness(data, split);
    console.log(`\n${split}: ${h.cases.length} users, ${data.itemIds.length} items`);
    console.log('| method | HR@10 | NDCG@10 | coverage@10 |\n|---|---|---|---|');
    for (const [label, method, cfg] of ROWS) {
      const m = h.evaluate(method, cfg);
      console.log(`| ${label} | ${m.hr.toFixed(4)} | ${m.ndcg.toFixed(4)} | ${m.coverage.toFixed(4)} |`);
    }
  }
}

void main();
