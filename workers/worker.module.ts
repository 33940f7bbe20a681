import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../src/config/config';
import { CoreModule } from '../src/core.module';
import { CollaborativeRepository } from '../src/events/collaborative.repository';
import { EventsRepository } from '../src/events/events.repository';
import { CollaborativeProcessor } from '../src/jobs/collaborative.processor';
import { CollaborativeQueue } from '../src/jobs/collaborative.queue';
import { EmbedProcessor } from '../src/jobs/embed.processor';
import { ReindexProcessor } from '../src/jobs/reindex.processor';
import { SignalsProcessor } from '../src/jobs/signals.processor';
import { RankingConfigRepository } from '../src/ranking/ranking-config.repository';

/** The worker process: job processors only, no HTTP server. */
@Module({})
export class WorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [CoreModule.forRoot(config)],
      providers: [
        EmbedProcessor,
        ReindexProcessor,
        SignalsProcessor,
        CollaborativeProcessor,
        CollaborativeQueue,
        CollaborativeRepository,
        EventsRepository,
        RankingConfigRepository,
      ],
    };
  }
}
