import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureUseLiteModel } from './build-model';
import { cosine, embedInBatches, loadUseLite, UseLitePipeline } from './embed-pipeline';

interface Reference {
  sentences: string[];
  ids: number[][];
  embeddings: number[][];
}

const REFERENCE = process.env.SHARED_DIR
  ? path.join(process.env.SHARED_DIR, 'data/use-lite-reference/reference.json')
  : path.resolve(__dirname, '../../../../shared/data/use-lite-reference/reference.json');

const stats = (xs: number[]) => ({ min: Math.min(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length });

jest.setTimeout(300_000);

describe('google/use-lite conversion vs the TF.js reference', () => {
  let root: string;
  let ref: Reference;
  let buildSeconds: number;
  const pipes: Partial<Record<'fp32' | 'q8', UseLitePipeline>> = {};
  const batched: Partial<Record<'fp32' | 'q8', number[][]>> = {};

  beforeAll(async () => {
    ref = JSON.parse(readFileSync(REFERENCE, 'utf8')) as Reference;
    root = await mkdtemp(path.join(os.tmpdir(), 'use-lite-'));
    const t0 = performance.now();
    const res = await ensureUseLiteModel(root);
    buildSeconds = (performance.now() - t0) / 1000;
    expect(res.built).toBe(true);
    for (const dtype of ['fp32', 'q8'] as const) {
      pipes[dtype] = await loadUseLite(root, dtype);
      batched[dtype] = await embedInBatches(pipes[dtype], ref.sentences, 32);
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(pipes).map((p) => p.dispose()));
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('has the full reference set', () => {
    expect(ref.sentences).toHaveLength(308);
    expect(ref.ids).toHaveLength(308);
    expect(ref.embeddings).toHaveLength(308);
  });

  it('builds in seconds and is a no-op the second time', async () => {
    console.log(`build: ${buildSeconds.toFixed(2)} s`);
    expect(buildSeconds).toBeLessThan(30);
    await expect(ensureUseLiteModel(root)).resolves.toEqual({
      built: false,
      dir: path.join(root, 'google/use-lite'),
    });
  });

  it('tokenizes every reference sentence to the reference ids', () => {
    const tok = pipes.fp32!;
    const mismatches = ref.sentences
      .map((s, i) => ({ i, s, ours: tok.encode(s), theirs: ref.ids[i] }))
      .filter((m) => JSON.stringify(m.ours) !== JSON.stringify(m.theirs));
    console.log(`token ids identical: ${ref.sentences.length - mismatches.length}/${ref.sentences.length}`);
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['fp32', 0.9999],
    ['q8', 0.998],
  ] as const)('%s embeddings reach cosine >= %d for every sentence', (dtype, floor) => {
    const cos = batched[dtype]!.map((v, i) => cosine(v, ref.embeddings[i]));
    const { min, mean } = stats(cos);
    console.log(`${dtype} cosine vs reference: min ${min} mean ${mean}`);
    const below = cos.map((c, i) => ({ c, s: ref.sentences[i] })).filter((x) => !(x.c >= floor));
    expect(below).toEqual([]);
  });

  it.each(['fp32', 'q8'] as const)(
    '%s: batches of 32 with mixed lengths equal one-at-a-time results',
    async (dtype) => {
      const pipe = pipes[dtype]!;
      const cos: number[] = [];
      for (let i = 0; i < ref.sentences.length; i++) {
        const [single] = await pipe.embed([ref.sentences[i]]);
        cos.push(cosine(single, batched[dtype]![i]));
      }
      console.log(`${dtype} batched vs single: min cosine ${stats(cos).min}`);
      expect(stats(cos).min).toBeGreaterThan(0.99999);
    },
  );

  it('left padding gives the same result as right padding', async () => {
    const pipe = pipes.fp32!;
    const texts = ref.sentences.slice(0, 32);
    pipe.setPaddingSide('left');
    try {
      const left = await pipe.embed(texts);
      const cos = left.map((v, i) => cosine(v, batched.fp32![i]));
      console.log(`left vs right padding: min cosine ${stats(cos).min}`);
      expect(stats(cos).min).toBeGreaterThan(0.99999);
    } finally {
      pipe.setPaddingSide('right');
    }
  });

  it('ranks a paraphrase well above an unrelated product', async () => {
    const [a, b, c] = await pipes.fp32!.embed([
      'red running shoes',
      'crimson sneakers for jogging',
      'stainless steel frying pan',
    ]);
    const ab = cosine(a, b);
    const ac = cosine(a, c);
    const bc = cosine(b, c);
    console.log(`similarity: shoes~sneakers ${ab}, shoes~pan ${ac}, sneakers~pan ${bc}`);
    expect(ab).toBeGreaterThan(ac + 0.2);
    expect(ab).toBeGreaterThan(bc + 0.2);
  });
});
