import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfigOrExit } from '../src/config/config';
import { createWorker } from './bootstrap';

async function main(): Promise<void> {
  await createWorker(loadConfigOrExit());
  new Logger('Worker').log('worker ready');
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
