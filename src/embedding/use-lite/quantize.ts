export interface QuantizedMatrix {
  q: Uint8Array;
  scales: Float32Array;
}

export const ZERO_POINT = 128;
export const QMAX = 127;

// Same tie rule as ONNX Round, so weights and run-time activations round alike.
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Symmetric int8 per output column of a row-major [inDim, outDim] matrix, stored as uint8 around 128.
export function quantizeColumns(w: Float32Array, inDim: number, outDim: number): QuantizedMatrix {
  if (w.length !== inDim * outDim) throw new Error('matrix size mismatch');
  const amax = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) {
      const a = Math.abs(w[row + j]);
      if (a > amax[j]) amax[j] = a;
    }
  }
  const scales = new Float32Array(outDim);
  for (let j = 0; j < outDim; j++) scales[j] = amax[j] > 0 ? amax[j] / QMAX : 1;
  const q = new Uint8Array(w.length);
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) {
      // Divide in float32 (as the graph does for activations) so exact ties round the same way.
      const v = roundHalfEven(Math.fround(w[row + j] / scales[j]));
      q[row + j] = Math.min(QMAX, Math.max(-QMAX, v)) + ZERO_POINT;
    }
  }
  return { q, scales };
}
