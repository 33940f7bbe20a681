import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Where a frame's code lives: a package, node internals, our code, or V8's own buckets. */
function owner(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/src/') || url.includes('/src/')) return 'recsvc (src/)';
  return path.basename(url);
}

/** A self-time summary of a .cpuprofile in words: top owners and top functions, as % of busy samples. */
export function summariseProfile(file: string, top = 12): { text: string; owners: [string, number][] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFn = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let busy = 0;
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    busy += hits;
    let name = `${functionName || '(anonymous)'}${url ? ` ${path.basename(url)}:${lineNumber + 1}` : ''}`;
    // A native frame (hnswlib's searchKnn, a socket write) is named after its nearest JavaScript caller.
    let parent = url || functionName.startsWith('(') ? undefined : parentOf.get(n.id);
    while (parent && !parent.callFrame.url) parent = parentOf.get(parent.id);
    if (parent) {
      const c = parent.callFrame;
      name = `${name} called from ${c.functionName || '(anonymous)'} ${path.basename(c.url)}:${c.lineNumber + 1}`;
    } else if (!url && !functionName) {
      name = '(native code with no JavaScript caller: I/O, event loop)';
    }
    const o = owner(url, functionName);
    byFn.set(`${name} [${o}]`, (byFn.get(`${name} [${o}]`) ?? 0) + hits);
    byOwner.set(o, (byOwner.get(o) ?? 0) + hits);
  }
  const pct = (x: number) => `${((100 * x) / Math.max(1, busy)).toFixed(1)}%`;
  const owners = [...byOwner].sort((a, b) => b[1] - a[1]);
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top);
  const text = [
    `Self time by owner (of busy samples): ${owners
      .slice(0, 10)
      .map(([o, h]) => `${o} ${pct(h)}`)
      .join(', ')}.`,
    `Top functions: ${fns.map(([f, h]) => `${f} ${pct(h)}`).join('; ')}.`,
  ].join(' ');
  return { text, owners: owners.map(([o, h]) => [o, h / Math.max(1, busy)]) };
}
