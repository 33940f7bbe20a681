import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import type { AppConfig } from './config/config';
import { EmbedderService } from './embedding/embedder.service';
import { MetricsService } from './metrics/metrics.service';

const LEVELS: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

export function logLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

/** Builds the API application (used by main.ts, e2e tests and benchmarks alike). */
export async function createApiApp(config: AppConfig, shutdownHooks = true): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    new FastifyAdapter({
      bodyLimit: config.BODY_LIMIT_BYTES,
      return503OnClosing: true,
      trustProxy: config.TRUST_PROXY,
    }),
    { logger: logLevels(config.LOG_LEVEL), abortOnError: false },
  );
  app.useGlobalFilters(new HttpExceptionFilter());
  // Every response's latency by route template (`/v1/catalogues/:catalogue/...`), for GET /metrics.
  const metrics = app.get(MetricsService);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      metrics.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  if (shutdownHooks) app.enableShutdownHooks();
  const doc = new DocumentBuilder()
    .setTitle('recsvc')
    .setDescription('Self-hosted recommendations: catalogue, similar items, ranking configs, events')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  // Load the default model before serving so the first query is not slow.
  await app.get(EmbedderService).get();
  return app;
}

export async function startApi(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApiApp(config);
  await app.listen(config.PORT, config.HOST);
  new Logger('API').log(`listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
  return app;
}
