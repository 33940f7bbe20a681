// A throwaway redis-server of a test's own (fault tests: stop it by its pid, start it again on the same port).
import { type ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { CatalogueRepository, textHash } from '../../src/catalogue/catalogue.repository';
import type { AppConfig } from '../../src/config/config';
import { itemText } from '../../src/domain/item';
import { RedisKeys } from '../../src/redis/redis-keys';
import { waitFor } from './stack';

/** Starts redis-server on `port` (no persistence: a restart comes back empty) and waits until it answers. */
export async function privateRedis(port: number): Promise<ChildProcess> {
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await waitFor(async () => {
    const r = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  }, `redis-server on port ${port}`);
  return proc;
}

/** Kills it (SIGKILL: an outage, not a shutdown) and waits for the exit. */
export async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/**
 * `n` items `i0…` in catalogue `shop`, written in the service's own format with vectors, so an API started on
 * this config indexes them without a worker or the model.
 */
export async function writeSmallCatalogue(config: AppConfig, n: number): Promise<void> {
  const r = new Redis(config.REDIS_URL);
  try {
    const repo = new CatalogueRepository(r, new RedisKeys(config.REDIS_PREFIX));
    const meta = await repo.ensureCatalogue('shop', config.EMBEDDING_MODEL);
    const items = Array.from({ length: n }, (_, i) => ({ id: `i${i}`, title: `Item ${i}`, available: true }));
    const hashes = items.map((item) => textHash(itemText(item, meta.textTemplate)));
    await repo.upsertItems(
      'shop',
      items.map((item, i) => ({ item, hashes: new Map([[meta.generation, hashes[i]]]) })),
    );
    const vector = (i: number) => Float32Array.from({ length: 512 }, (_, d) => Math.sin((i + 1) * (d + 1)));
    const stored = await repo.storeVectors(
      'shop',
      meta.generation,
      'job',
      items.map((item, i) => ({ id: item.id, hash: hashes[i], vector: vector(i) })),
    );
    if (stored !== n) throw new Error(`stored ${stored} of ${n} vectors`);
  } finally {
    await r.quit();
  }
}
