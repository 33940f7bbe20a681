import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { HnswIndex } from './hnsw-index';

export interface CatalogueIndex {
  catalogue: string;
  generation: number;
  model: string;
  index: HnswIndex;
}

/** This replica's in-memory index per catalogue (the active generation only). */
@Injectable()
export class IndexRegistry {
  private readonly entries = new Map<string, CatalogueIndex>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get(catalogue: string): CatalogueIndex | undefined {
    return this.entries.get(catalogue);
  }

  all(): CatalogueIndex[] {
    return [...this.entries.values()];
  }

  create(
    catalogue: string,
    generation: number,
    model: string,
    dimension: number,
    capacity = 1024,
  ): CatalogueIndex {
    const entry: CatalogueIndex = {
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
    return entry;
  }

  /** Swaps a catalogue's index in one assignment, so a query sees the old or the new one, never a mix. */
  set(entry: CatalogueIndex): void {
    this.entries.set(entry.catalogue, entry);
  }

  drop(catalogue: string): void {
    this.entries.delete(catalogue);
  }
}
