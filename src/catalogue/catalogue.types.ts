import type { IndexState, Item } from '../domain/item';

export interface ItemIndexing {
  state: IndexState;
  /** Model of the generation the state refers to (the catalogue's active one). */
  model: string;
  /** When the vector was stored (indexed) or the item last changed (pending). */
  at: string | null;
}

/** A generation under construction by a reindex, while the active one keeps serving. */
export interface NextGeneration {
  generation: number;
  model: string;
  textTemplate: string;
  jobId: string;
}

export interface CatalogueMeta {
  name: string;
  /** Active generation: the one every query uses. */
  generation: number;
  model: string;
  dimension?: number;
  textTemplate: string;
  createdAt: string;
  next?: NextGeneration;
}

/** A generation's embedding settings; an embed job names the generation it is for. */
export interface GenerationSpec {
  generation: number;
  model: string;
  textTemplate: string;
}

export interface StoredItem {
  item: Item;
  indexing: ItemIndexing;
}

export interface EmbedRequest {
  id: string;
  hash: string;
  generation: number;
}
