import { easeFromGram, gramMatrix, invertSpd, scoreDense, scoreSparse, topKRows } from './ease';

describe('ease', () => {
  it('inverts a symmetric positive definite matrix', () => {
    const n = 4;
    const a = Float64Array.from([4, 1, 0.5, 0, 1, 3, 0.2, 0.1, 0.5, 0.2, 2, 0.3, 0, 0.1, 0.3, 1.5]);
    const inv = invertSpd(Float64Array.from(a), n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k] * inv[k * n + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 10);
      }
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => invertSpd(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/positive definite/);
  });

  it('builds XᵀX and a zero-diagonal B that solves the constrained ridge regression', () => {
    const rows = [
      { idx: [0, 1], val: [1, 1] },
      { idx: [0, 1, 2], val: [1, 1, 1] },
      { idx: [2, 3], val: [1, 1] },
      { idx: [1, 2], val: [1, 1] },
    ];
    const n = 4;
    const g = gramMatrix(rows, n);
    expect(Array.from(g.slice(0, 4))).toEqual([2, 2, 1, 0]);
    const lambda = 0.5;
    const b = easeFromGram(g, n, lambda);
    for (let i = 0; i < n; i++) expect(b[i * n + i]).toBe(0);
    // Stationarity of ||X − XB||² + λ||B||² s.t. diag(B) = 0: off-diagonal of (G + λI)B − G vanishes.
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        let s = 0;
        for (let k = 0; k < n; k++) s += (g[i * n + k] + (i === k ? lambda : 0)) * b[k * n + j];
        expect(s - g[i * n + j]).toBeCloseTo(0, 10);
      }
    // Items 0 and 1 always go together: each is the other's best neighbour.
    expect(topKRows(b, n, 1)[0].idx).toEqual([1]);
    const dense = scoreDense({ idx: [0], val: [1] }, b, n);
    const sparse = scoreSparse({ idx: [0], val: [1] }, topKRows(b, n, 2), n);
    expect(sparse[1]).toBeCloseTo(dense[1], 12);
    expect(Number.isNaN(sparse[0])).toBe(true);
  });
});
