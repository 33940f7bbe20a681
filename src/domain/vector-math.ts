export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** Cosine similarity of any two vectors (not assumed normalised). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : d / Math.sqrt(na * nb);
}

/**
 * The largest cosine between `v` and any of `units` (unit vectors, e.g. from normalize()), stopping early once one
 * reaches `enough`; 0 for a zero `v`, -Infinity for no units. Vectors of another length count as unrelated (a model
 * change mid-reindex). One norm for `v` and one dot product per unit: a third of the arithmetic of cosine() each.
 */
export function maxCosine(v: Float32Array, units: readonly Float32Array[], enough = Infinity): number {
  if (units.length === 0) return -Infinity;
  const norm = Math.sqrt(dot4(v, v));
  if (norm === 0) return 0;
  let best = -Infinity;
  for (let u = 0; u < units.length; u++) {
    if (units[u].length !== v.length) continue;
    const c = dot4(v, units[u]) / norm;
    if (c > best) best = c;
    if (best >= enough) break;
  }
  return best;
}

/** dot() with four running sums: several times faster on long vectors (independent additions pipeline). */
export function dot4(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length - (a.length % 4);
  let i = 0;
  for (; i < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}
