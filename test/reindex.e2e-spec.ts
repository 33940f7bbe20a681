import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { CatalogueRepository } from '../src/catalogue/catalogue.repository';
import { readMovies } from '../src/datasets/movielens';
import { EmbedderService } from '../src/embedding/embedder.service';
import { cosine } from '../src/domain/vector-math';
import { itemText } from '../src/domain/item';
import { IndexRegistry } from '../src/index/index-registry';
import { prepareTestModels, SMALL_MODEL_ID } from './support/models';
import { SHARED_DIR, startStack, waitFor, type Stack } from './support/stack';

describe('reindex flows and model migration (in-process API + worker)', () => {
  let s: Stack;
  const C = '/v1/catalogues/films';
  const movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small')).slice(0, 600);
  const modelDir = prepareTestModels(fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-models-')));

  beforeAll(async () => {
    s = await startStack('reindex', { env: { MODEL_DIR: modelDir } });
    for (let i = 0; i < movies.length; i += 300) {
      expect((await s.call('PUT', `${C}/items`, { items: movies.slice(i, i + 300) })).status).toBe(202);
    }
    await waitFor(
      async () => (await s.call('GET', C)).body.indexed === movies.length,
      'catalogue indexed',
      60_000,
    );
  });
  afterAll(async () => {
    await s?.close();
    // The test model it built (google/use-lite in it is a symlink: removed, not followed).
    fs.rmSync(modelDir, { recursive: true, force: true });
  });

  const job = (id: string) => s.call('GET', `/v1/jobs/${id}`);
  const finished = (id: string) =>
    waitFor(
      async () => {
        const r = await job(id);
        return ['completed', 'failed', 'cancelled'].includes(r.body.state) ? r.body : undefined;
      },
      `job ${id}`,
      90_000,
    );

  it('rejects an unknown model, a bad template and an unknown catalogue or job', async () => {
    const bad = await s.call('POST', `${C}/reindex`, { model: 'nobody/nothing' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/model/);
    expect((await s.call('POST', `${C}/reindex`, { textTemplate: 'no placeholders' })).status).toBe(400);
    expect((await s.call('POST', `${C}/reindex`, { model: 'google/use-lite', extra: 1 })).status).toBe(400);
    expect((await s.call('POST', '/v1/catalogues/nope/reindex', {})).status).toBe(404);
    expect((await job('reindex-nope-00000000')).status).toBe(404);
  });

  it('migrates to a model of another dimension while similar keeps answering, and writes during it land', async () => {
    const toyStory = '1';
    const before = (await s.call('GET', `${C}/items/${toyStory}/similar?limit=10`)).body.items;
    const start = await s.call('POST', `${C}/reindex`, {
      model: SMALL_MODEL_ID,
      textTemplate: '{title}. {categories}',
    });
    expect(start.status).toBe(202);
    expect((await s.call('POST', `${C}/reindex`, {})).status).toBe(409);

    // Writes while the new generation is built: an update, a delete and a new item.
    const updated = { ...movies[10], title: 'Space pirates on a frozen moon (2031)', categories: ['Sci-Fi'] };
    const added = {
      id: 'new-1',
      title: 'Cartoon toys come alive in a kids bedroom (2030)',
      categories: ['Animation', 'Children'],
    };
    expect((await s.call('PUT', `${C}/items`, { items: [updated, added] })).status).toBe(202);
    expect((await s.call('DELETE', `${C}/items/${movies[20].id}`)).status).toBe(204);

    let polls = 0;
    const failures: string[] = [];
    let done: { state: string } | undefined;
    while (!done) {
      const r = await s.call('GET', `${C}/items/${toyStory}/similar?limit=10`);
      polls++;
      if (r.status !== 200 || r.body.items.length === 0)
        failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      const j = await job(start.body.jobId);
      if (['completed', 'failed', 'cancelled'].includes(j.body.state)) done = j.body;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(failures).toEqual([]);
    expect(polls).toBeGreaterThan(2);
    expect(done.state).toBe('completed');

    const meta = (await s.call('GET', C)).body;
    expect(meta).toMatchObject({ model: SMALL_MODEL_ID, dimension: 256, generation: 2, reindex: null });
    await waitFor(
      async () => (await s.call('GET', C)).body.indexed === meta.items,
      'new generation complete',
    );
    expect(meta.items).toBe(movies.length); // +1 new, -1 deleted

    // Every replica (here: this one) serves the new generation: 256-dim vectors, no deleted item.
    const registry = s.api.get(IndexRegistry);
    await waitFor(async () => registry.get('films')?.generation === 2, 'replica switched');
    const entry = registry.get('films')!;
    expect(entry.index.dimension).toBe(256);
    expect(entry.index.size).toBe(movies.length);
    expect(entry.index.has(movies[20].id)).toBe(false);
    expect(entry.index.has('new-1')).toBe(true);

    // The updated item's vector is the new model's embedding of its new text, not of the old one.
    const embedder = await s.api.get(EmbedderService).get(SMALL_MODEL_ID);
    const [expected] = await embedder.embed([itemText(updated, '{title}. {categories}')]);
    expect(cosine(entry.index.vector(updated.id)!, expected)).toBeGreaterThan(0.9999);

    const after = (await s.call('GET', `${C}/items/${toyStory}/similar?limit=10`)).body.items;
    expect(after.map((i: { id: string }) => i.id)).not.toEqual(before.map((i: { id: string }) => i.id));
    // The old generation's vectors are deleted.
    const repo = s.api.get(CatalogueRepository);
    expect(await repo.vectorCount('films', 1)).toBe(0);
    expect((await s.call('GET', `${C}/items/${updated.id}`)).body.indexing).toMatchObject({
      state: 'indexed',
      model: SMALL_MODEL_ID,
    });
  });

  it('cancels a running reindex and keeps serving the active generation', async () => {
    const start = await s.call('POST', `${C}/reindex`, { model: 'google/use-lite' });
    expect(start.status).toBe(202);
    const cancelled = await s.call('DELETE', `/v1/jobs/${start.body.jobId}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect((await s.call('DELETE', `/v1/jobs/${start.body.jobId}`)).status).toBe(409);
    const final = await finished(start.body.jobId);
    expect(final.state).toBe('cancelled');
    const meta = (await s.call('GET', C)).body;
    expect(meta).toMatchObject({ model: SMALL_MODEL_ID, generation: 2, reindex: null });
    const repo = s.api.get(CatalogueRepository);
    expect(await repo.vectorCount('films', 3)).toBe(0);
    expect((await s.call('GET', `${C}/items/1/similar?limit=5`)).body.items).toHaveLength(5);
  });
});
