import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../src/config/config';
import { CoreModule } from '../src/core.module';
import { EmbedProcessor } from '../src/jobs/embed.processor';
import { SignalsProcessor } from '../src/jobs/signals.processor';

/** The worker process: job processors only, no HTTP server. */
@Module({})
export class WorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [CoreModule.forRoot(config)],
      providers: [EmbedProcessor, SignalsProcessor],
    };
  }
}
