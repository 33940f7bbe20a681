import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ItemMap } from '../domain/item-map';
import { HnswIndex } from './hnsw-index';

export interface CatalogueIndex {
  catalogue: string;
  generation: number;
  model: string;
  index: HnswIndex;
}

/** This replica's in-memory view of a catalogue: item fields (for filters and answers) and its vector index. */
export interface CatalogueView {
  catalogue: string;
  items: ItemMap;
  /** The active generation's index; absent until the first vector is stored. */
  index?: CatalogueIndex;
}

@Injectable()
export class IndexRegistry {
  private readonly views = new Map<string, CatalogueView>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get(catalogue: string): CatalogueIndex | undefined {
    return this.views.get(catalogue)?.index;
  }

  view(catalogue: string): CatalogueView | undefined {
    return this.views.get(catalogue);
  }

  all(): CatalogueView[] {
    return [...this.views.values()];
  }

  createIndex(
    catalogue: string,
    generation: number,
    model: string,
    dimension: number,
    capacity = 1024,
  ): CatalogueIndex {
    return {
      catalogue,
      generation,
      model,
      index: new HnswIndex(dimension, {
        m: this.config.HNSW_M,
        efConstruction: this.config.HNSW_EF_CONSTRUCTION,
        efSearch: this.config.HNSW_EF_SEARCH,
        initialCapacity: capacity,
      }),
    };
  }

  /** Swaps a catalogue's view in one assignment, so a query sees the old or the new one, never a mix. */
  set(view: CatalogueView): void {
    this.views.set(view.catalogue, view);
  }

  /** Swaps only the index (a new generation), keeping the item fields. */
  setIndex(catalogue: string, index: CatalogueIndex): void {
    const view = this.views.get(catalogue);
    if (view) view.index = index;
    else this.views.set(catalogue, { catalogue, items: new ItemMap(), index });
  }

  /** Applied at once on the replica that served a DELETE (answers skip ids without item fields); the stream's delete entry then removes the vector. */
  forget(catalogue: string, id: string): void {
    this.views.get(catalogue)?.items.delete(id);
  }

  drop(catalogue: string): void {
    this.views.delete(catalogue);
  }
}
