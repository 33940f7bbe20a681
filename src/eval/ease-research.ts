// Research: does an EASE item-item model (Steck 2019) add signal to the shipped co-occurrence / default blend?
// VALIDATION folds only (refuses `test`). `npx tsx src/eval/ease-research.ts <phase> [folds]`, phase: alone | combo.
// X is built from exactly the histories the harness replays into its co-occurrence store (each fold's cases'
// histories, never a target), restricted to items with ≥ m users in X.
import { blend, type BlendParams, type SourceList } from '../domain/personalization/blend';
import {
  easeFromGram,
  gramMatrix,
  scoreDense,
  scoreSparse,
  topKRows,
  type SparseRow,
} from '../domain/personalization/ease';
import { Harness, type ResearchConfig } from './harness';
import { loadMovieLens, movieVectors } from './movielens';
import { summarise, type EvalCase, type Split } from './protocol';
import { SHIPPED } from './shipped-config';

/** How X's entries are valued: 1 for any rating, 1 for weight > 0 only, or max(0, rating − 2). */
type XMode = 'bin' | 'pos' | 'wt';

interface Model {
  ids: string[];
  index: Map<string, number>;
  n: number;
  b: Float64Array;
  sparse: Map<number, SparseRow[]>;
  gramMs: number;
  invMs: number;
}

const w = (r: number) => SHIPPED.eventWeight(r);

function xValue(mode: XMode, rating: number): number {
  if (mode === 'bin') return 1;
  if (mode === 'pos') return w(rating) > 0 ? 1 : 0;
  return Math.max(0, w(rating));
}

/** Item → number of users with a non-zero X entry, over the fold's replayed histories. */
function itemCounts(cases: readonly EvalCase[], mode: XMode): Map<string, number> {
  const cnt = new Map<string, number>();
  for (const c of cases) {
    const seen = new Set<string>();
    for (const r of c.history)
      if (xValue(mode, r.rating) > 0 && !seen.has(r.itemId)) {
        seen.add(r.itemId);
        cnt.set(r.itemId, (cnt.get(r.itemId) ?? 0) + 1);
      }
  }
  return cnt;
}

/** The latest rating per item in a history (MovieLens has one per user and item). */
function latest(c: EvalCase): Map<string, { rating: number; pos: number }> {
  const m = new Map<string, { rating: number; pos: number }>();
  c.history.forEach((r, pos) => m.set(r.itemId, { rating: r.rating, pos }));
  return m;
}

function fit(
  cases: readonly EvalCase[],
  mode: XMode,
  minCount: number,
  lambda: number,
  gramCache: Map<string, { ids: string[]; g: Float64Array; ms: number }>,
): Model {
  const gk = `${mode}|${minCount}`;
  let gc = gramCache.get(gk);
  if (!gc) {
    const t0 = Date.now();
    const cnt = itemCounts(cases, mode);
    const ids = [...cnt]
      .filter(([, n]) => n >= minCount)
      .map(([id]) => id)
      .sort((a, b) => Number(a) - Number(b));
    const index = new Map(ids.map((id, i) => [id, i]));
    const rows: SparseRow[] = cases.map((c) => {
      const row: SparseRow = { idx: [], val: [] };
      for (const [id, { rating }] of latest(c)) {
        const i = index.get(id);
        const v = xValue(mode, rating);
        if (i !== undefined && v > 0) {
          row.idx.push(i);
          row.val.push(v);
        }
      }
      return row;
    });
    gc = { ids, g: gramMatrix(rows, ids.length), ms: Date.now() - t0 };
    gramCache.clear(); // keep memory bounded: one Gram at a time
    gramCache.set(gk, gc);
  }
  const t1 = Date.now();
  const b = easeFromGram(gc.g, gc.ids.length, lambda);
  const invMs = Date.now() - t1;
  return {
    ids: gc.ids,
    index: new Map(gc.ids.map((id, i) => [id, i])),
    n: gc.ids.length,
    b,
    sparse: new Map(),
    gramMs: gc.ms,
    invMs,
  };
}

/** The user's vector: whole history (X's valuation) or the last N distinct items with decay^position. */
interface UserVec {
  name: string;
  lastN?: number;
  decay?: number;
  /** Value of each item: X's valuation ('x') or 1. */
  value: XMode;
}

function userVector(c: EvalCase, m: Model, u: UserVec): SparseRow {
  const row: SparseRow = { idx: [], val: [] };
  const items = [...latest(c)].sort((a, b) => b[1].pos - a[1].pos); // newest first
  let p = 0;
  for (const [id, { rating }] of items) {
    if (u.lastN !== undefined && p >= u.lastN) break;
    const v = xValue(u.value, rating);
    if (v <= 0) continue;
    const i = m.index.get(id);
    const r = u.lastN !== undefined ? Math.pow(u.decay ?? 1, p) : 1;
    p++;
    if (i === undefined) continue;
    row.idx.push(i);
    row.val.push(v * r);
  }
  return row;
}

/** EASE candidates, best first, history excluded; `k` top-k rows (undefined: dense). */
function easeList(c: EvalCase, m: Model, u: UserVec, k: number | undefined, depth: number) {
  const x = userVector(c, m, u);
  let s: Float64Array;
  if (k === undefined) s = scoreDense(x, m.b, m.n);
  else {
    let rows = m.sparse.get(k);
    if (!rows) m.sparse.set(k, (rows = topKRows(m.b, m.n, k)));
    s = scoreSparse(x, rows, m.n);
  }
  const seen = new Set(c.history.map((h) => h.itemId));
  const out: { id: string; score: number }[] = [];
  for (let j = 0; j < m.n; j++)
    if (!Number.isNaN(s[j]) && !seen.has(m.ids[j])) out.push({ id: m.ids[j], score: s[j] });
  out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return out.slice(0, depth);
}

const USER_VECS: UserVec[] = [
  { name: 'all(x)', value: 'wt' }, // replaced per X mode below
  { name: 'last5 d.7', lastN: 5, decay: 0.7, value: 'pos' },
  { name: 'last10 d.5', lastN: 10, decay: 0.5, value: 'pos' },
  { name: 'last10 d.8', lastN: 10, decay: 0.8, value: 'pos' },
  { name: 'last20 d.8', lastN: 20, decay: 0.8, value: 'pos' },
  { name: 'last20 d.9', lastN: 20, decay: 0.9, value: 'pos' },
  { name: 'last30 d.85', lastN: 30, decay: 0.85, value: 'pos' },
  { name: 'last50 d.9', lastN: 50, decay: 0.9, value: 'pos' },
  { name: 'last20 d.8 wt', lastN: 20, decay: 0.8, value: 'wt' },
  { name: 'last50 d.95', lastN: 50, decay: 0.95, value: 'pos' },
];

function fmt(ms: number[]): string {
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return `${mean.toFixed(4)} [${ms.map((x) => x.toFixed(4)).join(' ')}]`;
}

function ndcgOf(h: Harness, tops: string[][]): number {
  return summarise(
    h.cases.map((c, i) => ({ top: tops[i], target: c.target.itemId })),
    h.data.itemIds.length,
  ).ndcg;
}

async function main(): Promise<void> {
  const phase = process.argv[2] ?? 'alone';
  const folds = (process.argv[3] ?? 'validation,validation-2,validation-3').split(',') as Split[];
  if (folds.includes('test')) throw new Error('research on validation folds only');
  const ml = loadMovieLens();
  const vectors = phase === 'combo' ? await movieVectors(ml.items) : [new Float32Array(4)];
  const data = {
    itemIds: ml.items.map((i) => i.id),
    vectors: phase === 'combo' ? vectors : ml.items.map(() => new Float32Array(4)),
    ratings: ml.ratings,
  };
  const hs = folds.map((f) => new Harness(data, f));
  // EASE_SHARE < 1: co-occurrence and EASE both learn from the same fixed share of users (a sparse catalogue).
  const share = Number(process.env.EASE_SHARE ?? '1');
  const cfg: ResearchConfig = { ...SHIPPED, coocUserShare: share };
  const trainCases = (h: Harness) =>
    share < 1 ? h.cases.filter((c) => ((Number(c.userId) * 2654435761) % 1000) / 1000 < share) : h.cases;

  if (phase === 'sizes') {
    for (const h of hs)
      for (const mode of ['bin', 'pos', 'wt'] as XMode[]) {
        const cnt = [...itemCounts(h.cases, mode).values()];
        console.log(
          h.split,
          mode,
          [2, 3, 5, 8, 10, 15, 20].map((m) => `m${m}:${cnt.filter((x) => x >= m).length}`).join(' '),
        );
      }
    return;
  }

  const modes = (process.env.EASE_X ?? 'bin').split(',') as XMode[];
  const minCounts = (process.env.EASE_M ?? '5').split(',').map(Number);
  const lambdas = (process.env.EASE_L ?? '50,200,500,1000').split(',').map(Number);
  const ks = (process.env.EASE_K ?? '50,100,200')
    .split(',')
    .map((s) => (s === 'dense' ? undefined : Number(s)));

  if (phase === 'alone') {
    // Shipped co-occurrence for reference.
    console.log(`shipped co-occurrence ${fmt(hs.map((h) => h.evaluate('co_occurrence', cfg).ndcg))}`);
    const gramCaches = hs.map(() => new Map<string, { ids: string[]; g: Float64Array; ms: number }>());
    for (const mode of modes)
      for (const mc of minCounts)
        for (const lambda of lambdas) {
          const models = hs.map((h, f) => fit(h.cases, mode, mc, lambda, gramCaches[f]));
          console.log(
            `\nX ${mode} m${mc} n=${models.map((m) => m.n).join('/')} λ${lambda}: gram ${models.map((m) => m.gramMs).join('/')} ms, inverse ${models.map((m) => m.invMs).join('/')} ms`,
          );
          const vecs = USER_VECS.map((u, i) => (i === 0 ? { ...u, name: `all(${mode})`, value: mode } : u));
          for (const u of vecs)
            for (const k of [undefined, ...ks.filter((x) => x !== undefined)]) {
              const t = Date.now();
              const ms = hs.map((h, f) =>
                ndcgOf(
                  h,
                  h.cases.map((c) => easeList(c, models[f], u, k, 10).map((x) => x.id)),
                ),
              );
              console.log(
                `  ${u.name.padEnd(14)} ${(k === undefined ? 'dense' : `top${k}`).padEnd(6)} ${fmt(ms)}  (${Date.now() - t} ms)`,
              );
            }
        }
    return;
  }

  if (phase === 'combo') {
    // One EASE setting (first of each env list), combined with co-occurrence and with the default blend.
    const mode = modes[0];
    const models = hs.map((h) => fit(trainCases(h), mode, minCounts[0], lambdas[0], new Map()));
    console.log(
      `X ${mode} m${minCounts[0]} n=${models.map((m) => m.n).join('/')} λ${lambdas[0]}: gram ${models.map((m) => m.gramMs).join('/')} ms, inverse ${models.map((m) => m.invMs).join('/')} ms`,
    );
    const unames = (process.env.EASE_U ?? 'all').split(',');
    const depth = cfg.depth;
    // Per fold, per case: the shipped source lists (computed once).
    const lists = hs.map((h) => h.cases.map((c) => h.sources(c, cfg)));
    for (const uname of unames)
      for (const k of ks) {
        const u: UserVec =
          uname === 'all'
            ? { name: `all(${mode})`, value: mode }
            : (USER_VECS.find((v) => v.name === uname) ??
              (() => {
                throw new Error(uname);
              })());
        const tag = `${u.name} ${k === undefined ? 'dense' : `top${k}`}`;
        const perFold = hs.map((h, f) =>
          h.cases.map((c, i) => ({ lists: lists[f][i], ease: easeList(c, models[f], u, k, depth) })),
        );
        const run = (
          name: string,
          top: (x: { lists: SourceList[]; ease: { id: string; score: number }[] }) => string[],
        ) => console.log(`  ${name.padEnd(44)} ${fmt(hs.map((h, f) => ndcgOf(h, perFold[f].map(top))))}`);
        console.log(`\n${tag}`);
        run('EASE alone', (x) => x.ease.slice(0, 10).map((e) => e.id));
        run('co-occurrence (shipped)', (x) => x.lists[0].items.slice(0, 10).map((e) => e.id));
        run('default blend (shipped)', (x) => blend(x.lists, 10, cfg.blend).map((b) => b.id));
        // (c) co-occurrence + w·EASE, each normalised by its list's max (negative EASE scores count 0).
        for (const wt of (process.env.EASE_CW ?? '0.1,0.2,0.3,0.5,1').split(',').map(Number))
          run(`cooc + ${wt}·ease (score/max)`, (x) => fuseScores(x.lists[0].items, x.ease, wt));
        for (const wt of (process.env.EASE_RW ?? '0.2,0.5,1').split(',').map(Number))
          run(`cooc + ${wt}·ease (rank 1/(60+r))`, (x) => fuseRanks(x.lists[0].items, x.ease, wt, 60));
        // (b) EASE as another blend source.
        const blendVariants = (process.env.EASE_BW ?? '0.1s,0.3s,0.6s,1s,0.1r,0.3r,0.6r')
          .split(',')
          .map((v) => [Number(v.slice(0, -1)), v.endsWith('r') ? 'rank' : 'score'] as const);
        for (const [wt, norm] of blendVariants) {
          const p: BlendParams = {
            ...cfg.blend,
            sources: { ...cfg.blend.sources, ease: { weight: wt, normalise: norm } },
          };
          run(`default + ease ${wt} ${norm}`, (x) =>
            blend([...x.lists, { source: 'ease', items: x.ease }], 10, p).map((b) => b.id),
          );
        }
      }
  }
}

function fuseScores(
  a: readonly { id: string; score: number }[],
  b: readonly { id: string; score: number }[],
  wt: number,
): string[] {
  const acc = new Map<string, number>();
  const add = (l: readonly { id: string; score: number }[], f: number) => {
    const max = l.reduce((m, c) => Math.max(m, c.score), 0);
    if (max <= 0) return;
    for (const c of l) acc.set(c.id, (acc.get(c.id) ?? 0) + (f * Math.max(0, c.score)) / max);
  };
  add(a, 1);
  add(b, wt);
  return [...acc]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, 10)
    .map((e) => e[0]);
}

function fuseRanks(
  a: readonly { id: string; score: number }[],
  b: readonly { id: string; score: number }[],
  wt: number,
  k: number,
): string[] {
  const acc = new Map<string, number>();
  a.forEach((c, r) => acc.set(c.id, (acc.get(c.id) ?? 0) + 1 / (k + r + 1)));
  b.forEach((c, r) => acc.set(c.id, (acc.get(c.id) ?? 0) + wt / (k + r + 1)));
  return [...acc]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, 10)
    .map((e) => e[0]);
}

void main();
