import cluster from 'node:cluster';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { AggregatorRegistry, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import { IndexRegistry } from '../index/index-registry';
import { CollaborativeQueue } from '../jobs/collaborative.queue';
import { EmbedQueue } from '../jobs/embed.queue';
import { ReindexQueue } from '../jobs/reindex.queue';
import { askPrimaryForMetrics } from './cluster-metrics';

// Job states worth watching (completed jobs are removed as they complete).
const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'failed'] as const;
// Request latency buckets around the service's goals (similar in a few ms, recommendations p99 ≤ 15 ms).
const BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Prometheus metrics of this API process: HTTP latency per route template, items per catalogue index, and
 * prom-client's process metrics (CPU, memory, event-loop delay, GC). With API_WORKERS > 1 a scrape of any replica
 * answers for all of them: the replica asks the primary, which aggregates every replica's registry.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly http: Histogram<'method' | 'route' | 'status'>;
  // In a replica, constructing one installs prom-client's answer to the primary's requests (cluster IPC).
  private readonly clusterPeer = cluster.isWorker ? new AggregatorRegistry() : undefined;

  constructor(index: IndexRegistry, embed: EmbedQueue, reindex: ReindexQueue, models: CollaborativeQueue) {
    collectDefaultMetrics({ register: this.registry });
    this.http = new Histogram({
      name: 'recsvc_http_request_duration_seconds',
      help: 'Time from request to response, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    new Gauge({
      name: 'recsvc_index_items',
      help: 'Items in the in-memory vector index of each catalogue (the largest over replicas)',
      labelNames: ['catalogue'],
      aggregator: 'max',
      registers: [this.registry],
      collect() {
        this.reset();
        for (const view of index.all()) this.set({ catalogue: view.catalogue }, view.index?.index.size ?? 0);
      },
    });
    const queues: Queue[] = [embed.queue, reindex.queue, models.queue];
    new Gauge({
      name: 'recsvc_queue_jobs',
      help: "Jobs in each BullMQ queue by state, read from Redis at scrape time (the workers' backlog)",
      labelNames: ['queue', 'state'],
      // Every replica reads the same Redis: one replica's answer, not the sum.
      aggregator: 'first',
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          queues.map(async (q) => {
            // Redis away: this scrape goes on without the queue figures (the producer connections fail fast).
            const counts = await q.getJobCounts(...QUEUE_STATES).catch(() => undefined);
            for (const [state, n] of Object.entries(counts ?? {})) this.set({ queue: q.name, state }, n);
          }),
        );
      },
    });
    // prom-client answers the primary's aggregation requests from the registries set here.
    if (cluster.isWorker) AggregatorRegistry.setRegistries([this.registry]);
  }

  /** One finished request; `route` is the matched route template, so labels stay few (not one per item id). */
  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    this.http.observe({ method, route: route ?? 'unmatched', status: String(status) }, seconds);
  }

  /** The exposition text: this process's, or every replica's when running under the cluster primary. */
  async text(): Promise<string> {
    if (cluster.isWorker && process.send) return askPrimaryForMetrics();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  onModuleDestroy(): void {
    this.registry.clear();
  }
}
