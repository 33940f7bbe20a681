import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isRedisUnavailable } from '../redis/redis-connection';

interface ErrorBody {
  message: string;
  errors?: unknown[];
}

/** One error shape for every failure, `{ message, errors? }`; never leaks a stack. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (isRedisUnavailable(exception)) {
      // The connection reports the outage once (redis-connection.ts); a stack per request would flood the log.
      void reply
        .status(HttpStatus.SERVICE_UNAVAILABLE)
        .header('retry-after', '1')
        .send({ message: 'Redis is unavailable; retry shortly' });
      return;
    }
    const { status, body } = this.describe(exception);
    if (status >= 500)
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    void reply.status(status).send(body);
  }

  private describe(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      if (typeof res === 'string') return { status, body: { message: res } };
      const r = res as { message?: unknown; errors?: unknown[] };
      const message = Array.isArray(r.message)
        ? r.message.join('; ')
        : typeof r.message === 'string'
          ? r.message
          : exception.message;
      return { status, body: r.errors ? { message, errors: r.errors } : { message } };
    }
    // Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode.
    const fe = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { status: fe.statusCode, body: { message: fastifyMessage(fe.code, fe.message) } };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { message: 'Internal server error' } };
  }
}

function fastifyMessage(code: string | undefined, message: string | undefined): string {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Content-Type must be application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is empty; expected JSON';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case undefined:
    default:
      return `Invalid JSON body: ${message ?? 'could not be parsed'}`.replace(
        /^Invalid JSON body: Invalid JSON body/,
        'Invalid JSON body',
      );
  }
}
