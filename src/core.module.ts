import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { CatalogueRepository } from './catalogue/catalogue.repository';
import { APP_CONFIG, type AppConfig } from './config/config';
import { EmbedderService } from './embedding/embedder.service';
import { EmbedQueue } from './jobs/embed.queue';
import { JobStatusRepository } from './jobs/job-status.repository';
import { ReindexQueue } from './jobs/reindex.queue';
import { createRedis, REDIS_FAIL_FAST_MS } from './redis/redis-connection';
import { RedisKeys } from './redis/redis-keys';
import { REDIS } from './redis/redis.tokens';

/** What the API and the worker processes share: config, Redis, repositories, the model, queue producers. */
const providers = [
  { provide: RedisKeys, inject: [APP_CONFIG], useFactory: (c: AppConfig) => new RedisKeys(c.REDIS_PREFIX) },
  {
    provide: REDIS,
    inject: [APP_CONFIG],
    useFactory: (c: AppConfig) =>
      createRedis(c.REDIS_URL, new Logger('Redis'), {
        name: 'main',
        autoPipelining: true,
        failFastAfterMs: REDIS_FAIL_FAST_MS,
      }),
  },
  CatalogueRepository,
  EmbedderService,
  EmbedQueue,
  JobStatusRepository,
  ReindexQueue,
];

@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, ...providers],
      exports: [APP_CONFIG, ...providers],
    };
  }

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
