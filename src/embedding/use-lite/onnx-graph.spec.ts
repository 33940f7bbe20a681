import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { useLiteParams, UseLiteParams } from './model-params';
import { buildUseLiteOnnx, Precision } from './onnx-graph';
import { readTfjsWeights } from './tfjs-weights';

const VERIFIED = process.env.SHARED_DIR
  ? path.join(process.env.SHARED_DIR, 'models/google/use-lite/onnx')
  : path.resolve(__dirname, '../../../../shared/models/google/use-lite/onnx');

const FILE: Record<Precision, string> = { fp32: 'model.onnx', int8: 'model_quantized.onnx' };

const digest = (t: onnx.ITensorProto) =>
  `${t.dataType}:${(t.dims ?? []).join('x')}:${createHash('sha1').update(t.rawData!).digest('hex')}`;

describe('buildUseLiteOnnx', () => {
  let params: UseLiteParams;
  const graphs: Partial<Record<Precision, onnx.IGraphProto>> = {};

  beforeAll(async () => {
    params = useLiteParams(await readTfjsWeights());
    for (const precision of ['fp32', 'int8'] as const)
      graphs[precision] = onnx.ModelProto.decode(buildUseLiteOnnx(params, precision)).graph!;
  });

  it('reads the TF graph constants from the package', () => {
    expect(params.layers.map((l) => [l.dim, l.heads, l.headDim, l.qScale])).toEqual([
      [512, 4, 64, 0.125],
      [512, 4, 128, Math.fround(1 / Math.sqrt(128))],
    ]);
    expect(params.layers[0].residual).toBeDefined();
    expect(params.layers[1].residual).toBeUndefined();
    expect([params.vocabRows, params.embDim, params.maxLen]).toEqual([8002, 256, 128]);
  });

  it.each(['fp32', 'int8'] as const)('%s exposes the transformers.js interface', (precision) => {
    const g = graphs[precision]!;
    expect(g.input!.map((v) => [v.name, v.type!.tensorType!.elemType])).toEqual([
      ['input_ids', onnx.TensorProto.DataType.INT64],
      ['attention_mask', onnx.TensorProto.DataType.INT64],
    ]);
    expect(g.output!.map((v) => v.name)).toEqual(['last_hidden_state', 'sentence_embedding']);
  });

  it('int8 dequantizes with the column scale before the row scale (avoids the broken ORT fusion)', () => {
    const g = graphs.int8!;
    const inits = new Set(g.initializer!.map((t) => t.name));
    const consumer = (out: string) => g.node!.find((n) => n.input!.includes(out))!;
    const mmis = g.node!.filter((n) => n.opType === 'MatMulInteger');
    expect(mmis).toHaveLength(14);
    for (const mmi of mmis) {
      const cast = consumer(mmi.output![0]);
      const colScale = consumer(cast.output![0]);
      const rowScale = consumer(colScale.output![0]);
      expect([cast.opType, colScale.opType, rowScale.opType]).toEqual(['Cast', 'Mul', 'Mul']);
      expect(inits.has(colScale.input![1])).toBe(true);
      expect(inits.has(rowScale.input![1])).toBe(false);
    }
    const floatWeights = g.node!.filter((n) => n.opType === 'MatMul' && n.input!.some((i) => inits.has(i)));
    expect(floatWeights).toEqual([]);
  });

  const verifiedPresent = existsSync(path.join(VERIFIED, FILE.fp32));
  (verifiedPresent ? it.each(['fp32', 'int8'] as const) : it.skip.each(['fp32', 'int8'] as const))(
    '%s: every initializer is bit-identical to one in the verified conversion',
    (precision) => {
      const verified = onnx.ModelProto.decode(readFileSync(path.join(VERIFIED, FILE[precision]))).graph!;
      const known = new Set(verified.initializer!.map(digest));
      const ours = graphs[precision]!;
      const strangers = ours.initializer!.filter((t) => !known.has(digest(t))).map((t) => t.name);
      expect(strangers).toEqual([]);
      expect(ours.node!.length).toBe(verified.node!.length);
    },
  );
});
