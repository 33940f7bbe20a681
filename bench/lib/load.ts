import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { log, processTreeCpuMs, ROOT, startChild } from './util';

export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds measured, after `warmup` seconds that are not. */
  duration: number;
  warmup: number;
  method: 'GET' | 'POST';
  /** Rotated through, one per request. */
  paths: string[];
  bodies?: string[];
  /** Open loop at this many requests/s, evenly spaced (node:http client); unset: autocannon closed loop. */
  rate?: number;
  headers: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  rps: number;
  /** Requests/s answered 200. */
  okRps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  statuses: Record<string, number>;
  bytesPerSecond: number;
  /**
   * Share of the machine's CPU time (all cores, every process: servers, generator, Redis) that was busy over the run,
   * warm-up included, from /proc/stat; undefined off Linux. A fixed rate at "half peak" is not half the machine.
   */
  machineBusy?: number;
  /** The generator's own CPU per request over the measured part of a fixed-rate run. */
  generatorCpuMsPerRequest?: number;
}

/** Busy and total CPU time of the whole machine so far (/proc/stat, Linux only). */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are the not-busy ones.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - fields[3] - fields[4], total };
  } catch {
    return undefined;
  }
}

/** Runs autocannon in a child process against `spec.url` and returns its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let out = '';
  // The spec (with up to 1,000 request bodies) goes through a file: argv has a size limit.
  const specFile = path.join(os.tmpdir(), `recsvc-load-${process.pid}-${Date.now()}.json`);
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const before = cpuTimes();
  const child = startChild(
    ['--import', 'tsx', path.join(ROOT, 'bench/load-child.ts'), specFile],
    {},
    {
      stdout: (chunk) => {
        out += chunk;
      },
    },
  );
  const code = await new Promise<number | null>((r) => child.proc.once('exit', (c) => r(c)));
  fs.rmSync(specFile, { force: true });
  if (code !== 0) throw new Error(`load generator exited ${code}:\n${child.tail()}`);
  const after = cpuTimes();
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
  if (before && after && after.total > before.total) {
    result.machineBusy = (after.busy - before.busy) / (after.total - before.total);
  }
  if (result.non2xx > 0 || result.errors > 0) {
    log(
      `load: ${result.non2xx} non-2xx, ${result.errors} errors; statuses ${JSON.stringify(result.statuses)}`,
    );
  }
  return result;
}

/**
 * A fixed-rate run (`spec.rate` set) and the CPU the server's process tree `pid` spent per request meanwhile (all
 * replicas, /proc; undefined off Linux). Warm-up requests were served too, so they count (rate × warm-up seconds).
 */
export async function runAtRateWithCpu(
  spec: LoadSpec & { rate: number },
  pid: number,
): Promise<LoadResult & { cpuMsPerRequest?: number }> {
  const before = processTreeCpuMs(pid);
  const result = await runLoad(spec);
  const after = processTreeCpuMs(pid);
  const served = result.requests + spec.rate * spec.warmup;
  const cpuMsPerRequest =
    before !== undefined && after !== undefined && served > 0 ? (after - before) / served : undefined;
  return { ...result, cpuMsPerRequest };
}
