import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadIntoRedis, newPrefix, startApi, synthetic } from '../lib/fixtures';
import type { Report } from '../lib/report';
import { API_KEY, type BenchOptions, deleteKeys, log, redis } from '../lib/util';

/** Answers of `similar` for a fixed set of items: compared before and after a restart. */
async function answers(url: string, ids: string[]): Promise<string> {
  const out: string[] = [];
  for (const id of ids) {
    const res = await fetch(`${url}/v1/catalogues/bench/items/${encodeURIComponent(id)}/similar?limit=10`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const body = (await res.json()) as { items: { id: string; score: number }[] };
    out.push(body.items.map((i) => `${i.id}:${i.score}`).join(','));
  }
  return out.join('\n');
}

/** Issue 5: time from start to ready with a 100k-item catalogue, from a snapshot vs rebuilt from Redis. */
export async function restart(report: Report, o: BenchOptions): Promise<void> {
  const r = redis();
  const prefix = newPrefix('restart');
  const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-restart-'));
  const env = { INDEX_DIR: indexDir, SNAPSHOT_INTERVAL_SECONDS: '0' };
  try {
    const d = await synthetic(o.largeItems);
    await loadIntoRedis(r, d, prefix);
    const probes = d.items.filter((_, i) => i % Math.floor(d.items.length / 50) === 0).map((i) => i.id);

    let t0 = Date.now();
    const first = await startApi(prefix, { workers: 1, env, keepIndexDir: true });
    const rebuildMs = Date.now() - t0;
    const before = await answers(first.url, probes);
    await first.stop();
    const snapshot = fs.existsSync(path.join(indexDir, 'bench/manifest.json'));

    t0 = Date.now();
    const second = await startApi(prefix, { workers: 1, env, keepIndexDir: true });
    const snapshotMs = Date.now() - t0;
    const after = await answers(second.url, probes);
    await second.stop();
    const identical = before === after;
    log(
      `restart: ${d.items.length} items, rebuild ${rebuildMs} ms, snapshot ${snapshotMs} ms, identical ${identical}`,
    );
    report.raw.restart = { n: d.items.length, rebuildMs, snapshotMs, identical, snapshot };
    report.add({
      section: 'restart',
      label: `API start to ready with ${d.items.length} items, from its snapshot (ceiling: rebuild from Redis)`,
      ours: `${(snapshotMs / 1000).toFixed(1)} s`,
      ceiling: `rebuild ${(rebuildMs / 1000).toFixed(1)} s`,
      ratio: `${(rebuildMs / snapshotMs).toFixed(1)}× faster`,
      goal: '< 10 s, answers identical',
      met: snapshot && identical && snapshotMs < 10_000,
      limits: !identical
        ? 'answers differ after the restart'
        : !snapshot
          ? 'no snapshot was written on shutdown'
          : undefined,
    });
    report.note(
      'restart',
      `One API process (model loaded) is started on ${d.items.length} items in Redis with no snapshot (index built from ` +
        `the vectors in Redis), stopped with SIGTERM (snapshot written on shutdown), then started again. Both times ` +
        `include process start, model load, item fields loaded from Redis and /health/ready; ${probes.length} ` +
        `similar answers are compared before and after (ids and scores): ${identical ? 'identical' : 'DIFFERENT'}.`,
    );
  } finally {
    fs.rmSync(indexDir, { recursive: true, force: true });
    await deleteKeys(r, `${prefix}:*`);
    await r.quit();
  }
}
