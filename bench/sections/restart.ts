import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ApiProcess, loadIntoRedis, newPrefix, startApi, synthetic } from '../lib/fixtures';
import type { Report } from '../lib/report';
import { API_KEY, type BenchOptions, deleteKeys, log, redis, sleep } from '../lib/util';

/** Snapshot timer of the first API: it fires within this many seconds of ready, while requests are probed. */
const SNAPSHOT_TIMER_S = 10;

/** One `similar?limit=10` request for an item of the bench catalogue. */
const similar = (url: string, id: string): Promise<Response> =>
  fetch(`${url}/v1/catalogues/bench/items/${encodeURIComponent(id)}/similar?limit=10`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });

/** Answers of `similar` for a fixed set of items: compared before and after a restart. */
async function answers(url: string, ids: string[]): Promise<string> {
  const out: string[] = [];
  for (const id of ids) {
    const res = await similar(url, id);
    const body = (await res.json()) as { items: { id: string; score: number }[] };
    out.push(body.items.map((i) => `${i.id}:${i.score}`).join(','));
  }
  return out.join('\n');
}

interface DuringSnapshot {
  /** Sequential `similar` requests answered while probing, and their latencies. */
  requests: number;
  p50Ms: number;
  maxMs: number;
  /** The API's own figure for the snapshot write ("written in N ms"), if it logged one. */
  writeMs?: number;
  /** The snapshot was already written when probing began (nothing measured during it). */
  missed: boolean;
}

/**
 * Sequential `similar` requests from just after ready until the periodic snapshot (SNAPSHOT_INTERVAL_SECONDS) has
 * been written: the longest wait shows whether the write held up requests.
 */
async function probeDuringSnapshot(
  api: ApiProcess,
  ids: string[],
  manifest: string,
  deadlineMs: number,
): Promise<DuringSnapshot> {
  const missed = fs.existsSync(manifest);
  const latencies: number[] = [];
  const deadline = Date.now() + deadlineMs;
  let writtenAt: number | undefined;
  for (let i = 0; Date.now() < deadline; i++) {
    const t0 = performance.now();
    await (await similar(api.url, ids[i % ids.length])).arrayBuffer();
    latencies.push(performance.now() - t0);
    if (writtenAt === undefined && fs.existsSync(manifest)) writtenAt = Date.now();
    if (writtenAt !== undefined && Date.now() - writtenAt > 1000) break;
    // About 200 requests a second: enough to see a stall of a few ms, little load on the replica.
    await sleep(5);
  }
  latencies.sort((a, b) => a - b);
  const written = /snapshot of bench \(\d+ items\) written in (\d+) ms/.exec(api.child.tail());
  return {
    requests: latencies.length,
    p50Ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
    maxMs: latencies[latencies.length - 1] ?? 0,
    writeMs: written ? Number(written[1]) : undefined,
    missed: missed || writtenAt === undefined,
  };
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
    // The first API writes its snapshot on its periodic timer while serving (then has nothing left to write on
    // shutdown); the second starts from it.
    const first = await startApi(prefix, {
      workers: 1,
      // LOG_LEVEL log: the API logs how long the snapshot write took.
      env: { ...env, SNAPSHOT_INTERVAL_SECONDS: String(SNAPSHOT_TIMER_S), LOG_LEVEL: 'log' },
      keepIndexDir: true,
    });
    const rebuildMs = Date.now() - t0;
    const manifest = path.join(indexDir, 'bench/manifest.json');
    const during = await probeDuringSnapshot(first, probes, manifest, (SNAPSHOT_TIMER_S + 30) * 1000);
    log(
      `restart: while the snapshot was written: ${during.requests} sequential similar requests, p50 ${during.p50Ms.toFixed(1)} ms, ` +
        `max ${during.maxMs.toFixed(1)} ms; write ${during.writeMs ?? '?'} ms${during.missed ? ' (missed: written before probing)' : ''}`,
    );
    const before = await answers(first.url, probes);
    await first.stop();
    const snapshot = fs.existsSync(manifest);

    t0 = Date.now();
    const second = await startApi(prefix, { workers: 1, env, keepIndexDir: true });
    const snapshotMs = Date.now() - t0;
    const after = await answers(second.url, probes);
    await second.stop();
    const identical = before === after;
    log(
      `restart: ${d.items.length} items, rebuild ${rebuildMs} ms, snapshot ${snapshotMs} ms, identical ${identical}`,
    );
    report.raw.restart = { n: d.items.length, rebuildMs, snapshotMs, identical, snapshot, during };
    const w = during.writeMs;
    report.add({
      section: 'restart',
      label: `longest wait of sequential \`similar\` requests while the API writes its ${d.items.length}-item snapshot`,
      ours: `max ${during.maxMs.toFixed(1)} ms (p50 ${during.p50Ms.toFixed(1)} ms, ${during.requests} requests)`,
      ceiling: w !== undefined ? `the write itself: ${w} ms` : 'write time not logged',
      ratio: w ? `${((during.maxMs / w) * 100).toFixed(0)}% of the write` : '–',
      goal: 'requests served during the write: max wait < 25% of it',
      met: !during.missed && w !== undefined && during.maxMs < w / 4,
      limits: during.missed ? 'the snapshot was written before probing began' : undefined,
    });
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
        `the vectors in Redis), writes its snapshot on its ${SNAPSHOT_TIMER_S} s timer while answering sequential \`similar\` ` +
        `requests (about 200/s; the longest wait is compared with the write time the API logs: a write on the event loop ` +
        `would hold a request for all of it), is stopped with SIGTERM, then started again. Both times ` +
        `include process start, model load, item fields loaded from Redis and /health/ready; ${probes.length} ` +
        `similar answers are compared before and after (ids and scores): ${identical ? 'identical' : 'DIFFERENT'}.`,
    );
  } finally {
    fs.rmSync(indexDir, { recursive: true, force: true });
    await deleteKeys(r, `${prefix}:*`);
    await r.quit();
  }
}
