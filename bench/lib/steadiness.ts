import { HierarchicalNSW } from 'hnswlib-node';
import { rawIndexFiles } from './ceilings';
import { type Dataset, vectorAt } from './fixtures';
import { percentile } from './util';

export interface Steadiness {
  batches: number;
  walksPerBatch: number;
  k: number;
  /** Milliseconds per batch of the same walks. */
  p10: number;
  p50: number;
  p90: number;
  max: number;
}

/**
 * Times one fixed job over and over on an otherwise idle machine: does the machine run the same work at the same
 * speed? The job is the costliest step of a realistic recommendation, hnswlib walks for k nearest neighbours over
 * the dataset's index (native code bound by memory latency as much as by the CPU). On a dedicated machine the
 * batches take nearly the same time; on a shared virtual machine they need not, and every latency percentile of
 * the run inherits that spread.
 */
export function measureSteadiness(d: Dataset, seconds: number, k = 272, batchMs = 50): Steadiness {
  const { indexFile } = rawIndexFiles(d);
  const index = new HierarchicalNSW('cosine', d.dim);
  index.readIndexSync(indexFile);
  index.setEf(k);
  const query = (i: number) => Array.from(vectorAt(d, (i * 7919) % d.items.length));
  // Calibrate how many walks take about batchMs; every batch then walks from exactly the same queries.
  for (let i = 0; i < 200; i++) index.searchKnn(query(i), k);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) index.searchKnn(query(i), k);
  const perBatch = Math.max(1, Math.round((50 * batchMs) / (performance.now() - t0)));
  const queries = Array.from({ length: perBatch }, (_, i) => query(i));
  const walks = () => {
    for (const q of queries) index.searchKnn(q, k);
  };
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    walks();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    batches: times.length,
    walksPerBatch: perBatch,
    k,
    p10: percentile(times, 10),
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    max: times[times.length - 1],
  };
}
