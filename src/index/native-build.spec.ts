import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readBuild, sameBuild, wantedMarch } from './native-build';

describe('wantedMarch', () => {
  it('builds for this CPU unless told otherwise', () => {
    expect(wantedMarch({}, 'linux')).toBe('native');
    expect(wantedMarch({ HNSWLIB_NO_NATIVE: '' }, 'linux')).toBe('native');
    expect(wantedMarch({ HNSWLIB_NO_NATIVE: '0' }, 'linux')).toBe('native');
    expect(wantedMarch({ HNSWLIB_NO_NATIVE: 'false' }, 'darwin')).toBe('native');
  });

  it('keeps the portable build when HNSWLIB_NO_NATIVE is set, and on Windows', () => {
    expect(wantedMarch({ HNSWLIB_NO_NATIVE: '1' }, 'linux')).toBeNull();
    expect(wantedMarch({ HNSWLIB_NO_NATIVE: 'yes', HNSWLIB_MARCH: 'x86-64-v3' }, 'linux')).toBeNull();
    expect(wantedMarch({}, 'win32')).toBeNull();
  });

  it('takes an explicit -march and refuses anything that is not one', () => {
    expect(wantedMarch({ HNSWLIB_MARCH: 'x86-64-v3' }, 'linux')).toBe('x86-64-v3');
    expect(wantedMarch({ HNSWLIB_MARCH: ' armv8.2-a+fp16 ' }, 'linux')).toBe('armv8.2-a+fp16');
    expect(() => wantedMarch({ HNSWLIB_MARCH: 'native -O0' }, 'linux')).toThrow(/not a -march value/);
    expect(() => wantedMarch({ HNSWLIB_MARCH: '$(rm -rf /)' }, 'linux')).toThrow(/not a -march value/);
  });
});

describe('build marker', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'recsvc-native-build-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const want = { march: 'native', hnswlibVersion: '3.0.0', abi: '115' };

  it('an unmarked build is the portable one', () => {
    expect(readBuild(dir)).toBeNull();
    expect(sameBuild(null, { ...want, march: null })).toBe(true);
    expect(sameBuild(null, want)).toBe(false);
  });

  it('a marked build matches only the same flags, package version and Node ABI', () => {
    mkdirSync(path.join(dir, 'build'));
    writeFileSync(path.join(dir, 'build', 'recsvc-build.json'), JSON.stringify(want));
    const built = readBuild(dir);
    expect(built).toEqual(want);
    expect(sameBuild(built, want)).toBe(true);
    expect(sameBuild(built, { ...want, march: 'x86-64-v3' })).toBe(false);
    expect(sameBuild(built, { ...want, march: null })).toBe(false);
    expect(sameBuild(built, { ...want, hnswlibVersion: '3.0.1' })).toBe(false);
    expect(sameBuild(built, { ...want, abi: '127' })).toBe(false);
  });
});
