/**
 * Node flags for the replicas. V8 gives every process 4 background threads (concurrent marking, parallel
 * scavenges); with one replica per core they compete with the other replicas' request threads, and those bursts
 * were the recommendation tail (bench: realistic config at 480 req/s on 2 cores, p99 41-50 ms → 22-30 ms with one
 * thread per replica). So each replica gets its share of the cores, unless the operator set --v8-pool-size already.
 */
export function replicaExecArgv(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  workers: number,
  cores: number,
): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) =>
    a.startsWith('--v8-pool-size'),
  );
  return given ? [...execArgv] : [...execArgv, `--v8-pool-size=${Math.max(1, Math.floor(cores / workers))}`];
}
