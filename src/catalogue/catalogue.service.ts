import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { itemText, type Item } from '../domain/item';
import { IndexRegistry } from '../index/index-registry';
import { EmbedQueue } from '../jobs/embed.queue';
import { CatalogueRepository, liveGenerations, textHash } from './catalogue.repository';
import type { CatalogueMeta, StoredItem } from './catalogue.types';

@Injectable()
export class CatalogueService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: CatalogueRepository,
    private readonly embedQueue: EmbedQueue,
    private readonly registry: IndexRegistry,
  ) {}

  /** Stores a validated batch and enqueues embedding for the items whose text changed, per live generation. */
  async upsert(catalogue: string, items: Item[]): Promise<{ accepted: number; queued: number }> {
    const meta = await this.repo.ensureCatalogue(catalogue, this.config.EMBEDDING_MODEL);
    const generations = liveGenerations(meta);
    const hashed = items.map((item) => ({
      item,
      hashes: new Map(generations.map((g) => [g.generation, textHash(itemText(item, g.textTemplate))])),
    }));
    const toEmbed = await this.repo.upsertItems(catalogue, hashed);
    await this.embedQueue.enqueue(toEmbed.map((e) => ({ catalogue, ...e })));
    return { accepted: items.length, queued: toEmbed.length };
  }

  async requireCatalogue(catalogue: string): Promise<CatalogueMeta> {
    const meta = await this.repo.meta(catalogue);
    // The record and the catalogue set entry are written in one MULTI: the record alone proves it exists.
    if (!meta) {
      throw new NotFoundException(`Catalogue '${catalogue}' not found`);
    }
    return meta;
  }

  async getItem(catalogue: string, id: string): Promise<StoredItem> {
    const meta = await this.requireCatalogue(catalogue);
    const found = await this.repo.getItem(catalogue, id, meta);
    if (!found) throw new NotFoundException(`Item '${id}' not found in catalogue '${catalogue}'`);
    return found;
  }

  async delete(catalogue: string, id: string): Promise<void> {
    const meta = await this.requireCatalogue(catalogue);
    if (!(await this.repo.deleteItem(catalogue, id, meta))) {
      throw new NotFoundException(`Item '${id}' not found in catalogue '${catalogue}'`);
    }
    this.registry.forget(catalogue, id);
  }

  async list(
    catalogue: string,
    cursor: string,
    limit: number,
  ): Promise<{ items: Item[]; cursor: string | null }> {
    await this.requireCatalogue(catalogue);
    const page = await this.repo.scanItems(catalogue, cursor, limit);
    return { items: page.items, cursor: page.cursor === '0' ? null : page.cursor };
  }

  /** The catalogue's model, generation and indexing progress (items, indexed, pending). */
  async describe(catalogue: string) {
    const meta = await this.requireCatalogue(catalogue);
    const counts = await this.repo.counts(catalogue, meta.generation);
    return {
      name: meta.name,
      model: meta.model,
      dimension: meta.dimension ?? null,
      generation: meta.generation,
      textTemplate: meta.textTemplate,
      createdAt: meta.createdAt,
      ...counts,
      reindex: meta.next
        ? { jobId: meta.next.jobId, generation: meta.next.generation, model: meta.next.model }
        : null,
    };
  }
}
