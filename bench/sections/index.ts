import { BruteforceSearch } from 'hnswlib-node';
import { HnswIndex } from '../../src/index/hnsw-index';
import { HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M } from '../lib/ceilings';
import { type Dataset, movielens, rng, synthetic, vectorAt } from '../lib/fixtures';
import type { Report } from '../lib/report';
import { type BenchOptions, fmt, log } from '../lib/util';

/** The exact oracle: hnswlib's brute-force scan (every vector compared, in C++), top 11 minus the item itself. */
function exactOracle(d: Dataset): (q: number) => Set<number> {
  const exact = new BruteforceSearch('cosine', d.dim);
  exact.initIndex(d.items.length);
  for (let i = 0; i < d.items.length; i++) exact.addPoint(Array.from(vectorAt(d, i)), i);
  return (q) =>
    new Set(
      exact
        .searchKnn(Array.from(vectorAt(d, q)), 11)
        .neighbors.filter((l) => l !== q)
        .slice(0, 10),
    );
}

export async function indexSection(report: Report, o: BenchOptions): Promise<void> {
  const sizes = [await movielens(), await synthetic(o.largeItems)];
  report.note(
    'index',
    `Our \`HnswIndex\` adapter (hnswlib-node, cosine, M ${HNSW_M}, efConstruction ${HNSW_EF_CONSTRUCTION}), built by ` +
      `upserting one item at a time as the API does. Queries are ${o.recallQueries} random catalogue items, searched ` +
      `like \`similar\` (k 10, the item itself filtered out); recall@10 = |HNSW top-10 ∩ exact top-10| / 10 against a ` +
      `brute-force scan of every vector (hnswlib-node \`BruteforceSearch\`, cosine: the exact oracle). Queries/s is one thread running our adapter's ` +
      `search (Array conversion and the JS filter callback included). The 100k set is MovieLens' real vectors plus ` +
      `perturbed copies (noise of norm ~0.5, renormalised).`,
  );
  for (const d of sizes) {
    const n = d.items.length;
    const index = new HnswIndex(d.dim, {
      m: HNSW_M,
      efConstruction: HNSW_EF_CONSTRUCTION,
      efSearch: HNSW_EF_SEARCH,
      initialCapacity: n + 1024,
    });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) index.upsert(d.items[i].id, vectorAt(d, i));
    const buildSec = (performance.now() - t0) / 1000;
    log(`index ${d.name}: built ${n} in ${buildSec.toFixed(1)} s`);
    report.add({
      section: 'index',
      label: `build time per 10k items, ${d.name} (${n} items)`,
      ours: `${fmt((buildSec * 10_000) / n, 2)} s (${fmt(n / buildSec)} items/s, total ${fmt(buildSec, 1)} s)`,
    });

    const position = new Map(d.items.map((it, i) => [it.id, i]));
    const rand = rng(5);
    const queries = Array.from({ length: Math.min(o.recallQueries, n) }, () => Math.floor(rand() * n));
    const oracle = exactOracle(d);
    const t1 = performance.now();
    const truth = queries.map(oracle);
    const exactQps = queries.length / ((performance.now() - t1) / 1000);
    const rows: Record<string, unknown>[] = [];
    for (const ef of o.efValues) {
      let hits = 0;
      const started = performance.now();
      const results = queries.map((q) => {
        const self = d.items[q].id;
        return index.search(vectorAt(d, q), 10, { ef, filter: (id) => id !== self });
      });
      const qps = queries.length / ((performance.now() - started) / 1000);
      results.forEach((res, i) => {
        for (const nb of res) if (truth[i].has(position.get(nb.id)!)) hits++;
      });
      const recall = hits / (queries.length * 10);
      rows.push({ ef, recall, qps });
      const isDefault = ef === HNSW_EF_SEARCH;
      report.add({
        section: 'index',
        label: `recall@10 and queries/s at ef ${ef}${isDefault ? ' (default)' : ''}, ${d.name}`,
        ours: `recall ${recall.toFixed(4)}, ${fmt(qps)} queries/s`,
        ceiling: `exact scan: recall 1, ${fmt(exactQps, 1)} queries/s`,
        goal: isDefault ? 'recall@10 ≥ 0.98' : undefined,
        met: isDefault ? recall >= 0.98 : undefined,
      });
    }
    report.raw[`index.${d.name}`] = { n, buildSec, exactQps, rows };
  }
}
