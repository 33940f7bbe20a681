import { replicaEnv, replicaExecArgv } from './replica-flags';

describe('replicaExecArgv', () => {
  it("gives each replica its share of the cores' background threads", () => {
    expect(replicaExecArgv([], undefined, 2, 2)).toEqual(['--v8-pool-size=1']);
    expect(replicaExecArgv(['--enable-source-maps'], '', 4, 16)).toEqual([
      '--enable-source-maps',
      '--v8-pool-size=4',
    ]);
    expect(replicaExecArgv([], undefined, 8, 2)).toEqual(['--v8-pool-size=1']);
  });

  it("keeps the operator's own --v8-pool-size", () => {
    expect(replicaExecArgv(['--v8-pool-size=3'], undefined, 2, 2)).toEqual(['--v8-pool-size=3']);
    expect(replicaExecArgv([], '--max-old-space-size=4096 --v8-pool-size=2', 2, 2)).toEqual([]);
  });
});

describe('replicaEnv', () => {
  it('asks glibc for huge pages on Linux, keeping other tunables and variables', () => {
    expect(replicaEnv({ PORT: '1' }, 'linux')).toEqual({
      PORT: '1',
      GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
    });
    expect(replicaEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES).toBe(
      'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1',
    );
  });

  it("keeps the operator's own hugetlb choice, and leaves other platforms alone", () => {
    const off = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' };
    expect(replicaEnv(off, 'linux')).toBe(off);
    const env = { PORT: '1' };
    expect(replicaEnv(env, 'darwin')).toBe(env);
  });
});
