import { hc } from 'hono/client';
import type { AppType } from '../http/api.js';

export type { AppType };

/** The typed client for a device (edge node, tests) calling the hub with its bearer token. */
export function createDeviceClient(hubUrl: string, token: string, init: { timeoutMs?: number } = {}) {
  const timeoutMs = init.timeoutMs ?? 10_000;
  return hc<AppType>(new URL('/api', hubUrl).toString(), {
    headers: { authorization: `Bearer ${token}` },
    fetch: (input: string | URL | Request, requestInit?: RequestInit) =>
      fetch(input, {
        ...requestInit,
        // The caller's signal (a shutdown) and the timeout: whichever comes first ends the call.
        signal: requestInit?.signal
          ? AbortSignal.any([requestInit.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
      }),
  });
}
