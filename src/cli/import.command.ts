// `import <file>`: stream, validate each line, send batches, report bad lines by number.
import { catalogueNameSchema, MAX_ITEMS_PER_BATCH } from '../domain/item.schema';
import type { Item } from '../domain/item';
import { parseMap, UsageError } from './fields';
import { ApiClient, field, messageOf } from './http';
import { createProgress } from './progress';
import { openSource } from './sources';
import { blameBatch, formatFailures, type LineFailure } from './validate';

export interface ImportOptions {
  catalogue: string;
  format?: string;
  map?: string;
  listSeparator: string;
  batchSize: number;
  dryRun: boolean;
  progress: boolean;
}

export interface ImportResult {
  imported: number;
  failures: LineFailure[];
  seconds: number;
}

interface Entry {
  line: number;
  item: Item;
}

export function checkCatalogue(name: string): string {
  if (!catalogueNameSchema.safeParse(name).success) {
    throw new UsageError(`--catalogue '${name}' must match [a-z0-9][a-z0-9_-]{0,63}`);
  }
  return name;
}

export function checkBatchSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_ITEMS_PER_BATCH) {
    throw new UsageError(`--batch-size must be an integer from 1 to ${MAX_ITEMS_PER_BATCH}`);
  }
  return n;
}

export async function runImport(
  file: string,
  opts: ImportOptions,
  client: ApiClient | undefined,
  log: (line: string) => void,
): Promise<ImportResult> {
  const catalogue = checkCatalogue(opts.catalogue);
  const batchSize = checkBatchSize(opts.batchSize);
  if (!opts.dryRun && !client) throw new UsageError('no API key: pass --api-key or set ADMIN_API_KEY');
  const source = openSource(file, {
    format: opts.format,
    map: parseMap(opts.map),
    listSeparator: opts.listSeparator,
    onIgnoredColumns: (cols) => log(`warning: ignoring columns that name no item field: ${cols.join(', ')}`),
  });
  const started = Date.now();
  const failures: LineFailure[] = [];
  let imported = 0;
  let seen = 0;
  const progress = createProgress(opts.progress, source.size);
  const route = `/v1/catalogues/${catalogue}/items`;

  const fail = (entries: Entry[], reason: string) => {
    for (const e of entries) failures.push({ line: e.line, reason });
  };

  const send = async (entries: Entry[], retried: boolean): Promise<void> => {
    if (entries.length === 0) return;
    if (opts.dryRun || !client) {
      imported += entries.length;
      return;
    }
    const r = await client.request('PUT', route, { items: entries.map((e) => e.item) });
    if (r.status === 202) {
      imported += entries.length;
      return;
    }
    if (r.status === 400) {
      const errors = field(r.body, 'errors');
      const blamed = blameBatch(
        entries.map((e) => e.line),
        Array.isArray(errors) ? (errors as { path?: unknown; message?: unknown }[]) : [],
      );
      if (blamed) {
        failures.push(...blamed.failures);
        const rest = blamed.rest.map((i) => entries[i]);
        if (!retried) return send(rest, true);
        return fail(rest, `batch rejected twice: ${messageOf(r.body)}`);
      }
    }
    if (r.status === 413 && entries.length > 1) {
      const half = Math.ceil(entries.length / 2);
      await send(entries.slice(0, half), retried);
      return send(entries.slice(half), retried);
    }
    fail(entries, `server answered ${r.status}: ${messageOf(r.body)}`);
  };

  let batch: Entry[] = [];
  try {
    for await (const checked of source.records) {
      seen++;
      if (checked.ok) batch.push({ line: checked.line, item: checked.item });
      else failures.push({ line: checked.line, reason: checked.reason });
      if (batch.length >= batchSize) {
        const full = batch;
        batch = [];
        await send(full, false);
      }
      if (seen % 100 === 0) progress.update(source.bytesRead(), imported);
    }
    await send(batch, false);
    progress.update(source.size, imported);
  } finally {
    progress.stop();
  }
  failures.sort((a, b) => a.line - b.line);
  return { imported, failures, seconds: (Date.now() - started) / 1000 };
}

export function summarize(result: ImportResult, dryRun: boolean): string[] {
  const rate = Math.round(result.imported / Math.max(result.seconds, 0.001));
  const head = dryRun
    ? `dry run: valid ${result.imported}, failed ${result.failures.length} (nothing was sent)`
    : `imported ${result.imported}, failed ${result.failures.length} in ${result.seconds.toFixed(1)} s (${rate} items/s)`;
  return [head, ...formatFailures(result.failures)];
}
