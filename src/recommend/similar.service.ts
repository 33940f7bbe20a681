import type { Neighbour } from '../domain/vector-index';
import { ConflictException, Injectable } from '@nestjs/common';
import { CatalogueService } from '../catalogue/catalogue.service';
import { getOrInsert } from '../common/maps';
import type { Item } from '../domain/item';
import type { RankingConfig } from '../domain/ranking';
import { IndexRegistry } from '../index/index-registry';
import { RankingConfigService } from '../ranking/ranking-config.service';
import { RecommendService } from './recommend.service';

export interface ScoredItem {
  id: string;
  score: number;
  item: Item;
}

const SIMILAR_ONLY = new Set(['similar'] as const);
const DEFAULT_SIMILAR_SOURCE = { source: 'similar' as const, limit: 200, weight: 1 };

@Injectable()
export class SimilarService {
  // Derived per config object (a new version is a new object), so per-config caches downstream keep hitting.
  private readonly derived = new WeakMap<RankingConfig, Map<number, RankingConfig>>();

  constructor(
    private readonly registry: IndexRegistry,
    private readonly catalogues: CatalogueService,
    private readonly configs: RankingConfigService,
    private readonly recommend: RecommendService,
  ) {}

  /** Nearest neighbours of an item: most similar first, never the item itself, never a deleted item; a config adds its filters, boosts and diversity. */
  async similar(catalogue: string, id: string, limit: number, configName?: string): Promise<ScoredItem[]> {
    const entry = this.registry.get(catalogue);
    const vector = entry?.index.vector(id);
    if (!entry || !vector) {
      const found = await this.catalogues.getItem(catalogue, id);
      throw new ConflictException(
        `Item '${id}' is ${found.indexing.state}, not yet in the index; retry shortly`,
      );
    }
    const view = this.registry.view(catalogue)!;
    if (configName !== undefined) {
      const { config } = await this.configs.resolve(catalogue, configName);
      const ranked = await this.recommend.rank(
        catalogue,
        view,
        this.similarOnly(config, limit),
        {
          itemIds: [id],
          sessionItemIds: [],
          positive: [],
          negative: [],
          filters: undefined,
          exclude: [id],
          limit,
        },
        { onlySources: SIMILAR_ONLY },
      );
      return ranked.map(({ id: rid, score, item }) => ({ id: rid, score, item }));
    }
    const items = view.items;
    // Fast path: no per-candidate JS filter in the graph walk; drop the item itself and any id whose delete
    // has not reached the index yet. Only if that leaves the page short, search again with the filter.
    const wanted = Math.min(limit, entry.index.size - 1);
    let out = this.answer(entry.index.search(vector, limit + 2), id, items, limit);
    if (out.length < wanted) {
      out = this.answer(
        entry.index.search(vector, limit, { filter: (o) => o !== id && items.has(o) }),
        id,
        items,
        limit,
      );
    }
    return out;
  }

  /** The config with only its similar source (at least `limit` deep), one object per config and limit. */
  private similarOnly(config: RankingConfig, limit: number): RankingConfig {
    const byLimit = getOrInsert(this.derived, config, () => new Map<number, RankingConfig>());
    return getOrInsert(byLimit, limit, () => {
      // Only the similar source runs here, whatever else the config lists; the item itself is always excluded.
      const similar = config.candidates.find((c) => c.source === 'similar') ?? DEFAULT_SIMILAR_SOURCE;
      return { ...config, candidates: [{ ...similar, limit: Math.max(similar.limit, limit) }] };
    });
  }

  private answer(
    neighbours: Neighbour[],
    self: string,
    items: Map<string, Item>,
    limit: number,
  ): ScoredItem[] {
    const out: ScoredItem[] = [];
    for (const n of neighbours) {
      const item = n.id === self ? undefined : items.get(n.id);
      if (item) out.push({ id: n.id, score: round(n.score), item });
      if (out.length === limit) break;
    }
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
