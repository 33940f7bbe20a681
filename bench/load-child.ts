// Load generator in its own process (autocannon), so it never shares an event loop with a server.
// Input: the path of a JSON file (LoadSpec); output: one JSON line (LoadResult) on stdout.
import * as fs from 'node:fs';
import * as http from 'node:http';
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

/**
 * Open loop at a fixed rate, evenly spaced (autocannon's overallRate sends each connection's quota in a
 * burst every second). Latency counts from the scheduled send time (or the send, if that was early), so a stalled
 * server is not hidden.
 */
async function openLoop(
  spec: LoadSpec,
  seconds: number,
  latencies?: number[],
  statuses?: Map<number, number>,
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const target = new URL(spec.url);
  const interval = 1000 / spec.rate!;
  const total = Math.round(seconds * spec.rate!);
  const started = performance.now();
  let errors = 0;
  const pending: Promise<void>[] = [];
  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      // Counted from the scheduled time when the send is late (the server may have stalled the loop), from the send
      // itself when it is early (timers fire up to a millisecond early): never from before the request left.
      const from = Math.max(due, performance.now());
      const body = spec.bodies?.[i % spec.bodies.length];
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: spec.method,
          path: spec.paths[i % spec.paths.length],
          headers: body ? { ...spec.headers, 'content-length': Buffer.byteLength(body) } : spec.headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies?.push(performance.now() - from);
            statuses?.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i, due));
  }
  await Promise.all(pending);
  agent.destroy();
  return { errors, seconds: (performance.now() - started) / 1000 };
}

function summary(
  latencies: number[],
  statuses: Map<number, number>,
  seconds: number,
  errors: number,
  bytesPerSecond: number,
): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  const ok = statuses.get(200) ?? 0;
  let non2xx = 0;
  for (const [status, n] of statuses) if (status < 200 || status >= 300) non2xx += n;
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    okRps: ok / seconds,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: latencies[latencies.length - 1],
    errors,
    non2xx,
    statuses: Object.fromEntries(statuses),
    bytesPerSecond,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as LoadSpec;
  if (spec.rate) {
    if (spec.warmup > 0) await openLoop(spec, spec.warmup);
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const cpu0 = process.cpuUsage();
    const res = await openLoop(spec, spec.duration, latencies, statuses);
    const cpu = process.cpuUsage(cpu0);
    const out = summary(latencies, statuses, res.seconds, res.errors, 0);
    out.generatorCpuMsPerRequest = (cpu.user + cpu.system) / 1000 / Math.max(1, out.requests);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (spec.warmup > 0) await run(spec, spec.warmup);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const res = await run(spec, spec.duration, latencies, statuses);
  const seconds = (performance.now() - started) / 1000;
  const result = summary(latencies, statuses, seconds, res.errors + res.timeouts, res.throughput.average);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`load generator failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
