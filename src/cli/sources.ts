// Streams a JSON Lines or CSV file record by record, each checked with its line number.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parse } from 'csv-parse';
import { planColumns, rowToRecord, UsageError } from './fields';
import { checkJsonLine, checkRecord, type Checked } from './validate';

export type Format = 'jsonl' | 'csv';

export interface SourceOptions {
  format?: string;
  map: Map<string, string>;
  listSeparator: string;
  /** Told once about header columns that feed no field. */
  onIgnoredColumns?: (columns: string[]) => void;
}

export interface Source {
  records: AsyncIterable<Checked>;
  /** Bytes consumed so far (for progress against the file size). */
  bytesRead(): number;
  size: number;
}

export function detectFormat(file: string, explicit?: string): Format {
  const f = (explicit ?? '').toLowerCase();
  if (f === 'jsonl' || f === 'ndjson' || f === 'json') return 'jsonl';
  if (f === 'csv') return 'csv';
  if (f) throw new UsageError(`--format must be jsonl or csv, not '${explicit}'`);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new UsageError(`cannot tell the format of '${file}' from its extension; pass --format jsonl|csv`);
}

export function openSource(file: string, opts: SourceOptions): Source {
  const format = detectFormat(file, opts.format);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new UsageError(`cannot read '${file}': ${(e as Error).message}`);
  }
  const stream = fs.createReadStream(file);
  return {
    size,
    bytesRead: () => stream.bytesRead,
    records: format === 'jsonl' ? jsonLines(stream) : csvRecords(stream, opts),
  };
}

async function* jsonLines(stream: fs.ReadStream): AsyncGenerator<Checked> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const checked = checkJsonLine(line === 1 ? text.replace(/^\uFEFF/, '') : text, line);
    if (checked) yield checked;
  }
}

interface CsvEntry {
  record: string[];
  info: { lines: number; empty_lines: number };
}

async function* csvRecords(stream: fs.ReadStream, opts: SourceOptions): AsyncGenerator<Checked> {
  const parser = stream.pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  let plan: ReturnType<typeof planColumns> | undefined;
  // csv-parse reports the line a record ends on; a quoted cell may span lines, so track where it starts.
  let lastLine = 0;
  let lastEmpty = 0;
  try {
    for await (const entry of parser as AsyncIterable<CsvEntry>) {
      const { record, info } = entry;
      const line = lastLine + 1 + (info.empty_lines - lastEmpty);
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      if (!plan) {
        plan = planColumns(
          record.map((h) => h.trim()),
          opts.map,
        );
        if (plan.ignored.length > 0) opts.onIgnoredColumns?.(plan.ignored);
        continue;
      }
      if (record.length !== plan.fields.length) {
        yield {
          ok: false,
          line,
          reason: `has ${record.length} columns, the header has ${plan.fields.length}`,
        };
        continue;
      }
      yield checkRecord(rowToRecord(record, plan, opts.listSeparator), line);
    }
  } finally {
    stream.destroy();
  }
  if (!plan) throw new UsageError('the CSV file is empty: it needs a header row naming item fields');
}
