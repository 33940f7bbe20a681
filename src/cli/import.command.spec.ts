import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, UnreachableError } from './http';
import { runImport, summarize, type ImportOptions } from './import.command';

// A scripted stand-in for the API: each PUT is answered by the next handler (the last one repeats).
function fakeApi(handlers: ((items: { id: string }[]) => [number, unknown])[]) {
  const bodies: { id: string }[][] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const items = (JSON.parse(raw) as { items: { id: string }[] }).items;
      bodies.push(items);
      const [status, body] = handlers[Math.min(bodies.length - 1, handlers.length - 1)](items);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  return {
    bodies,
    async start() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('import (against a scripted server)', () => {
  let dir: string;
  let file: string;
  const opts: ImportOptions = {
    catalogue: 'shop',
    listSeparator: '|',
    batchSize: 3,
    dryRun: false,
    progress: false,
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-cli-'));
    file = path.join(dir, 'items.jsonl');
    const lines = ['a', 'b', 'c', 'd', 'e'].map((id) => JSON.stringify({ id, title: `item ${id}` }));
    lines.splice(2, 0, JSON.stringify({ id: 'x' }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('retries 5xx with backoff, keeps a locally bad line out of every batch, and reports it', async () => {
    const api = fakeApi([() => [503, { message: 'busy' }], (items) => [202, { accepted: items.length }]]);
    const client = new ApiClient(await api.start(), 'k', { baseDelayMs: 1 });
    try {
      const r = await runImport(file, opts, client, () => undefined);
      expect(r.imported).toBe(5);
      expect(r.failures).toEqual([{ line: 3, reason: 'title: is required' }]);
      expect(api.bodies.map((b) => b.map((i) => i.id))).toEqual([
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['d', 'e'],
      ]);
      expect(summarize(r, false)[1]).toBe('line 3: title: is required');
    } finally {
      await api.close();
    }
  });

  it('maps a 400 back to line numbers and retries the rest of the batch once', async () => {
    const api = fakeApi([
      () => [400, { message: 'Validation failed', errors: [{ path: 'items.1.title', message: 'taken' }] }],
      (items) => [202, { accepted: items.length }],
    ]);
    const client = new ApiClient(await api.start(), 'k', { baseDelayMs: 1 });
    try {
      const r = await runImport(file, opts, client, () => undefined);
      // Lines: a=1 b=2 x=3(bad) c=4 d=5 e=6; the first batch is [a, b, c], b is blamed.
      expect(r.failures).toEqual([
        { line: 2, reason: 'title: taken' },
        { line: 3, reason: 'title: is required' },
      ]);
      expect(r.imported).toBe(4);
      expect(api.bodies[1].map((i) => i.id)).toEqual(['a', 'c']);
    } finally {
      await api.close();
    }
  });

  it('sends nothing on --dry-run', async () => {
    const r = await runImport(file, { ...opts, dryRun: true }, undefined, () => undefined);
    expect(r).toMatchObject({ imported: 5, failures: [{ line: 3 }] });
    expect(summarize(r, true)[0]).toBe('dry run: valid 5, failed 1 (nothing was sent)');
  });

  it('gives up on an unreachable server with an UnreachableError', async () => {
    const api = fakeApi([]);
    const url = await api.start();
    await api.close();
    const client = new ApiClient(url, 'k', { retries: 1, baseDelayMs: 1 });
    await expect(runImport(file, opts, client, () => undefined)).rejects.toThrow(UnreachableError);
  });
});
