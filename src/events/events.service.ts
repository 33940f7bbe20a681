import { Injectable, NotFoundException } from '@nestjs/common';
import { CatalogueRepository } from '../catalogue/catalogue.repository';
import type { Item } from '../domain/item';
import { parseExperiment } from '../domain/ranking';
import { IndexRegistry } from '../index/index-registry';
import { RankingConfigRepository } from '../ranking/ranking-config.repository';
import { experimentReport, type VariantReport } from './experiment-report';
import type { EventInput, EventLag, IngestResult, QueuedEvent } from './events.dto';
import { CollaborativeQueue } from '../jobs/collaborative.queue';
import { CollaborativeRepository, type CollaborativeMeta } from './collaborative.repository';
import { EventsRepository } from './events.repository';
import { EventSignalsReader } from './signals.reader';

@Injectable()
export class EventsService {
  constructor(
    private readonly repo: EventsRepository,
    private readonly catalogues: CatalogueRepository,
    private readonly signals: EventSignalsReader,
    private readonly registry: IndexRegistry,
    private readonly configs: RankingConfigRepository,
    private readonly collaborative: CollaborativeRepository,
    private readonly collaborativeQueue: CollaborativeQueue,
  ) {}

  /** The stored `collaborative` model's meta; 404 until one was trained. */
  async collaborativeModel(catalogue: string): Promise<CollaborativeMeta> {
    await this.requireCatalogue(catalogue);
    const meta = await this.collaborative.meta(catalogue);
    if (!meta)
      throw new NotFoundException(
        `No collaborative model for '${catalogue}' yet: the worker trains one once events were applied`,
      );
    return meta;
  }

  /** Queues a retrain now (one waits per catalogue); the worker trains it and replicas load it. */
  async trainCollaborative(catalogue: string): Promise<{ jobId: string }> {
    await this.requireCatalogue(catalogue);
    return { jobId: await this.collaborativeQueue.enqueue(catalogue) };
  }

  /** Impressions, clicks, carts, purchases, CTR and conversion per variant, from events carrying a recommId. */
  async experimentReport(
    catalogue: string,
    name: string,
  ): Promise<{ experiment: string; control: string | null; variants: VariantReport[] }> {
    await this.requireCatalogue(catalogue);
    const stored = await this.configs.experiment(catalogue, name);
    const parsed = stored ? parseExperiment(stored.experiment) : undefined;
    if (!parsed?.ok)
      throw new NotFoundException(`Experiment '${name}' not found in catalogue '${catalogue}'`);
    const counters = await this.repo.experimentCounters(catalogue, name);
    const variants = experimentReport(parsed.experiment.variants, counters);
    return { experiment: name, control: variants[0]?.variant ?? null, variants };
  }

  /** Queues a validated batch for the signals worker; O(batch), no signal work in the request path. */
  async ingest(catalogue: string, events: EventInput[], now = Date.now()): Promise<IngestResult> {
    await this.requireCatalogue(catalogue);
    return this.repo.ingest(
      catalogue,
      events.map((e) => ({ eventId: e.eventId, event: toQueued(e, now) })),
    );
  }

  async lag(catalogue: string): Promise<EventLag> {
    await this.requireCatalogue(catalogue);
    return this.repo.lag(catalogue);
  }

  /** Items most often interacted with together with one item (co-occurrence), best first. */
  async boughtTogether(
    catalogue: string,
    id: string,
    limit: number,
  ): Promise<{ id: string; score: number; item: Item }[]> {
    await this.requireCatalogue(catalogue);
    const items = this.registry.view(catalogue)?.items;
    const result = await this.signals.together(
      catalogue,
      id,
      limit,
      (other) => other === id || (items !== undefined && !items.has(other)),
    );
    const out: { id: string; score: number; item: Item }[] = [];
    for (const c of result.items) {
      const item = items?.get(c.id);
      if (item) out.push({ id: c.id, score: Math.round(c.score * 1e6) / 1e6, item });
    }
    return out;
  }

  private async requireCatalogue(catalogue: string): Promise<void> {
    if (!(await this.catalogues.exists(catalogue)))
      throw new NotFoundException(`Catalogue '${catalogue}' not found`);
  }
}

function toQueued(e: EventInput, now: number): QueuedEvent {
  const q: QueuedEvent = { type: e.type, itemId: e.itemId, ts: e.timestamp ?? now };
  if (e.userId !== undefined) q.userId = e.userId;
  if (e.sessionId !== undefined) q.sessionId = e.sessionId;
  if (e.value !== undefined) q.value = e.value;
  if (e.recommId !== undefined) q.recommId = e.recommId;
  return q;
}
