import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { loadConfigOrExit } from './config/config';
import { startApi } from './bootstrap';

// API_WORKERS > 1 runs that many API replicas on one port (node:cluster); each follows the change
// stream and holds its own index, exactly like replicas on separate machines.
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.API_WORKERS > 1 && cluster.isPrimary) {
    const logger = new Logger('API');
    let stopping = false;
    for (let i = 0; i < config.API_WORKERS; i++) cluster.fork();
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      logger.warn(`API replica ${worker.process.pid} exited (${signal ?? code}); starting another`);
      cluster.fork();
    });
    const stop = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return;
  }
  await startApi(config);
}

main().catch((e: unknown) => {
  process.stderr.write(`API failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
