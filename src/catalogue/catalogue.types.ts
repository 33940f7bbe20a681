import type { IndexState, Item } from '../domain/item';

export interface ItemStateRecord {
  state: IndexState;
  /** sha1 of the embedding text the item had when it was last written. */
  hash: string;
  generation: number;
  model?: string;
  /** ISO time of the last state change. */
  at: string;
}

export interface CatalogueMeta {
  name: string;
  model: string;
  dimension?: number;
  generation: number;
  textTemplate: string;
  createdAt: string;
}

export interface StoredItem {
  item: Item;
  state: ItemStateRecord;
}

export interface EmbedRequest {
  id: string;
  hash: string;
}
