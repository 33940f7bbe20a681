#!/usr/bin/env node
// recsvc CLI: import / export / reindex against a running API. Exit 0 ok, 1 failed lines or job, 2 usage or unreachable.
import { Command, CommanderError, Option } from 'commander';
import { CommandFailed, runExport } from './export.command';
import { UsageError } from './fields';
import { ApiClient, AuthError, UnreachableError } from './http';
import { checkCatalogue, runImport, summarize } from './import.command';
import { runReindex } from './reindex.command';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

interface GlobalOptions {
  url: string;
  apiKey?: string;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function client(g: GlobalOptions, required = true): ApiClient | undefined {
  if (!g.apiKey) {
    if (required) throw new UsageError('no API key: pass --api-key or set ADMIN_API_KEY');
    return undefined;
  }
  return new ApiClient(g.url, g.apiKey);
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('recsvc')
    .description('Import, export and reindex recsvc catalogues over the HTTP API')
    .addOption(
      new Option('--url <url>', 'API base URL')
        .env('RECSVC_URL')
        .default(`http://127.0.0.1:${process.env.PORT ?? '8080'}`),
    )
    .addOption(new Option('--api-key <key>', 'admin API key').env('ADMIN_API_KEY'))
    .exitOverride()
    .showHelpAfterError();

  program
    .command('import')
    .description('stream a JSON Lines or CSV file into a catalogue')
    .argument('<file>', '.jsonl/.ndjson/.json (one object per line) or .csv')
    .requiredOption('-c, --catalogue <name>', 'catalogue to write to')
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--map <pairs>', 'CSV column mapping field=column,... e.g. title=name,id=sku')
    .option('--list-separator <sep>', 'separator of categories/tags cells in CSV', '|')
    .option('--batch-size <n>', 'items per request (max 1000)', (v) => Number(v), 500)
    .option('--dry-run', 'validate only; send nothing', false)
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, o: Record<string, unknown>, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const result = await runImport(
        file,
        {
          catalogue: String(o.catalogue),
          format: o.format as string | undefined,
          map: o.map as string | undefined,
          listSeparator: String(o.listSeparator),
          batchSize: Number(o.batchSize),
          dryRun: Boolean(o.dryRun),
          progress: Boolean(o.progress),
        },
        client(g, !o.dryRun),
        err,
      );
      for (const line of summarize(result, Boolean(o.dryRun))) out(line);
      setExit(result.failures.length > 0 ? EXIT_FAILED : EXIT_OK);
    });

  program
    .command('export')
    .description('write every item of a catalogue as JSON Lines')
    .requiredOption('-c, --catalogue <name>', 'catalogue to read')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('--no-progress', 'no progress bar')
    .action(async (o: { catalogue: string; out?: string; progress: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const n = await runExport(client(g)!, checkCatalogue(o.catalogue), o);
      err(`exported ${n} items`);
      setExit(EXIT_OK);
    });

  program
    .command('reindex')
    .description('re-embed a catalogue, optionally with another model')
    .requiredOption('-c, --catalogue <name>', 'catalogue to reindex')
    .option('--model <id>', 'model to switch to')
    .option('--text-template <template>', 'text to embed per item, e.g. "{title}. {categories}"')
    .option('--wait', 'follow the job until it ends', false)
    .option('--no-progress', 'no progress bar')
    .action(
      async (
        o: { catalogue: string; model?: string; textTemplate?: string; wait: boolean; progress: boolean },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const r = await runReindex(client(g)!, checkCatalogue(o.catalogue), o, err);
        if (!o.wait && 'jobId' in r) out(r.jobId);
        setExit(EXIT_OK);
      },
    );

  return program;
}

/** Runs the CLI and returns its exit code (never calls process.exit, so tests can drive it). */
export async function run(argv: string[]): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0
        ? EXIT_OK
        : EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof UnreachableError || e instanceof AuthError) {
      err(`error: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof CommandFailed) {
      err(`error: ${e.message}`);
      return EXIT_FAILED;
    }
    err(`error: ${(e as Error).message ?? String(e)}`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
