import { replicaExecArgv } from './replica-flags';

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
