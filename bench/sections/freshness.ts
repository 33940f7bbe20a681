import type { Item } from '../../src/domain/item';
import { loadIntoRedis, movielens, newPrefix, rng, startApi, startWorker } from '../lib/fixtures';
import type { Report } from '../lib/report';
import { type BenchOptions, deleteKeys, fmt, http, log, percentile, redis, sleep } from '../lib/util';

const CATALOGUE = 'bench';
const POLL_MS = 20;
const GIVE_UP_MS = 10_000;

export async function freshness(report: Report, o: BenchOptions): Promise<void> {
  const d = await movielens();
  const r = redis();
  const prefix = newPrefix('fresh');
  try {
    await loadIntoRedis(r, d, prefix, CATALOGUE);
    const api = await startApi(prefix, { workers: o.serverProcesses });
    const worker = startWorker(prefix);
    try {
      // One warm-up write so the worker's first batch (model warm, queues created) is not measured.
      await http(api.url, 'PUT', `/v1/catalogues/${CATALOGUE}/items`, {
        items: [{ ...d.items[0], id: 'fresh-warmup', title: `${d.items[0].title} (warm-up)` }],
      });
      await sleep(2000);

      const total = Math.round(o.freshRate * o.freshSeconds);
      const rand = rng(99);
      const picked = new Set<number>();
      while (picked.size < Math.min(total, d.items.length)) picked.add(Math.floor(rand() * d.items.length));
      const queries = [...picked];
      const latencies: number[] = [];
      let missing = 0;
      let putFailures = 0;
      const interval = 1000 / o.freshRate;
      const started = performance.now();
      const inflight: Promise<void>[] = [];

      const one = async (i: number): Promise<void> => {
        const base = d.items[queries[i]];
        // A near-copy of the query item: its nearest neighbour once indexed.
        const item: Item = { ...base, id: `fresh-${i}`, title: `${base.title} (new edition)` };
        const put = await http(api.url, 'PUT', `/v1/catalogues/${CATALOGUE}/items`, { items: [item] });
        const putAt = performance.now();
        if (put.status !== 202) {
          putFailures++;
          return;
        }
        const route = `/v1/catalogues/${CATALOGUE}/items/${encodeURIComponent(base.id)}/similar?limit=10`;
        while (performance.now() - putAt < GIVE_UP_MS) {
          const res = await http(api.url, 'GET', route);
          if (
            res.status === 200 &&
            (res.body as { items: { id: string }[] }).items.some((x) => x.id === item.id)
          ) {
            latencies.push(performance.now() - putAt);
            return;
          }
          await sleep(POLL_MS);
        }
        missing++;
      };

      for (let i = 0; i < queries.length; i++) {
        const wait = started + i * interval - performance.now();
        if (wait > 0) await sleep(wait);
        inflight.push(one(i));
      }
      const sendSeconds = (performance.now() - started) / 1000;
      await Promise.all(inflight);
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      // Items never seen count as slower than any seen one.
      const all = [...latencies, ...Array<number>(missing).fill(Infinity)];
      const p95 = percentile(all, 95);
      report.raw.freshness = {
        latencies,
        missing,
        putFailures,
        sendSeconds,
        rate: queries.length / sendSeconds,
      };
      log(
        `freshness: ${latencies.length} seen, ${missing} not seen in ${GIVE_UP_MS} ms, ${putFailures} PUT failures`,
      );
      report.add({
        section: 'freshness',
        label: `PUT items → returned by similar, at ${fmt(queries.length / sendSeconds, 1)} upserts/s for ${fmt(sendSeconds, 1)} s`,
        ours: `p50 ${fmt(p50)} ms, p95 ${Number.isFinite(p95) ? `${fmt(p95)} ms` : `> ${GIVE_UP_MS} ms`} (${latencies.length}/${queries.length} seen${putFailures ? `, ${putFailures} PUTs failed` : ''})`,
        goal: 'p95 ≤ 1,000 ms',
        met: p95 <= 1000 && putFailures === 0,
        limits:
          p95 > 1000
            ? 'the path is PUT → BullMQ job → worker batch (waits up to 10 ms for more jobs, then embeds) → ' +
              "STORE_VECTORS + stream entry → each replica's XREAD (BLOCK 1000, COUNT 1000) → HMGET vectors → upsert."
            : undefined,
      });
      report.note(
        'freshness',
        `Our API (API_WORKERS=${o.serverProcesses}) and one worker process (\`node dist/workers/main.js\`, default ` +
          `EMBED_BATCH_SIZE) on the MovieLens catalogue. Each second ${o.freshRate} new items are PUT one per request; ` +
          `each is a near-copy of a distinct existing movie. From the PUT's 202 the bench polls that movie's ` +
          `\`similar?limit=10\` every ${POLL_MS} ms (any replica) until the new item appears, so figures are ` +
          `accurate to ~${POLL_MS} ms plus one request.`,
      );
    } finally {
      await worker.stop();
      await api.stop();
    }
  } finally {
    await deleteKeys(r, `${prefix}:*`);
    await r.quit();
  }
}
