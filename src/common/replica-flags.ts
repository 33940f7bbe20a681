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

const HUGETLB = 'glibc.malloc.hugetlb';

/**
 * Environment for the replicas: glibc's malloc marks its large blocks for transparent huge pages
 * (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, glibc ≥ 2.35; ignored elsewhere). The HNSW graph and its vectors are one
 * such block, hundreds of MB at 100k items, and a search reads a few thousand vectors scattered across it: on 4 KiB
 * pages most reads also miss the TLB. Huge pages made a 278-neighbour walk at 100k items 10-15% faster (bench
 * machine, THP in `madvise` mode). Left alone when the operator already chose a hugetlb setting (e.g. `=0` to turn it
 * off) and off Linux. The tunable is read when a process starts, so a single replica (API_WORKERS=1) needs it from
 * its environment (our Docker image sets it).
 */
export function replicaEnv(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): NodeJS.ProcessEnv {
  if (platform !== 'linux') return env;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.split(':').some((t) => t.trim().startsWith(`${HUGETLB}=`))) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGETLB}=1` : `${HUGETLB}=1` };
}
