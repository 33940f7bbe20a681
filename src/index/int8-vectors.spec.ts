import { Int8Vectors, scalarDot } from './int8-vectors';

function fill(v: Int8Vectors, seed: number): void {
  let s = seed;
  const bytes = v.view;
  for (let i = 0; i < bytes.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    bytes[i] = (s >>> 24) - 128;
  }
}

describe('Int8Vectors', () => {
  it('runs its dot products in WebAssembly SIMD on this Node', () => {
    // A module that stopped validating would fall back silently and only be slower: fail here instead.
    expect(new Int8Vectors(512, 4).simd).toBe(true);
    expect(new Int8Vectors(512, 4, false).simd).toBe(false);
  });

  it.each([1, 7, 15, 16, 17, 100, 384, 512, 768])(
    'gives exactly the scalar sum at width %i, extremes included',
    (width) => {
      const v = new Int8Vectors(width, 12);
      fill(v, width);
      // The extremes: -128·-128 and 127·-128 at every position of two vectors.
      v.view.fill(-128, 0, width);
      v.view.fill(127, width, 2 * width);
      const q = v.view;
      for (let a = 0; a < 12; a++) {
        for (let b = 0; b < 12; b++) expect(v.dot(a, b)).toBe(scalarDot(q, a * width, b * width, width));
      }
      expect(v.dot(0, 0)).toBe(width * 128 * 128);
      expect(v.dot(0, 1)).toBe(width * -128 * 127);
    },
  );

  it('keeps what it holds when it grows, and the view taken after growing sees it', () => {
    for (const simd of [true, false]) {
      const v = new Int8Vectors(512, 3, simd);
      fill(v, 3);
      const before = [v.dot(0, 1), v.dot(1, 2), v.dot(2, 2)];
      const copy = Int8Array.from(v.view);
      // Far past one 64 KiB page, so the WebAssembly memory really grows (and its old buffer detaches).
      v.grow(1000);
      expect(v.capacity).toBe(1000);
      expect(Array.from(v.view.subarray(0, copy.length))).toEqual(Array.from(copy));
      expect([v.dot(0, 1), v.dot(1, 2), v.dot(2, 2)]).toEqual(before);
      v.view.fill(1, 999 * 512, 1000 * 512);
      expect(v.dot(999, 999)).toBe(512);
      v.grow(10); // never shrinks
      expect(v.capacity).toBe(1000);
    }
  });
});
