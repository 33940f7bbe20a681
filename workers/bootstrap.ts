import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { logLevels } from '../src/bootstrap';
import type { AppConfig } from '../src/config/config';
import { WorkerModule } from './worker.module';

/** Builds the worker context (used by workers/main.ts, e2e tests and benchmarks alike). */
export async function createWorker(
  config: AppConfig,
  shutdownHooks = true,
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config), {
    logger: logLevels(config.LOG_LEVEL),
    abortOnError: false,
  });
  if (shutdownHooks) app.enableShutdownHooks();
  return app;
}
