import { ConflictException, Injectable } from '@nestjs/common';
import { CatalogueService } from '../catalogue/catalogue.service';
import type { Item } from '../domain/item';
import { IndexRegistry } from '../index/index-registry';

export interface ScoredItem {
  id: string;
  score: number;
  item: Item;
}

@Injectable()
export class SimilarService {
  constructor(
    private readonly registry: IndexRegistry,
    private readonly catalogues: CatalogueService,
  ) {}

  /** Nearest neighbours of an item: most similar first, never the item itself, never a deleted item. */
  async similar(catalogue: string, id: string, limit: number): Promise<ScoredItem[]> {
    const entry = this.registry.get(catalogue);
    const vector = entry?.index.vector(id);
    if (!entry || !vector) {
      const found = await this.catalogues.getItem(catalogue, id);
      throw new ConflictException(
        `Item '${id}' is ${found.state.state}, not yet in the index; retry shortly`,
      );
    }
    const items = this.registry.view(catalogue)!.items;
    const neighbours = entry.index.search(vector, limit, {
      filter: (other) => other !== id && items.has(other),
    });
    const out: ScoredItem[] = [];
    for (const n of neighbours) {
      const item = items.get(n.id);
      if (item) out.push({ id: n.id, score: round(n.score), item });
    }
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
