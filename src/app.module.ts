import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/config';
import { TerminusModule } from '@nestjs/terminus';
import { CatalogueController } from './catalogue/catalogue.controller';
import { CatalogueService } from './catalogue/catalogue.service';
import { RateLimitModule } from './common/rate-limit';
import { CoreModule } from './core.module';
import { HealthController } from './health/health.controller';
import { IndexModule } from './index/index.module';
import { JobsController } from './jobs/jobs.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { SimilarService } from './recommend/similar.service';
import { RankingConfigController } from './ranking/ranking-config.controller';
import { RankingConfigRepository } from './ranking/ranking-config.repository';
import { RankingConfigService } from './ranking/ranking-config.service';
import { RecommendController } from './recommend/recommend.controller';
import { RecommendService } from './recommend/recommend.service';
import { RecommendationRepository } from './recommend/recommendation.repository';
import { SignalsReader } from './recommend/signals.reader';
import { EventsModule } from './events/events.module';
import { EventSignalsReader } from './events/signals.reader';

/** The API process: HTTP controllers and the in-memory indexes; no job processors. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        IndexModule,
        EventsModule,
        TerminusModule.forRoot({ logger: false }),
        RateLimitModule.register(config),
      ],
      controllers: [
        CatalogueController,
        HealthController,
        JobsController,
        MetricsController,
        RankingConfigController,
        RecommendController,
      ],
      providers: [
        CatalogueService,
        SimilarService,
        RankingConfigRepository,
        RankingConfigService,
        RecommendService,
        RecommendationRepository,
        MetricsService,
        // The events pipeline fills the behavioural sources (src/events).
        { provide: SignalsReader, useExisting: EventSignalsReader },
      ],
    };
  }
}
