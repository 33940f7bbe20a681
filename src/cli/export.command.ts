// `export`: pages through the catalogue and writes one JSON object per line.
import * as fs from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ApiClient, field, messageOf } from './http';
import { createProgress } from './progress';

export class CommandFailed extends Error {}

export async function runExport(
  client: ApiClient,
  catalogue: string,
  opts: { out?: string; progress: boolean },
): Promise<number> {
  const base = `/v1/catalogues/${catalogue}`;
  const meta = await client.request('GET', base);
  if (meta.status === 404) throw new CommandFailed(`catalogue '${catalogue}' not found`);
  if (meta.status !== 200) throw new CommandFailed(`server answered ${meta.status}: ${messageOf(meta.body)}`);
  const total = Number(field(meta.body, 'items') ?? 0);
  const out: Writable = opts.out ? fs.createWriteStream(opts.out) : process.stdout;
  const progress = createProgress(opts.progress, total);
  // A Redis hash scan may return an item twice; write each id once.
  const written = new Set<string>();
  let cursor: string | null = '0';
  try {
    do {
      const r = await client.request('GET', `${base}/items?cursor=${encodeURIComponent(cursor)}&limit=1000`);
      if (r.status !== 200) throw new CommandFailed(`server answered ${r.status}: ${messageOf(r.body)}`);
      const page = r.body as { items: { id: string }[]; cursor: string | null };
      for (const item of page.items) {
        if (written.has(item.id)) continue;
        written.add(item.id);
        if (!out.write(`${JSON.stringify(item)}\n`)) await once(out, 'drain');
      }
      progress.update(written.size, written.size);
      cursor = page.cursor;
    } while (cursor);
  } finally {
    progress.stop();
    if (opts.out) {
      out.end();
      await once(out, 'finish');
    }
  }
  return written.size;
}
