import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/config';
import { TerminusModule } from '@nestjs/terminus';
import { CatalogueController } from './catalogue/catalogue.controller';
import { CatalogueService } from './catalogue/catalogue.service';
import { CoreModule } from './core.module';
import { HealthController } from './health/health.controller';
import { IndexModule } from './index/index.module';
import { SimilarService } from './recommend/similar.service';

/** The API process: HTTP controllers and the in-memory indexes; no job processors. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config), IndexModule, TerminusModule.forRoot({ logger: false })],
      controllers: [CatalogueController, HealthController],
      providers: [CatalogueService, SimilarService],
    };
  }
}
