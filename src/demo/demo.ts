import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// `npm run demo`: starts the API and a worker, loads the bundled demo catalogue, prints what to try.
const root = path.resolve(__dirname, '../../..');
const catalogue = 'demo';
const env = { ...process.env, ADMIN_API_KEY: process.env.ADMIN_API_KEY ?? 'demo-key-change-me-please' };
const port = process.env.PORT ?? '8080';
const base = `http://127.0.0.1:${port}`;
const auth = { authorization: `Bearer ${env.ADMIN_API_KEY}` };

function start(name: string, script: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, script)], { env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${signal ?? code}); stopping the demo\n`);
      stop('SIGTERM');
    }
  });
  return child;
}

let stopping = false;
const children: ChildProcess[] = [];
function stop(signal: NodeJS.Signals): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill(signal);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stopping) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  children.push(start('api', 'dist/src/main.js'), start('worker', 'dist/workers/main.js'));
  await waitFor('the API to be ready', async () => (await fetch(`${base}/health/ready`)).ok, 120_000);
  const items = fs
    .readFileSync(path.join(root, 'src/demo/products.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { id: string });
  const put = await fetch(`${base}/v1/catalogues/${catalogue}/items`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ items }),
  });
  if (put.status !== 202)
    throw new Error(`loading the demo catalogue failed: ${put.status} ${await put.text()}`);
  const last = items[items.length - 1].id;
  await waitFor(
    'the demo catalogue to be indexed',
    async () => {
      const r = await fetch(`${base}/v1/catalogues/${catalogue}/items/${last}/similar?limit=1`, {
        headers: auth,
      });
      return r.ok;
    },
    120_000,
  );
  const key = env.ADMIN_API_KEY;
  process.stdout.write(
    [
      '',
      `Demo catalogue '${catalogue}' (${items.length} products) is indexed. Try:`,
      `  curl -H 'Authorization: Bearer ${key}' '${base}/v1/catalogues/${catalogue}/items/sku-0001/similar?limit=5'`,
      `  curl -H 'Authorization: Bearer ${key}' -H 'content-type: application/json' \\`,
      `       -d '{"query":"waterproof jacket for hiking","limit":5}' ${base}/v1/catalogues/${catalogue}/recommendations`,
      `API docs: ${base}/docs   Stop with Ctrl-C.`,
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  stop('SIGTERM');
  process.exitCode = 1;
});
