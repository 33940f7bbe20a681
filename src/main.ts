import 'reflect-metadata';
import { loadConfigOrExit } from './config/config';
import { startApi } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  await startApi(config);
}

main().catch((e: unknown) => {
  process.stderr.write(`API failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
