import { cosine, maxCosine, normalize } from './vector-math';

function randomVector(dim: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    v[i] = a / 2 ** 32 - 0.5;
  }
  return v;
}

describe('maxCosine', () => {
  it('equals the largest cosine() over the vectors, for vectors of any norm and length', () => {
    for (const dim of [1, 3, 7, 512]) {
      const others = [1, 2, 3, 4, 5].map((s) => randomVector(dim, s * 31 + dim));
      const units = others.map(normalize);
      for (let q = 0; q < 20; q++) {
        const v = randomVector(dim, 1000 + q).map((x) => x * (q + 1));
        const expected = Math.max(...others.map((o) => cosine(v, o)));
        expect(maxCosine(v, units)).toBeCloseTo(expected, 5);
      }
    }
  });

  it('stops at the first unit that reaches `enough`, and its answer then still reaches it', () => {
    const v = randomVector(64, 9);
    const same = normalize(v);
    const opposite = normalize(v.map((x) => -x));
    expect(maxCosine(v, [opposite, same], 0.9)).toBeCloseTo(1, 6);
    expect(maxCosine(v, [same, opposite], 0.9)).toBeGreaterThanOrEqual(0.9);
    expect(maxCosine(v, [opposite], 0.9)).toBeCloseTo(-1, 6);
  });

  it('gives 0 for a zero vector, -Infinity for no units, and ignores units of another length', () => {
    const u = normalize(randomVector(8, 1));
    expect(maxCosine(new Float32Array(8), [u])).toBe(0);
    expect(maxCosine(randomVector(8, 2), [])).toBe(-Infinity);
    expect(maxCosine(randomVector(8, 2), [normalize(randomVector(4, 3))])).toBe(-Infinity);
    const v = randomVector(8, 4);
    expect(maxCosine(v, [normalize(randomVector(4, 3)), u])).toBeCloseTo(cosine(v, u), 6);
  });
});
