import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

export const SMALL_MODEL_ID = 'test/use-lite-256';

/**
 * A models folder for tests: `google/use-lite` from MODEL_DIR, plus a genuinely different model with a
 * different dimension — use-lite's first 256 components, re-normalised — to exercise model migration.
 */
export function prepareTestModels(root: string, source = process.env.MODEL_DIR ?? './models'): string {
  const lite = path.resolve(source, 'google/use-lite');
  fs.mkdirSync(path.join(root, 'google'), { recursive: true });
  if (!fs.existsSync(path.join(root, 'google/use-lite')))
    fs.symlinkSync(lite, path.join(root, 'google/use-lite'));
  const small = path.join(root, SMALL_MODEL_ID);
  if (fs.existsSync(path.join(small, 'onnx/model.onnx'))) return root;
  fs.mkdirSync(path.join(small, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    fs.copyFileSync(path.join(lite, f), path.join(small, f));
  }
  const config = JSON.parse(fs.readFileSync(path.join(lite, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  fs.writeFileSync(path.join(small, 'config.json'), JSON.stringify({ ...config, hidden_size: 256 }, null, 2));
  fs.writeFileSync(
    path.join(small, 'onnx/model.onnx'),
    truncatedModel(path.join(lite, 'onnx/model.onnx'), 256),
  );
  return root;
}

function int64s(name: string, values: number[]): onnx.ITensorProto {
  return { name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values };
}

/** Renames the graph's outputs, then slices the embedding to `dim` components and l2-normalises it. */
function truncatedModel(file: string, dim: number): Uint8Array {
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  const graph = model.graph!;
  for (const node of graph.node!) {
    node.output = node.output!.map((o) =>
      o === 'sentence_embedding' || o === 'last_hidden_state' ? `orig_${o}` : o,
    );
  }
  // Drop the old broadcast of the 512-dim embedding; rebuild it from the truncated one.
  graph.node = graph.node!.filter((n) => !n.output!.includes('orig_last_hidden_state'));
  const intAttr = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  graph.initializer!.push(
    int64s('trunc_starts', [0]),
    int64s('trunc_ends', [dim]),
    int64s('trunc_axes', [-1]),
    int64s('trunc_dim', [dim]),
    int64s('trunc_axis1', [1]),
  );
  graph.node.push(
    {
      opType: 'Slice',
      input: ['orig_sentence_embedding', 'trunc_starts', 'trunc_ends', 'trunc_axes'],
      output: ['trunc_se'],
      name: 'trunc_se',
    },
    {
      opType: 'LpNormalization',
      input: ['trunc_se'],
      output: ['sentence_embedding'],
      name: 'trunc_norm',
      attribute: [intAttr('axis', -1), intAttr('p', 2)],
    },
    { opType: 'Shape', input: ['input_ids'], output: ['trunc_ids_shape'], name: 'trunc_shape' },
    {
      opType: 'Concat',
      input: ['trunc_ids_shape', 'trunc_dim'],
      output: ['trunc_lhs_shape'],
      name: 'trunc_concat',
      attribute: [intAttr('axis', 0)],
    },
    {
      opType: 'Unsqueeze',
      input: ['sentence_embedding', 'trunc_axis1'],
      output: ['trunc_se3'],
      name: 'trunc_unsqueeze',
    },
    {
      opType: 'Expand',
      input: ['trunc_se3', 'trunc_lhs_shape'],
      output: ['last_hidden_state'],
      name: 'trunc_expand',
    },
  );
  for (const out of graph.output!) {
    const dims = out.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[dims.length - 1] = { dimValue: dim };
  }
  return onnx.ModelProto.encode(model).finish();
}
