// Load generator in its own process (autocannon), so it never shares an event loop with a server.
// Input: the path of a JSON file (LoadSpec); output: one JSON line (LoadResult) on stdout.
import * as fs from 'node:fs';
import type { LoadResult, LoadSpec } from './lib/load';

interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}
interface AutocannonInstance {
  on(event: 'response', cb: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
interface AutocannonResult {
  requests: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  throughput: { average: number };
}
type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, res: AutocannonResult) => void,
) => AutocannonInstance;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

function run(spec: LoadSpec, seconds: number, latencies?: number[], statuses?: Map<number, number>) {
  let next = 0;
  return new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        ...(spec.rate ? { overallRate: spec.rate } : {}),
        method: spec.method,
        headers: spec.headers,
        requests: [
          {
            setupRequest: (req: AutocannonRequest) => {
              const i = next++;
              return {
                ...req,
                method: spec.method,
                path: spec.paths[i % spec.paths.length],
                body: spec.bodies ? spec.bodies[i % spec.bodies.length] : undefined,
              };
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      latencies?.push(ms);
      statuses?.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as LoadSpec;
  if (spec.warmup > 0) await run(spec, spec.warmup);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const res = await run(spec, spec.duration, latencies, statuses);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  const ok = statuses.get(200) ?? 0;
  const result: LoadResult = {
    requests: latencies.length,
    rps: latencies.length / seconds,
    okRps: ok / seconds,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: latencies[latencies.length - 1],
    errors: res.errors + res.timeouts,
    non2xx: res.non2xx,
    statuses: Object.fromEntries(statuses),
    bytesPerSecond: res.throughput.average,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`load generator failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
