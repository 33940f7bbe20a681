// Coordinate search of the blend and co-occurrence settings on the VALIDATION split only (never the test targets).
import { BASE_CONFIG, Harness, type Method, type ResearchConfig } from './harness';
import { loadMovieLens, movieVectors } from './movielens';

type Variant = [string, (c: ResearchConfig) => ResearchConfig];

async function main(): Promise<void> {
  const ml = loadMovieLens();
  const vectors = await movieVectors(ml.items);
  const h = new Harness({ itemIds: ml.items.map((i) => i.id), vectors, ratings: ml.ratings }, 'validation');
  const group = process.argv[2] ?? 'cooc';
  const method = (process.argv[3] ?? 'co_occurrence') as Method;
  const variants = VARIANTS[group];
  for (const [name, f] of variants) {
    const r = h.evaluate(method, f(BASE_CONFIG));
    console.log(`${name.padEnd(40)} hr ${r.hr.toFixed(4)} ndcg ${r.ndcg.toFixed(4)} cov ${r.coverage.toFixed(4)}`);
  }
}

const win = (w: Partial<ResearchConfig['window']>) => (c: ResearchConfig) => ({ ...c, window: { ...c.window, ...w } });
const sc = (s: Partial<ResearchConfig['scoring']>) => (c: ResearchConfig) => ({ ...c, scoring: { ...c.scoring, ...s } });

const VARIANTS: Record<string, Variant[]> = {
  cooc: [
    ['base', (c) => c],
    ['steps 1', win({ maxSteps: 1 })],
    ['steps 2', win({ maxSteps: 2 })],
    ['steps 5', win({ maxSteps: 5 })],
    ['steps 10', win({ maxSteps: 10 })],
    ['steps 10 decay .7', win({ maxSteps: 10, distanceDecay: 0.7 })],
    ['steps 5 decay .7', win({ maxSteps: 5, distanceDecay: 0.7 })],
    ['steps 3 decay .7', win({ maxSteps: 3, distanceDecay: 0.7 })],
    ['back 0.5', win({ backwardWeight: 0.5 })],
    ['back 0.25', win({ backwardWeight: 0.25 })],
    ['back 0', win({ backwardWeight: 0 })],
    ['seconds 1h', win({ maxSeconds: 3600 })],
    ['seconds 1d', win({ maxSeconds: 86400 })],
    ['recency .5', sc({ recencyDecay: 0.5 })],
    ['recency .85', sc({ recencyDecay: 0.85 })],
    ['lastN 3', sc({ lastN: 3 })],
    ['lastN 10', sc({ lastN: 10 })],
    ['seedNorm .5', sc({ seedNormalisation: 0.5 })],
    ['seedNorm 1', sc({ seedNormalisation: 1 })],
    ['damp .2', sc({ popularityDamping: 0.2 })],
    ['damp .4', sc({ popularityDamping: 0.4 })],
  ],
};

void main();
