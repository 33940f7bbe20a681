// A progress bar on stderr with items/s and ETA; in a pipe it prints a line every second instead.
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(value: number, items: number): void;
  setTotal(total: number): void;
  stop(): void;
}

export function createProgress(enabled: boolean, total: number, unit = 'items'): Progress {
  if (!enabled) return { update: () => undefined, setTotal: () => undefined, stop: () => undefined };
  const started = Date.now();
  const bar = new SingleBar({
    stream: process.stderr,
    format: `{bar} {percentage}% | {items} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
    barsize: 30,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 1000,
    etaBuffer: 50,
  });
  const payload = (items: number) => ({
    items,
    rate: Math.round(items / Math.max((Date.now() - started) / 1000, 0.001)),
  });
  bar.start(Math.max(total, 1), 0, payload(0));
  return {
    update: (value, items) => bar.update(value, payload(items)),
    setTotal: (t) => bar.setTotal(Math.max(t, 1)),
    stop: () => bar.stop(),
  };
}
