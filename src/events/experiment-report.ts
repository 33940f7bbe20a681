// Per-variant funnel of an experiment and the 95% CI of each variant's difference from the first (control).

export interface VariantCounts {
  variant: string;
  config: string;
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
}

export interface Difference {
  /** Variant minus control, as a proportion. */
  difference: number;
  /** 95% Wald interval of the difference of two proportions; null without impressions on both sides. */
  ci95: [number, number] | null;
}

export interface VariantReport extends VariantCounts {
  /** clicks / impressions (null without impressions). */
  ctr: number | null;
  /** purchases / impressions (null without impressions). */
  conversion: number | null;
  /** Against the control (absent on the control itself). */
  vsControl?: { ctr: Difference; conversion: Difference };
}

const Z95 = 1.959964;

export function rate(k: number, n: number): number | null {
  return n > 0 ? Math.min(1, k / n) : null;
}

/** Wald interval of p2 − p1; null when either side has no trials. */
export function differenceCi(k1: number, n1: number, k2: number, n2: number): Difference {
  const p1 = rate(k1, n1);
  const p2 = rate(k2, n2);
  if (p1 === null || p2 === null) return { difference: 0, ci95: null };
  const d = p2 - p1;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { difference: d, ci95: [d - Z95 * se, d + Z95 * se] };
}

/** Counters `config|type` → n, grouped by variant (in experiment order); the first variant is the control. */
export function experimentReport(
  variants: readonly { config: string; name?: string }[],
  counters: Record<string, string | number>,
): VariantReport[] {
  const count = (config: string, type: string) => Number(counters[`${config}|${type}`] ?? 0);
  const rows: VariantReport[] = variants.map((v) => {
    const c: VariantCounts = {
      variant: v.name ?? v.config,
      config: v.config,
      impressions: count(v.config, 'impression'),
      clicks: count(v.config, 'click'),
      addToCarts: count(v.config, 'add_to_cart'),
      purchases: count(v.config, 'purchase'),
    };
    return { ...c, ctr: rate(c.clicks, c.impressions), conversion: rate(c.purchases, c.impressions) };
  });
  const control = rows[0];
  for (const r of rows.slice(1)) {
    if (!control) break;
    r.vsControl = {
      ctr: differenceCi(control.clicks, control.impressions, r.clicks, r.impressions),
      conversion: differenceCi(control.purchases, control.impressions, r.purchases, r.impressions),
    };
  }
  return rows;
}
