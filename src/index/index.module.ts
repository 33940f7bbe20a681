import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { NeighbourCache } from '../domain/neighbour-cache';
import { IndexRegistry } from './index-registry';
import { SnapshotStore } from './snapshot.store';
import { StreamFollower } from './stream-follower.service';

@Module({
  providers: [
    IndexRegistry,
    SnapshotStore,
    StreamFollower,
    // Item-to-item lists kept between requests, shared by the ranking and the signal readers.
    {
      provide: NeighbourCache,
      useFactory: (c: AppConfig) => new NeighbourCache(c.NEIGHBOUR_CACHE_ITEMS),
      inject: [APP_CONFIG],
    },
  ],
  exports: [IndexRegistry, StreamFollower, NeighbourCache],
})
export class IndexModule {}
