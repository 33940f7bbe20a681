import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { CollaborativeScorer } from '../domain/personalization/collaborative';
import { CollaborativeRepository } from './collaborative.repository';

interface Held {
  version: number;
  scorer?: CollaborativeScorer;
  checkedAt: number;
  checking?: Promise<void>;
}

/** Each API replica's copy of every catalogue's `collaborative` model, replaced when the worker stores a newer one. */
@Injectable()
export class CollaborativeModels {
  private readonly logger = new Logger(CollaborativeModels.name);
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly repo: CollaborativeRepository,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'COLLAB_REFRESH_MS'>,
  ) {}

  /** The newest model this replica has; looks for a newer one at most every COLLAB_REFRESH_MS (one HGET). */
  async get(catalogue: string, now = Date.now()): Promise<CollaborativeScorer | undefined> {
    let h = this.held.get(catalogue);
    if (!h) this.held.set(catalogue, (h = { version: 0, checkedAt: -Infinity }));
    if (now - h.checkedAt >= this.config.COLLAB_REFRESH_MS) {
      h.checkedAt = now;
      h.checking ??= this.refresh(catalogue, h).finally(() => (h.checking = undefined));
    }
    // A replica without a model waits for the first look; one with a model keeps serving it meanwhile.
    if (!h.scorer && h.checking) await h.checking;
    return h.scorer;
  }

  private async refresh(catalogue: string, h: Held): Promise<void> {
    try {
      const meta = await this.repo.meta(catalogue);
      if (!meta || meta.version === h.version) return;
      const model = await this.repo.load(catalogue, meta.version);
      if (!model) return;
      h.scorer = new CollaborativeScorer(model);
      h.version = meta.version;
    } catch (e) {
      // The source answers nothing (or the older model) until Redis answers again.
      this.logger.warn(`collaborative model of '${catalogue}' not read: ${(e as Error).message}`);
    }
  }
}
