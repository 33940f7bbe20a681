import { loadIntoRedis, newPrefix, startApi, synthetic } from '../lib/fixtures';
import type { Report } from '../lib/report';
import { type BenchOptions, deleteKeys, fmt, log, redis, rssBytes, sleep } from '../lib/util';

const MiB = 2 ** 20;

/** RSS of one API process a few seconds after ready (the highest of three readings, a second apart). */
async function apiRss(prefix: string): Promise<number> {
  const api = await startApi(prefix, { workers: 1 });
  try {
    await sleep(2000);
    let rss = 0;
    for (let i = 0; i < 3; i++) {
      rss = Math.max(rss, rssBytes(api.child.pid).total);
      await sleep(1000);
    }
    return rss;
  } finally {
    await api.stop();
  }
}

export async function memory(report: Report, o: BenchOptions): Promise<void> {
  const r = redis();
  const empty = newPrefix('mem-empty');
  const full = newPrefix('mem-full');
  try {
    const baseline = await apiRss(empty);
    log(`memory: baseline API RSS ${fmt(baseline / MiB)} MiB`);
    const d = await synthetic(o.largeItems);
    await loadIntoRedis(r, d, full);
    const loaded = await apiRss(full);
    log(`memory: API RSS with ${d.items.length} items ${fmt(loaded / MiB)} MiB`);
    const n = d.items.length;
    const per100k = ((loaded - baseline) * 100_000) / n;
    const raw = 100_000 * d.dim * 4;
    const ratio = per100k / raw;
    report.raw.memory = { baseline, loaded, n, dim: d.dim, per100k, raw };
    report.add({
      section: 'memory',
      label: `API resident memory per 100k items (${d.dim}-dim vectors, measured with ${n} items)`,
      ours: `${fmt(per100k / MiB)} MiB (RSS ${fmt(loaded / MiB)} MiB loaded − ${fmt(baseline / MiB)} MiB empty)`,
      ceiling: `raw vectors ${fmt(raw / MiB)} MiB`,
      ratio: `${ratio.toFixed(2)}× raw`,
      goal: '≤ 2× raw',
      met: ratio <= 2,
      limits:
        ratio > 2
          ? 'the per-replica item map (every item JSON parsed into a Map for filters and answers) and V8 heap ' +
            'headroom after the initial build add to the hnswlib graph (vector + 2·M links per item ≈ 1.07× raw).'
          : undefined,
    });
    report.note(
      'memory',
      `One API process (API_WORKERS=1, model loaded in both) started on an empty catalogue and on ${n} items ` +
        `loaded into Redis in the service's format; RSS read from /proc a few seconds after /health/ready. ` +
        `The figure includes everything the replica keeps per item: the hnswlib graph and its vectors, the id↔label ` +
        `maps and the in-memory item fields (titles, categories, tags), plus whatever V8 has not returned yet.`,
    );
  } finally {
    await deleteKeys(r, `${empty}:*`);
    await deleteKeys(r, `${full}:*`);
    await r.quit();
  }
}
