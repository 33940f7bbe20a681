import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommandFailed } from './export.command';
import { ApiClient } from './http';
import { runReindex } from './reindex.command';

// Answers by "METHOD path" from a table; a list of answers is consumed in order (the last one repeats).
async function scripted(routes: Record<string, [number, unknown][]>) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const key = `${req.method} ${req.url}`;
      seen.push(raw ? `${key} ${raw}` : key);
      const answers = routes[key] ?? [[404, { message: 'Cannot ' + key }]];
      const [status, body] = answers.length > 1 ? answers.shift()! : answers[0];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    client: new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k', {
      baseDelayMs: 1,
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('reindex', () => {
  const opts = { wait: true, progress: false, intervalMs: 1 };

  it('starts a job with the model and follows it to completion', async () => {
    const api = await scripted({
      'POST /v1/catalogues/shop/reindex': [[202, { jobId: 'j1' }]],
      'GET /v1/jobs/j1': [
        [200, { state: 'queued', processed: 0, total: 0 }],
        [200, { state: 'running', processed: 5, total: 10, itemsPerSecond: 5, etaSeconds: 1, errors: [] }],
        [200, { state: 'completed', processed: 10, total: 10, errors: [] }],
      ],
    });
    const log: string[] = [];
    try {
      const r = await runReindex(api.client, 'shop', { ...opts, model: 'm2' }, (l) => log.push(l));
      expect(r).toMatchObject({ state: 'completed', processed: 10 });
      expect(api.seen[0]).toBe('POST /v1/catalogues/shop/reindex {"model":"m2"}');
      expect(log.at(-1)).toBe('job j1 completed: processed 10 of 10, errors 0');
    } finally {
      await api.close();
    }
  });

  it('fails when the job fails or is cancelled', async () => {
    const api = await scripted({
      'POST /v1/catalogues/shop/reindex': [[202, { jobId: 'j2' }]],
      'GET /v1/jobs/j2': [[200, { state: 'failed', processed: 3, total: 10, errors: ['boom'] }]],
    });
    try {
      await expect(runReindex(api.client, 'shop', opts, () => undefined)).rejects.toThrow(
        /job j2 ended failed/,
      );
    } finally {
      await api.close();
    }
  });

  it('says clearly when the endpoint or catalogue is missing', async () => {
    const api = await scripted({});
    try {
      const p = runReindex(api.client, 'shop', { ...opts, wait: false }, () => undefined);
      await expect(p).rejects.toThrow(CommandFailed);
      await expect(p).rejects.toThrow(/no reindex endpoint/);
    } finally {
      await api.close();
    }
  });

  it('returns the job id at once without --wait', async () => {
    const api = await scripted({ 'POST /v1/catalogues/shop/reindex': [[202, { jobId: 'j3' }]] });
    try {
      expect(await runReindex(api.client, 'shop', { ...opts, wait: false }, () => undefined)).toEqual({
        jobId: 'j3',
      });
      expect(api.seen).toEqual(['POST /v1/catalogues/shop/reindex {}']);
    } finally {
      await api.close();
    }
  });
});
