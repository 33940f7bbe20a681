/**
 * `fn` at most once per `intervalMs` (calls in between are dropped): a warning about a background failure that can
 * repeat on every request says so once instead of flooding the log.
 */
export function atMostEvery<A extends unknown[]>(
  intervalMs: number,
  fn: (...args: A) => void,
): (...args: A) => void {
  let last = -Infinity;
  return (...args) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    fn(...args);
  };
}
