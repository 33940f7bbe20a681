// How the `default` config fuses candidate sources into one list: weighted score fusion, per-source normalisation.

export interface SourceCandidate {
  id: string;
  score: number;
}

export interface SourceList {
  /** Source name as in the ranking config (user_interests, bought_together, similar, trending, new_arrivals). */
  source: string;
  /** Best first. */
  items: readonly SourceCandidate[];
  /** Raw signal mass behind the list (e.g. co-occurrence edge weight); only used when the source has evidenceHalf. */
  evidence?: number;
}

export interface SourceWeight {
  weight: number;
  /** Trust = evidence/(evidence+evidenceHalf): a thin co-occurrence list counts less than a well-supported one. */
  evidenceHalf?: number;
  /** rank: (rankOffset+1)/(rankOffset+rank+1), robust to score scales; score: score/max of the list. Both give the head 1. */
  normalise: 'rank' | 'score';
  /** Only used as a filler when the fused list is shorter than k (trending, then new arrivals). */
  fallbackOnly?: boolean;
}

export interface BlendParams {
  sources: Record<string, SourceWeight>;
  /** Added to the 0-based rank in rank normalisation; larger flattens the head. */
  rankOffset: number;
}

export interface Blended {
  id: string;
  score: number;
  sources: string[];
}

/** Chosen on MovieLens validation (full and co-occurrence thinned to 10%/3% of users): co-occurrence leads only when well supported. */
export const DEFAULT_BLEND: BlendParams = {
  rankOffset: 10,
  sources: {
    bought_together: { weight: 2, evidenceHalf: 50, normalise: 'score' },
    user_interests: { weight: 0.3, normalise: 'rank' },
    similar: { weight: 0.3, normalise: 'rank' },
    trending: { weight: 0.3, normalise: 'rank' },
    new_arrivals: { weight: 0, normalise: 'rank', fallbackOnly: true },
  },
};

/** Per-source weight after trust in its evidence; 0 for an empty or unknown source. */
export function effectiveWeight(list: SourceList, w: SourceWeight | undefined): number {
  if (!w || list.items.length === 0) return 0;
  if (w.evidenceHalf === undefined || w.evidenceHalf <= 0) return w.weight;
  const e = Math.max(0, list.evidence ?? 0);
  return (w.weight * e) / (e + w.evidenceHalf);
}

/** Fuses the lists; ties break on the number of agreeing sources, then id (stable across replicas). */
export function blend(lists: readonly SourceList[], k: number, p: BlendParams = DEFAULT_BLEND): Blended[] {
  const acc = new Map<string, Blended>();
  for (const list of lists) {
    const w = p.sources[list.source];
    const ew = effectiveWeight(list, w);
    if (!w || w.fallbackOnly || ew <= 0) continue;
    const max = list.items.reduce((m, c) => Math.max(m, c.score), 0);
    list.items.forEach((c, rank) => {
      const norm =
        w.normalise === 'rank'
          ? (p.rankOffset + 1) / (p.rankOffset + rank + 1)
          : max > 0
            ? Math.max(0, c.score) / max
            : 0;
      const b = acc.get(c.id) ?? { id: c.id, score: 0, sources: [] };
      b.score += ew * norm;
      b.sources.push(list.source);
      acc.set(c.id, b);
    });
  }
  const fused = [...acc.values()].sort(
    (a, b) => b.score - a.score || b.sources.length - a.sources.length || (a.id < b.id ? -1 : 1),
  );
  const out = fused.slice(0, k);
  if (out.length < k) {
    // Cold start or thin data: fill from the fallback sources in config order.
    const have = new Set(out.map((b) => b.id));
    for (const name of Object.keys(p.sources)) {
      const list = lists.find((l) => l.source === name);
      if (!list) continue;
      for (const c of list.items) {
        if (out.length >= k) break;
        if (have.has(c.id)) continue;
        have.add(c.id);
        out.push({ id: c.id, score: 0, sources: [name] });
      }
    }
  }
  return out;
}

/** Share of user_interests scores kept when co-occurrence is well supported (tuned with the service path, validation). */
export const INTEREST_SHARE_FLOOR = 0.1;

/**
 * For rankers that add normalised per-source scores: the user_interests multiplier 1 − trust·(1 − floor), where
 * trust = e/(e + evidenceHalf) of the request's co-occurrence evidence. Without co-occurrence (new or sparse
 * catalogues) interests count fully; with plenty, co-occurrence leads, as in `blend`.
 */
export function interestShare(
  coocEvidence: number,
  evidenceHalf = DEFAULT_BLEND.sources.bought_together.evidenceHalf ?? 50,
  floor = INTEREST_SHARE_FLOOR,
): number {
  const e = Math.max(0, coocEvidence);
  const trust = e / (e + evidenceHalf);
  return 1 - trust * (1 - floor);
}
