/**
 * A signal that aborts after `ms` (a `TimeoutError`) or when `outer` does; `done()` clears both once the work
 * has finished. A plain timer rather than `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: on Node 20 a
 * timeout signal inside such a combination can be garbage-collected before it fires (the call then never
 * ends, nodejs/node#57736), and every combination stays attached to a long-lived `outer` (nodejs/node#54614),
 * which an agent running for months cannot afford.
 */
export function deadline(ms: number, outer?: AbortSignal | null): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  );
  // Like AbortSignal.timeout's: a pending deadline alone does not keep the process alive.
  timer.unref?.();
  const forward = () => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    },
  };
}
