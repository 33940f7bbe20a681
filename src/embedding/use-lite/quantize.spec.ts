import { quantizeColumns, roundHalfEven, ZERO_POINT } from './quantize';

describe('quantizeColumns', () => {
  it('rounds ties to even like ONNX Round', () => {
    expect([2.5, -2.5, 3.5, 0.5, 1.4, -1.6].map(roundHalfEven)).toEqual([2, -2, 4, 0, 1, -2]);
  });

  it('uses one symmetric scale per output column and reconstructs within half a step', () => {
    const inDim = 3;
    const outDim = 4;
    const w = Float32Array.from([0.5, -2, 0, 10, -1, 1, 0, -0.01, 0.25, 0.5, 0, 3]);
    const { q, scales } = quantizeColumns(w, inDim, outDim);
    expect(Array.from(scales)).toEqual(Array.from(Float32Array.from([1 / 127, 2 / 127, 1, 10 / 127])));
    for (let i = 0; i < inDim; i++) {
      for (let j = 0; j < outDim; j++) {
        const back = (q[i * outDim + j] - ZERO_POINT) * scales[j];
        expect(Math.abs(back - w[i * outDim + j])).toBeLessThanOrEqual(scales[j] / 2 + 1e-7);
      }
    }
    // The column maximum maps to +-127 exactly; an all-zero column stays at the zero point.
    expect(q[1 * outDim + 0] - ZERO_POINT).toBe(-127);
    expect([q[2], q[6], q[10]]).toEqual([ZERO_POINT, ZERO_POINT, ZERO_POINT]);
  });

  it('rejects a matrix whose size does not match its dims', () => {
    expect(() => quantizeColumns(new Float32Array(5), 2, 3)).toThrow('size mismatch');
  });
});
