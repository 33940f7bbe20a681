import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';

// A replica asks the primary over the cluster IPC channel; the primary asks every replica (prom-client) and
// answers with the aggregate.
const REQUEST = 'recsvc:metrics-request';
const REPLY = 'recsvc:metrics-reply';
const TIMEOUT_MS = 5_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: string;
}
interface MetricsReply {
  type: typeof REPLY;
  id: string;
  text?: string;
  error?: string;
}

/** In the primary: answer replicas' requests with the metrics of all replicas. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    const m = message as Partial<MetricsRequest> | null;
    if (m?.type !== REQUEST || typeof m.id !== 'string') return;
    const id = m.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id, text } satisfies MetricsReply),
      (e: unknown) =>
        worker.send({
          type: REPLY,
          id,
          error: e instanceof Error ? e.message : String(e),
        } satisfies MetricsReply),
    );
  });
}

/** In a replica: the aggregate of every replica, from the primary. */
export function askPrimaryForMetrics(): Promise<string> {
  const id = randomBytes(8).toString('hex');
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const m = message as Partial<MetricsReply> | null;
      if (m?.type !== REPLY || m.id !== id) return;
      finish();
      if (typeof m.text === 'string') resolve(m.text);
      else reject(new Error(`metrics aggregation failed: ${m.error ?? 'no answer'}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`the cluster primary did not answer for metrics in ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
