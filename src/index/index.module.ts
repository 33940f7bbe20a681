import { Module } from '@nestjs/common';
import { IndexRegistry } from './index-registry';
import { StreamFollower } from './stream-follower.service';

@Module({ providers: [IndexRegistry, StreamFollower], exports: [IndexRegistry, StreamFollower] })
export class IndexModule {}
