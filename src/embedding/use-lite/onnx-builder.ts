import { onnx } from 'onnx-proto';

export type AttrValue = number | number[] | { float: number };

export const DT = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  UINT8: onnx.TensorProto.DataType.UINT8,
  INT64: onnx.TensorProto.DataType.INT64,
} as const;

function bytesOf(arr: Float32Array | Uint8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'object') return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.INT, i: value };
}

// Minimal graph writer: every value gets a unique name from its purpose plus a counter.
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inits: onnx.ITensorProto[] = [];
  private counter = 0;

  private fresh(hint: string): string {
    this.counter += 1;
    return `${hint}_${this.counter}`;
  }

  node(op: string, inputs: string[], hint: string, attrs: Record<string, AttrValue> = {}): string {
    return this.nodeNamed(op, inputs, this.fresh(hint), attrs);
  }

  // Like node(), but the caller picks the output name (graph outputs must keep their public names).
  nodeNamed(op: string, inputs: string[], out: string, attrs: Record<string, AttrValue> = {}): string {
    return this.nodeMulti(op, inputs, [out], attrs)[0];
  }

  nodeMulti(op: string, inputs: string[], outs: string[], attrs: Record<string, AttrValue> = {}): string[] {
    this.nodes.push({
      opType: op,
      name: `n_${outs[0]}`,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  freshNames(...hints: string[]): string[] {
    return hints.map((h) => this.fresh(h));
  }

  floats(hint: string, dims: number[], data: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected)
      throw new Error(`${hint}: ${data.length} values for dims ${dims.join('x')}`);
    const name = this.fresh(hint);
    this.inits.push({ name, dims, dataType: DT.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  uint8s(hint: string, dims: number[], data: Uint8Array): string {
    const name = this.fresh(hint);
    this.inits.push({ name, dims, dataType: DT.UINT8, rawData: bytesOf(data) });
    return name;
  }

  scalarF(value: number): string {
    return this.floats('c', [], Float32Array.of(value));
  }

  scalarU8(hint: string, value: number): string {
    return this.uint8s(hint, [], Uint8Array.of(value));
  }

  int64s(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('c');
    this.inits.push({
      name,
      dims,
      dataType: DT.INT64,
      rawData: bytesOf(BigInt64Array.from(values.map(BigInt))),
    });
    return name;
  }

  scalarI64(value: number): string {
    return this.int64s([value], []);
  }

  encode(spec: {
    graphName: string;
    docString: string;
    inputs: { name: string; elemType: number; dims: (string | number)[] }[];
    outputs: { name: string; elemType: number; dims: (string | number)[] }[];
  }): Uint8Array {
    const valueInfo = (v: {
      name: string;
      elemType: number;
      dims: (string | number)[];
    }): onnx.IValueInfoProto => ({
      name: v.name,
      type: {
        tensorType: {
          elemType: v.elemType,
          shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
        },
      },
    });
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'recsvc-use-lite-converter',
      docString: spec.docString,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: spec.graphName,
        node: this.nodes,
        initializer: this.inits,
        input: spec.inputs.map(valueInfo),
        output: spec.outputs.map(valueInfo),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}
