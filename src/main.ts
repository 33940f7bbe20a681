import 'reflect-metadata';
import cluster from 'node:cluster';
import * as os from 'node:os';
import { Logger } from '@nestjs/common';
import { replicaEnv, replicaExecArgv } from './common/replica-flags';
import { loadConfigOrExit } from './config/config';
import { serveClusterMetrics } from './metrics/cluster-metrics';

// API_WORKERS > 1 runs that many API replicas on one port (node:cluster); each follows the change
// stream and holds its own index, exactly like replicas on separate machines.
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.API_WORKERS > 1 && cluster.isPrimary) {
    const logger = new Logger('API');
    let stopping = false;
    cluster.setupPrimary({
      execArgv: replicaExecArgv(
        process.execArgv,
        process.env.NODE_OPTIONS,
        config.API_WORKERS,
        os.availableParallelism(),
      ),
    });
    const env = replicaEnv(process.env);
    // GET /metrics on any replica answers for all of them.
    serveClusterMetrics();
    for (let i = 0; i < config.API_WORKERS; i++) cluster.fork(env);
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      logger.warn(`API replica ${worker.process.pid} exited (${signal ?? code}); starting another`);
      cluster.fork(env);
    });
    const stop = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return;
  }
  // Loaded here, not at the top: the primary only forks, so it need not hold the application's module graph.
  const { startApi } = await import('./bootstrap');
  await startApi(config);
}

main().catch((e: unknown) => {
  process.stderr.write(`API failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
