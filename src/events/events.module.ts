import { Module } from '@nestjs/common';
import { IndexModule } from '../index/index.module';
import { RankingConfigRepository } from '../ranking/ranking-config.repository';
import { SignalsReader } from '../recommend/signals.reader';
import { CollaborativeQueue } from '../jobs/collaborative.queue';
import { CollaborativeModels } from './collaborative-models';
import { CollaborativeRepository } from './collaborative.repository';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';
import { EventSignalsReader } from './signals.reader';

/** Event ingest (API side) and the readers of the signals the worker keeps. */
@Module({
  imports: [IndexModule],
  controllers: [EventsController],
  providers: [
    EventsRepository,
    EventsService,
    EventSignalsReader,
    CollaborativeRepository,
    CollaborativeModels,
    CollaborativeQueue,
    // Stateless reader of stored experiments (the ranking module owns writes).
    RankingConfigRepository,
    { provide: SignalsReader, useExisting: EventSignalsReader },
  ],
  exports: [EventsService, EventSignalsReader, SignalsReader, CollaborativeQueue],
})
export class EventsModule {}
