import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { CatalogueRepository, textHash } from '../src/catalogue/catalogue.repository';
import { readMovies } from '../src/datasets/movielens';
import { itemText } from '../src/domain/item';
import { IndexRegistry } from '../src/index/index-registry';
import { StreamFollower } from '../src/index/stream-follower.service';
import { EmbedQueue } from '../src/jobs/embed.queue';
import { call, listenApi, SHARED_DIR, startStack, waitFor, type Stack } from './support/stack';

describe('index snapshots and restart (real Redis, real model, real index)', () => {
  let s: Stack;
  const C = '/v1/catalogues/snap';
  const movies = readMovies(path.join(SHARED_DIR, 'data/movielens-ml-latest-small')).slice(0, 1500);
  const probes = movies.slice(0, 25).map((m) => m.id);

  const answers = async (url: string) => {
    const out: Record<string, string[]> = {};
    for (const id of probes) {
      if (!['3', '7'].includes(id)) {
        const r = await call(url, 'GET', `${C}/items/${id}/similar?limit=10`);
        out[id] = r.body.items.map((i: { id: string; score: number }) => `${i.id}:${i.score.toFixed(5)}`);
      }
    }
    return out;
  };
  const ready = (url: string) =>
    waitFor(
      async () => (await call(url, 'GET', '/health/ready', undefined, {})).status === 200,
      'ready',
      60_000,
    );

  beforeAll(async () => {
    s = await startStack('snapshot', { env: { SNAPSHOT_INTERVAL_SECONDS: '0' } });
    for (let i = 0; i < movies.length; i += 500)
      await s.call('PUT', `${C}/items`, { items: movies.slice(i, i + 500) });
    await waitFor(async () => (await s.call('GET', C)).body.indexed === movies.length, 'indexed', 90_000);
    await waitFor(
      async () => s.api.get(IndexRegistry).get('snap')?.index.size === movies.length,
      'replica caught up',
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('writes a snapshot on shutdown, restarts from it, replays changes made while down, and answers identically', async () => {
    for (const id of ['3', '7']) expect((await s.call('DELETE', `${C}/items/${id}`)).status).toBe(204);
    await waitFor(async () => !s.api.get(IndexRegistry).get('snap')!.index.has('7'), 'deletes applied');
    const before = await answers(s.url);
    await s.api.close();
    const manifest = JSON.parse(
      fs.readFileSync(path.join(s.config.INDEX_DIR_ABS, 'snap/manifest.json'), 'utf8'),
    );
    expect(manifest).toMatchObject({ catalogue: 'snap', generation: 1, size: movies.length - 2 });

    // While no API runs: a new item (embedded by the worker) and a delete land in Redis and the stream.
    const repo = s.worker!.get(CatalogueRepository);
    const meta = (await repo.meta('snap'))!;
    const fresh = {
      id: 'while-down',
      title: 'Toy Story (1995)',
      categories: ['Animation', 'Children'],
      available: true,
    };
    const [req] = await repo.upsertItems('snap', [
      { item: fresh, hashes: new Map([[1, textHash(itemText(fresh, meta.textTemplate))]]) },
    ]);
    await s.worker!.get(EmbedQueue).enqueue([{ catalogue: 'snap', ...req }]);
    expect(await repo.deleteItem('snap', movies[100].id, meta)).toBe(true);
    await waitFor(async () => (await repo.counts('snap', 1)).pending === 0, 'embedded while down');

    const logs: string[] = [];
    const spy = jest
      .spyOn(Logger.prototype, 'log')
      .mockImplementation((m: unknown) => void logs.push(String(m)));
    const t0 = Date.now();
    const second = await listenApi(s.config);
    await ready(second.url);
    const restartMs = Date.now() - t0;
    spy.mockRestore();
    expect(logs.some((l) => /snap loaded from its snapshot/.test(l))).toBe(true);
    expect(logs.some((l) => /rebuilding/.test(l))).toBe(false);
    const index = second.api.get(IndexRegistry).get('snap')!.index;
    await waitFor(async () => index.has('while-down') && !index.has(movies[100].id), 'stream replayed');
    // The int8 copies (MMR) came back with the snapshot instead of filling request by request.
    expect(index.quantised).toBe(index.size);

    const after = await answers(second.url);
    for (const id of Object.keys(before)) {
      // The two changes made while down may enter a list; everything else is identical.
      const strip = (l: string[]) =>
        l.filter((e) => !e.startsWith('while-down:') && !e.startsWith(`${movies[100].id}:`));
      expect(strip(after[id]).slice(0, 8)).toEqual(strip(before[id]).slice(0, 8));
    }
    const toy = (await call(second.url, 'GET', `${C}/items/1/similar?limit=3`)).body.items.map(
      (i: { id: string }) => i.id,
    );
    expect(toy).toContain('while-down');
    process.stdout.write(`restart from snapshot: ready in ${restartMs} ms\n`);
    await second.api.get(StreamFollower).saveSnapshots();
    await second.api.close();
    // The new snapshot replaced the old one's files: the manifest, its hnswlib file and its int8 copies.
    const saved = JSON.parse(
      fs.readFileSync(path.join(s.config.INDEX_DIR_ABS, 'snap/manifest.json'), 'utf8'),
    );
    expect(saved.indexFile).not.toBe(manifest.indexFile);
    expect(fs.readdirSync(path.join(s.config.INDEX_DIR_ABS, 'snap')).sort()).toEqual(
      [saved.indexFile, `${saved.indexFile}.q8`, 'manifest.json'].sort(),
    );

    // A corrupt snapshot is rebuilt from Redis, with a log line saying so, and answers the same.
    fs.writeFileSync(path.join(s.config.INDEX_DIR_ABS, 'snap/manifest.json'), '{"version": 1, "catal');
    const rebuiltLogs: string[] = [];
    const spy2 = jest
      .spyOn(Logger.prototype, 'log')
      .mockImplementation((m: unknown) => void rebuiltLogs.push(String(m)));
    const third = await listenApi(s.config);
    await ready(third.url);
    spy2.mockRestore();
    expect(
      rebuiltLogs.some((l) =>
        /snap: the snapshot is unreadable .*rebuilding its index from the vectors in Redis/.test(l),
      ),
    ).toBe(true);
    const rebuilt = await answers(third.url);
    for (const id of Object.keys(after))
      expect(rebuilt[id].map((e) => e.split(':')[0]).slice(0, 5)).toEqual(
        after[id].map((e) => e.split(':')[0]).slice(0, 5),
      );
    await third.api.close();
    // Stack.close() closes its own API again: give it a live one.
    s.api = (await listenApi(s.config)).api;
  });
});
