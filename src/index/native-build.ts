// Rebuilds hnswlib-node for this machine's CPU at install time (`npm ci` runs it after the TypeScript build).
//
// hnswlib-node compiles hnswlib from source with no -m flags, so its distance functions use SSE only. Built with
// -march=native they use AVX2/AVX-512 (hnswlib picks them when the compiler enables them), which made a realistic
// recommendation at 100k items about 10-25% cheaper in CPU on our 2-core machines. Upstream hnswlib's Python package
// makes the same choice (-march=native unless HNSWLIB_NO_NATIVE is set); we use the same variable name.
//
// The binary then only runs on CPUs with the build machine's instruction sets. That is the normal case for
// `npm ci` on the host that runs the service; a container image built on one machine and run on others should set
// HNSWLIB_NO_NATIVE=1 (our Dockerfile does) or HNSWLIB_MARCH to the oldest CPU it will meet (e.g. x86-64-v3).
//
// A failed rebuild never fails the install: if the rebuild or a smoke test of the new binary fails, the previous
// binary is put back. Only an HNSWLIB_MARCH that is not a -march value stops it.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MARKER = 'recsvc-build.json';

export interface NativeBuild {
  /** The -march value hnswlib-node was compiled with; null = the package's own flags (portable). */
  march: string | null;
  hnswlibVersion: string;
  /** Node's ABI version the addon was built for (a Node upgrade rebuilds it anyway; the marker must follow). */
  abi: string;
}

/** What -march to build with, from the environment: null keeps the package's portable build. */
export function wantedMarch(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): string | null {
  const off = env.HNSWLIB_NO_NATIVE;
  if (off !== undefined && off !== '' && off !== '0' && off.toLowerCase() !== 'false') return null;
  // MSVC (node-gyp on Windows) ignores CXXFLAGS.
  if (platform === 'win32') return null;
  const march = (env.HNSWLIB_MARCH ?? '').trim() || 'native';
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(march)) {
    throw new Error(`HNSWLIB_MARCH=${JSON.stringify(march)} is not a -march value (e.g. native, x86-64-v3)`);
  }
  return march;
}

/** The marker a build left; null when there is none (the package's own portable build, or an unreadable marker). */
export function readBuild(pkgDir: string): NativeBuild | null {
  try {
    return JSON.parse(readFileSync(path.join(pkgDir, 'build', MARKER), 'utf8')) as NativeBuild;
  } catch {
    return null;
  }
}

export function sameBuild(a: NativeBuild | null, b: NativeBuild): boolean {
  if (a === null) return b.march === null;
  return a.march === b.march && a.hnswlibVersion === b.hnswlibVersion && a.abi === b.abi;
}

// Loads the addon in a fresh process and checks that a small index finds each vector as its own nearest
// neighbour: an illegal instruction or a miscompiled distance function fails here, not in the service.
const SMOKE_TEST = `
const { HierarchicalNSW } = require('hnswlib-node');
const dim = 96, n = 300;
const idx = new HierarchicalNSW('cosine', dim);
idx.initIndex(n, 16, 100, 1);
let s = 7;
const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
const vs = [];
for (let i = 0; i < n; i++) { const v = Array.from({ length: dim }, rnd); vs.push(v); idx.addPoint(v, i); }
let ok = 0;
for (let i = 0; i < n; i++) if (idx.searchKnn(vs[i], 1).neighbors[0] === i) ok++;
if (ok < n * 0.99) { console.error('smoke test: ' + ok + '/' + n + ' vectors found themselves'); process.exit(1); }
`;

function smokeTest(cwd: string): boolean {
  const r = spawnSync(process.execPath, ['-e', SMOKE_TEST], { cwd, stdio: 'inherit' });
  return r.status === 0;
}

/** How a build was compiled, in words (install log, bench report). */
export const describeBuild = (march: string | null): string =>
  march ? `with -march=${march}` : 'portable, SSE only';

function npmCommand(): { cmd: string; args: string[] } {
  // Inside an npm script, npm_execpath is the npm that runs us (same config: nodedir, offline settings).
  const execpath = process.env.npm_execpath;
  if (execpath && /\.(c|m)?js$/.test(execpath)) return { cmd: process.execPath, args: [execpath] };
  return { cmd: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

export function ensureNativeBuild(log: (line: string) => void = (l) => console.log(l)): void {
  const root = path.resolve(__dirname, '../../..');
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('hnswlib-node/package.json', { paths: [root] }));
  } catch {
    log('[native-build] hnswlib-node is not installed; nothing to do');
    return;
  }
  const march = wantedMarch(process.env);
  const hnswlibVersion = (
    JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const want: NativeBuild = { march, hnswlibVersion, abi: process.versions.modules };
  const addon = path.join(pkgDir, 'build', 'Release', 'addon.node');
  const marker = path.join(pkgDir, 'build', MARKER);
  const previous = readBuild(pkgDir);
  if (sameBuild(previous, want) && existsSync(addon)) {
    log(`[native-build] hnswlib-node already built ${describeBuild(march)}`);
    return;
  }
  const backupDir = mkdtempSync(path.join(os.tmpdir(), 'recsvc-hnswlib-'));
  const backup = path.join(backupDir, 'addon.node');
  const hadAddon = existsSync(addon);
  if (hadAddon) copyFileSync(addon, backup);
  // node-gyp rebuild starts from an empty build folder: put back the binary and the marker that described it.
  const restore = (why: string) => {
    log(`[native-build] ${why}; keeping the previous build (${describeBuild(previous?.march ?? null)})`);
    if (!hadAddon) return;
    mkdirSync(path.dirname(addon), { recursive: true });
    copyFileSync(backup, addon);
    if (previous) writeFileSync(marker, JSON.stringify(previous, null, 2) + '\n');
  };
  try {
    const flags = [process.env.CXXFLAGS ?? '', march ? `-march=${march}` : ''].join(' ').trim();
    log(`[native-build] rebuilding hnswlib-node ${hnswlibVersion} with CXXFLAGS="${flags}"`);
    const npm = npmCommand();
    const started = Date.now();
    const r = spawnSync(npm.cmd, [...npm.args, 'rebuild', 'hnswlib-node', '--foreground-scripts'], {
      cwd: root,
      env: { ...process.env, CXXFLAGS: flags },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0 || !existsSync(addon)) {
      log(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n'));
      return restore(`rebuild failed (exit ${r.status ?? r.signal})`);
    }
    if (!smokeTest(root)) return restore('the rebuilt addon failed its smoke test');
    writeFileSync(marker, JSON.stringify(want, null, 2) + '\n');
    log(`[native-build] done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    restore(`rebuild failed: ${(err as Error).message}`);
  } finally {
    rmSync(backupDir, { recursive: true, force: true });
  }
}

if (require.main === module) ensureNativeBuild();
