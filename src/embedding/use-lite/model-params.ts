import { floatData, scalar, TfjsWeights, weight } from './tfjs-weights';

export interface Dense {
  w: Float32Array;
  inDim: number;
  outDim: number;
  b: Float32Array;
}

export interface LayerParams {
  dim: number;
  residual?: Dense;
  ln: { scale: Float32Array; bias: Float32Array };
  qkv: Dense;
  qkvSplit: [number, number, number];
  heads: number;
  headDim: number;
  qScale: number;
  out: Dense;
  ffnLn: { scale: Float32Array; bias: Float32Array };
  conv1: Dense;
  conv2: Dense;
}

export interface UseLiteParams {
  vocabRows: number;
  embDim: number;
  embeddings: Float32Array;
  invTimescales: Float32Array;
  maxLen: number;
  lnEps: number;
  attentionBias: number;
  l2Eps: number;
  layers: LayerParams[];
  tanh: Dense;
}

const ENC = 'Encoder_en/KonaTransformer/Encode';

// Conv kernels are [1,1,in,out] and Tensordot kernels [in,out]: both are row-major in->out matrices.
function dense(weights: TfjsWeights, kernel: string, bias: string): Dense {
  const k = weight(weights, kernel);
  const inDim = k.shape[k.shape.length - 2];
  const outDim = k.shape[k.shape.length - 1];
  const b = floatData(weight(weights, bias));
  if (b.length !== outDim) throw new Error(`${bias}: bias ${b.length} != ${outDim}`);
  return { w: floatData(k), inDim, outDim, b };
}

function norm(weights: TfjsWeights, scope: string): { scale: Float32Array; bias: Float32Array } {
  return {
    scale: floatData(weight(weights, `${scope}/layer_norm/layer_norm_scale/ConcatPartitions/concat`)),
    bias: floatData(weight(weights, `${scope}/layer_norm/layer_norm_bias/ConcatPartitions/concat`)),
  };
}

function layer(weights: TfjsWeights, i: number, heads: number): LayerParams {
  const own = `${ENC}/Layer_${i}/TransformerLayer`;
  const stack = `${ENC}/TransformerStack/Layer_${i}/TransformerLayer`;
  const mha = `${own}/MultiheadAttention`;
  const split = weight(weights, `${stack}/MultiheadAttention/Const`).data;
  const qkv = dense(
    weights,
    `module/${mha}/qkv_transform_single/kernel/part_0`,
    `${mha}/qkv_transform_single/bias/ConcatPartitions/concat`,
  );
  const residualKernel = `${own}/dense/kernel/ConcatPartitions/concat`;
  const hasResidual = [...weights.keys()].some((k) => k.endsWith(residualKernel));
  const out = dense(
    weights,
    `module/${mha}/output_transform_single/kernel/part_0`,
    `${mha}/output_transform_single/bias/ConcatPartitions/concat`,
  );
  const headDim = scalar(
    weights,
    `${stack}/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`,
  );
  if (split.length !== 3 || split[0] + split[1] + split[2] !== qkv.outDim) throw new Error('bad qkv split');
  if (heads * headDim !== split[0]) throw new Error(`heads ${heads} x ${headDim} != ${split[0]}`);
  return {
    dim: out.outDim,
    residual: hasResidual
      ? dense(weights, residualKernel, `${own}/dense/bias/ConcatPartitions/concat`)
      : undefined,
    ln: norm(weights, `${own}/layer_prepostprocess`),
    qkv,
    qkvSplit: [split[0], split[1], split[2]],
    heads,
    headDim,
    qScale: scalar(weights, `${stack}/MultiheadAttention/mul/y`),
    out,
    ffnLn: norm(weights, `${own}/FFN/layer_prepostprocess`),
    conv1: dense(
      weights,
      `${stack}/FFN/conv1/Tensordot/Reshape_1`,
      `${own}/FFN/conv1/bias/ConcatPartitions/concat`,
    ),
    conv2: dense(
      weights,
      `${stack}/FFN/conv2/Tensordot/Reshape_1`,
      `${own}/FFN/conv2/bias/ConcatPartitions/concat`,
    ),
  };
}

export function useLiteParams(weights: TfjsWeights): UseLiteParams {
  const emb = weight(weights, 'module/Embeddings_en');
  const heads = scalar(weights, 'MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2');
  const layerCount = new Set(
    [...weights.keys()].map((k) => /\/Encode\/Layer_(\d+)\//.exec(k)?.[1]).filter((x) => x !== undefined),
  ).size;
  const layers = Array.from({ length: layerCount }, (_, i) => layer(weights, i, heads));
  return {
    vocabRows: emb.shape[0],
    embDim: emb.shape[1],
    embeddings: floatData(emb),
    invTimescales: floatData(weight(weights, 'AddTimingSignal/TimingSignal/ExpandDims_1')),
    maxLen: scalar(weights, 'ClipToMaxLength/Less/y'),
    lnEps: scalar(weights, 'FFN/layer_prepostprocess/layer_norm/Cast/x'),
    attentionBias: scalar(weights, 'attention_bias_ignore_padding/mul/y'),
    l2Eps: scalar(weights, 'l2_normalize/Maximum/y'),
    layers,
    tanh: dense(
      weights,
      'module/Encoder_en/hidden_layers/tanh_layer_0/weights',
      'module/Encoder_en/hidden_layers/tanh_layer_0/bias',
    ),
  };
}
