// EASE item-item model (Steck 2019, "Embarrassingly Shallow Autoencoders"): B = I − P·diagMat(1/diag(P)),
// P = (XᵀX + λI)⁻¹, diag(B) = 0; a user's scores are x_u·B. The service trains it through ./collaborative.ts;
// src/eval/ease-research.ts compares variants on validation folds. Dense n×n Float64Array matrices, row-major.

/** One user's row of X: item indices (into the model's item list) with their values. */
export interface SparseRow {
  idx: number[];
  val: number[];
}

/** G = XᵀX (n×n, symmetric) from the users' sparse rows. */
export function gramMatrix(rows: readonly SparseRow[], n: number): Float64Array {
  const g = new Float64Array(n * n);
  for (const r of rows) {
    const m = r.idx.length;
    for (let a = 0; a < m; a++) {
      const ia = r.idx[a] * n;
      const va = r.val[a];
      for (let b = 0; b < m; b++) g[ia + r.idx[b]] += va * r.val[b];
    }
  }
  return g;
}

/**
 * Inverse of a symmetric positive definite matrix by Cholesky (A = LLᵀ, L⁻¹, A⁻¹ = L⁻ᵀL⁻¹), about n³/2
 * multiply-adds with contiguous inner loops. Overwrites `a` with the inverse and returns it; throws if `a` is not
 * positive definite.
 */
export function invertSpd(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error('matrix size');
  // 1. Cholesky in place (lower triangle of a holds L).
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) throw new Error(`not positive definite at ${j}`);
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / ljj;
    }
  }
  // 2. M = L⁻¹ (lower), row by row: M[i][0..i-1] = −(Σ_k L[i][k]·M[k][0..k]) / L[i][i].
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const lii = a[ri + i];
    for (let k = 0; k < i; k++) {
      const lik = a[ri + k];
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) m[ri + j] += lik * m[rk + j];
    }
    for (let j = 0; j < i; j++) m[ri + j] = -m[ri + j] / lii;
    m[ri + i] = 1 / lii;
  }
  // 3. A⁻¹ = MᵀM: rank-one updates with each row of M (lower triangle), then mirror.
  a.fill(0);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const mki = m[rk + i];
      if (mki === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) a[ri + j] += mki * m[rk + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}

/** EASE weights from a Gram matrix (not modified): B[i][j] = −P[i][j]/P[j][j], B[i][i] = 0. */
export function easeFromGram(gram: Float64Array, n: number, lambda: number): Float64Array {
  const p = Float64Array.from(gram);
  for (let i = 0; i < n; i++) p[i * n + i] += lambda;
  invertSpd(p, n);
  const diag = new Float64Array(n);
  for (let j = 0; j < n; j++) diag[j] = p[j * n + j];
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < n; j++) p[ri + j] = i === j ? 0 : -p[ri + j] / diag[j];
  }
  return p;
}

/** Row i's k largest entries (item i's neighbours, as a store would keep them), best first. */
export function topKRows(b: Float64Array, n: number, k: number): SparseRow[] {
  const out: SparseRow[] = [];
  const tmp = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let t = 0;
    for (let j = 0; j < n; j++) if (j !== i) tmp[t++] = b[ri + j];
    const keep = Math.min(k, n - 1);
    // The k-th largest value is the threshold (a typed-array sort is quick at these sizes).
    const threshold = keep > 0 ? tmp.sort()[n - 1 - keep] : Infinity;
    const cand: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i && b[ri + j] >= threshold) cand.push(j);
    cand.sort((x, y) => b[ri + y] - b[ri + x] || x - y);
    const idx = cand.slice(0, keep);
    out.push({ idx, val: idx.map((j) => b[ri + j]) });
  }
  return out;
}

/** Scores x·B for a sparse user vector, from the dense weights. */
export function scoreDense(x: SparseRow, b: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n);
  for (let a = 0; a < x.idx.length; a++) {
    const ri = x.idx[a] * n;
    const v = x.val[a];
    for (let j = 0; j < n; j++) s[j] += v * b[ri + j];
  }
  return s;
}

/** Scores x·B from the kept top-k rows; items no seed reaches stay NaN (not a candidate). */
export function scoreSparse(x: SparseRow, rows: readonly SparseRow[], n: number): Float64Array {
  const s = new Float64Array(n).fill(NaN);
  for (let a = 0; a < x.idx.length; a++) {
    const row = rows[x.idx[a]];
    const v = x.val[a];
    for (let t = 0; t < row.idx.length; t++) {
      const j = row.idx[t];
      s[j] = (Number.isNaN(s[j]) ? 0 : s[j]) + v * row.val[t];
    }
  }
  return s;
}
