/** Waits `ms`, or less when `signal` aborts (a stopping agent never waits out a back-off). */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/**
 * An idle loop's wait for new work: `wait()` resolves at the next `wake()` or when `signal` aborts. The
 * abort listener is removed again each time: an idle loop waits here thousands of times a day.
 */
export function wakeup(signal: AbortSignal) {
  let waiting: (() => void) | null = null;
  return {
    wake(): void {
      waiting?.();
    },
    wait(): Promise<void> {
      return new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          waiting = null;
          resolve();
        };
        waiting = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}
