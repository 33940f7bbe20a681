import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { modelConfig } from './hf-config';
import { useLiteParams } from './model-params';
import { buildUseLiteOnnx } from './onnx-graph';
import { packageDistDir, packageVersion, PACKAGE_NAME, readTfjsWeights } from './tfjs-weights';
import { readVocab, SPECIAL_TOKENS, tokenizerConfig, tokenizerJson } from './tokenizer-json';

// Bump when the output of the converter changes, so existing model folders get rebuilt.
export const CONVERTER_VERSION = 1;
export const MODEL_ID = 'google/use-lite';

const BUILD_INFO = '.build-info.json';
const FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'onnx/model.onnx',
  'onnx/model_quantized.onnx',
];

interface BuildInfo {
  package: string;
  packageVersion: string;
  converterVersion: number;
  files: string[];
}

export interface EnsureOptions {
  force?: boolean;
  log?: (line: string) => void;
}

async function isComplete(dir: string, expected: BuildInfo): Promise<boolean> {
  try {
    const info = JSON.parse(await readFile(path.join(dir, BUILD_INFO), 'utf8')) as BuildInfo;
    return (
      info.package === expected.package &&
      info.packageVersion === expected.packageVersion &&
      info.converterVersion === expected.converterVersion &&
      FILES.every((f) => existsSync(path.join(dir, f)))
    );
  } catch {
    return false;
  }
}

const json = (v: object, indent = 2): string => `${JSON.stringify(v, null, indent)}\n`;

export async function writeUseLiteModel(dir: string, info: BuildInfo): Promise<void> {
  const distDir = packageDistDir();
  const [weights, vocab] = await Promise.all([readTfjsWeights(distDir), readVocab(distDir)]);
  const params = useLiteParams(weights);
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  await writeFile(path.join(dir, 'config.json'), json(modelConfig(params, vocab.length)));
  await writeFile(path.join(dir, 'tokenizer.json'), json(tokenizerJson(vocab), 1));
  await writeFile(path.join(dir, 'tokenizer_config.json'), json(tokenizerConfig(params.maxLen)));
  await writeFile(path.join(dir, 'special_tokens_map.json'), json(SPECIAL_TOKENS));
  await writeFile(path.join(dir, 'onnx/model.onnx'), buildUseLiteOnnx(params, 'fp32'));
  await writeFile(path.join(dir, 'onnx/model_quantized.onnx'), buildUseLiteOnnx(params, 'int8'));
  await writeFile(path.join(dir, BUILD_INFO), json(info));
}

export async function ensureUseLiteModel(
  modelsRoot: string,
  opts: EnsureOptions = {},
): Promise<{ built: boolean; dir: string }> {
  const dir = path.resolve(modelsRoot, MODEL_ID);
  const info: BuildInfo = {
    package: PACKAGE_NAME,
    packageVersion: await packageVersion(),
    converterVersion: CONVERTER_VERSION,
    files: FILES,
  };
  if (!opts.force && (await isComplete(dir, info))) return { built: false, dir };

  const started = Date.now();
  await mkdir(path.dirname(dir), { recursive: true });
  // Build beside the target (same filesystem) so the final rename is atomic.
  const tmp = `${dir}.tmp-${process.pid}-${randomUUID()}`;
  try {
    await writeUseLiteModel(tmp, info);
    const old = `${dir}.old-${process.pid}-${randomUUID()}`;
    if (existsSync(dir)) await rename(dir, old);
    await rename(tmp, dir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // A concurrent builder may have won the rename; its complete folder is as good as ours.
    if (await isComplete(dir, info)) return { built: false, dir };
    throw err;
  }
  opts.log?.(
    `built ${MODEL_ID} from ${PACKAGE_NAME}@${info.packageVersion} into ${dir} in ${Date.now() - started} ms`,
  );
  return { built: true, dir };
}

/** A complete model folder that this converter did not write (e.g. a shared, read-only copy) is used as it is. */
function providedElsewhere(root: string): boolean {
  const dir = path.resolve(root, MODEL_ID);
  return !existsSync(path.join(dir, BUILD_INFO)) && FILES.every((f) => existsSync(path.join(dir, f)));
}

if (require.main === module) {
  const root = process.env.MODEL_DIR ?? './models';
  const force = process.argv.includes('--force');
  if (!force && providedElsewhere(root)) {
    console.log(`${MODEL_ID} is provided in ${path.resolve(root, MODEL_ID)}; not converting`);
    process.exit(0);
  }
  ensureUseLiteModel(root, { force })
    .then(({ built, dir }) =>
      console.log(built ? `built ${MODEL_ID} into ${dir}` : `${MODEL_ID} up to date in ${dir}`),
    )
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
