import * as path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'must be a number' : undefined) })
    .int('must be an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const envSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
    .default('rec'),
  EMBEDDING_MODEL: z.string().min(1).default('google/use-lite'),
  EMBEDDING_DTYPE: z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'auto']).default('fp32'),
  MODEL_DIR: z.string().min(1).default('./models'),
  ALLOW_REMOTE_MODELS: bool.default(false),
  INDEX_DIR: z.string().min(1).default('./data/index'),
  ADMIN_API_KEY: z.string({ error: 'is required' }).min(16, 'must be at least 16 characters'),
  EMBED_BATCH_SIZE: int(1, 1024).default(32),
  EMBED_CONCURRENCY: int(1, 1024).default(64),
  HNSW_M: int(4, 128).default(16),
  HNSW_EF_CONSTRUCTION: int(10, 2000).default(200),
  HNSW_EF_SEARCH: int(10, 5000).default(64),
  // Neighbour lists of context items kept per API replica and catalogue, at 400 neighbours (~6 KB) each in all (a longer
  // list counts for several), kept exact as vectors change, so recommendations around an item need no graph walk (0: off).
  NEIGHBOUR_CACHE_ITEMS: int(0, 10_000_000).default(10_000),
  SNAPSHOT_INTERVAL_SECONDS: int(0, 86400).default(300),
  BODY_LIMIT_BYTES: int(1024, 512 * 1024 * 1024).default(16 * 1024 * 1024),
  API_WORKERS: int(1, 64).default(1),
  // One worker replica at a time consumes events (per-user order, exactly-once); a lapsed lease passes on.
  SIGNALS_LEASE_MS: int(1000, 600_000).default(15_000),
  // Popularity and trending pages read within this long share one Redis read per API replica (0: read every time).
  SIGNALS_CACHE_MS: int(0, 60_000).default(1_000),
  // A served list lives this long: its cursor continues it, and events carrying its recommId count for its
  // experiment variant (the attribution window). Every recommendation stores one (a few hundred bytes).
  RECOMMENDATION_TTL_SECONDS: int(60, 30 * 86400).default(30 * 60),
  // The worker retrains a catalogue's `collaborative` model this often when events were applied since (0: only on
  // POST …/models/collaborative/train); API replicas look for a newer model every COLLAB_REFRESH_MS.
  COLLAB_TRAIN_INTERVAL_SECONDS: int(0, 7 * 86400).default(600),
  COLLAB_REFRESH_MS: int(100, 3_600_000).default(5_000),
  // Items the model covers at most (the most used; training time grows with the cube: ~4 s at 1,500 items, ~15 s at 2,500 on 2 cores).
  COLLAB_MAX_ITEMS: int(2, 10_000).default(2500),
  // Histories one training reads at most (SCAN order: a sample once there are more; the Gram matrix costs Σ length²).
  COLLAB_MAX_HISTORIES: int(100, 10_000_000).default(200_000),
  // Requests per client IP per window over all /v1 routes, counted in Redis so every replica shares one budget (0: off).
  RATE_LIMIT: int(0, 10_000_000).default(0),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  // Behind a reverse proxy or load balancer: take the client IP from X-Forwarded-For (rate limits count per client).
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
});

export type AppConfig = z.infer<typeof envSchema> & { MODEL_DIR_ABS: string; INDEX_DIR_ABS: string };

export class ConfigError extends Error {}

/** Parses and validates the environment once; throws a ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k in envSchema.shape && v !== undefined && v !== ''),
  );
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  return {
    ...result.data,
    MODEL_DIR_ABS: path.resolve(result.data.MODEL_DIR),
    INDEX_DIR_ABS: path.resolve(result.data.INDEX_DIR),
  };
}

let cached: AppConfig | undefined;

export function loadConfig(): AppConfig {
  cached ??= parseConfig();
  return cached;
}

/** Entry points call this: a bad value stops the process with one line that names the variable. */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
}

export const APP_CONFIG = Symbol('APP_CONFIG');
