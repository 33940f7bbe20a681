import { Module } from '@nestjs/common';
import { IndexRegistry } from './index-registry';
import { SnapshotStore } from './snapshot.store';
import { StreamFollower } from './stream-follower.service';

@Module({
  providers: [IndexRegistry, SnapshotStore, StreamFollower],
  exports: [IndexRegistry, StreamFollower],
})
export class IndexModule {}
