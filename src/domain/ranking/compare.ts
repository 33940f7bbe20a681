/** |top-k(a) ∩ top-k(b)| / k' where k' = the longer of the two cut lists (1 when both are empty). */
export function overlapAtK(a: readonly string[], b: readonly string[], k: number): number {
  const ta = a.slice(0, k);
  const tb = new Set(b.slice(0, k));
  const denom = Math.max(ta.length, tb.size);
  if (denom === 0) return 1;
  let common = 0;
  for (const id of new Set(ta)) if (tb.has(id)) common++;
  return common / denom;
}

/** Kendall tau-b over the union of both top-k lists, a missing id ranked k+1 (tau-b corrects for those ties); 1 same, −1 reversed. */
export function kendallTauAtK(a: readonly string[], b: readonly string[], k: number): number {
  const ta = a.slice(0, k);
  const tb = b.slice(0, k);
  const rank = (list: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    list.forEach((id, i) => {
      if (!m.has(id)) m.set(id, i + 1);
    });
    return m;
  };
  const ra = rank(ta);
  const rb = rank(tb);
  const ids = [...new Set([...ta, ...tb])];
  if (ids.length < 2) return 1;
  const missing = k + 1;
  const xa = ids.map((id) => ra.get(id) ?? missing);
  const xb = ids.map((id) => rb.get(id) ?? missing);
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const da = Math.sign(xa[i] - xa[j]);
      const db = Math.sign(xb[i] - xb[j]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom === 0 ? 1 : (concordant - discordant) / denom;
}

export interface Comparison {
  k: number;
  overlapAtK: number;
  kendallTau: number;
  /** Side by side: row i holds the i-th id of each list. */
  rows: { position: number; a?: string; b?: string }[];
  onlyInA: string[];
  onlyInB: string[];
}

/** Two ranked id lists side by side with their agreement at k. */
export function compareRankings(a: readonly string[], b: readonly string[], k: number): Comparison {
  const ta = a.slice(0, k);
  const tb = b.slice(0, k);
  const sa = new Set(ta);
  const sb = new Set(tb);
  const rows = Array.from({ length: Math.max(ta.length, tb.length) }, (_, i) => ({
    position: i + 1,
    ...(i < ta.length ? { a: ta[i] } : {}),
    ...(i < tb.length ? { b: tb[i] } : {}),
  }));
  return {
    k,
    overlapAtK: overlapAtK(a, b, k),
    kendallTau: kendallTauAtK(a, b, k),
    rows,
    onlyInA: ta.filter((id) => !sb.has(id)),
    onlyInB: tb.filter((id) => !sa.has(id)),
  };
}
