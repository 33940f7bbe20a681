import { timingSafeEqual, createHash } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config';

/** Every /v1 route requires `Authorization: Bearer <ADMIN_API_KEY>`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = createHash('sha256').update(config.ADMIN_API_KEY).digest();
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match) throw new UnauthorizedException('Missing Authorization: Bearer <api key> header');
    // Compare digests so the comparison is constant-time whatever the key's length.
    const given = createHash('sha256').update(match[1]).digest();
    if (!timingSafeEqual(given, this.expected)) throw new UnauthorizedException('Invalid API key');
    return true;
  }
}
