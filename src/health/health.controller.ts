import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type Redis from 'ioredis';
import { EmbedderService } from '../embedding/embedder.service';
import { StreamFollower } from '../index/stream-follower.service';
import { REDIS } from '../redis/redis.tokens';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly embedder: EmbedderService,
    private readonly follower: StreamFollower,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready: Redis answers, the model is loaded, and the index follows the change stream. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.redisUp(),
      () => this.flag('model', this.embedder.isLoaded(), { model: this.embedder.defaultModel }),
      () => this.flag('index', this.follower.following, { offset: this.follower.offset }),
    ]);
  }

  private async redisUp(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000)),
      ]);
      return check.up();
    } catch (e) {
      return check.down({ message: (e as Error).message });
    }
  }

  private flag(key: string, ok: boolean, details: Record<string, unknown>): HealthIndicatorResult {
    const check = this.indicator.check(key);
    return ok ? check.up(details) : check.down(details);
  }
}
