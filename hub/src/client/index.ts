import { hc } from 'hono/client';
import type { AppType } from '../http/api.js';
import { deadline } from '../protocol/deadline.js';

export type { AppType };

/** The typed client for a device (edge node, tests) calling the hub with its bearer token. */
export function createDeviceClient(hubUrl: string, token: string, init: { timeoutMs?: number } = {}) {
  const timeoutMs = init.timeoutMs ?? 10_000;
  return hc<AppType>(new URL('/api', hubUrl).toString(), {
    headers: { authorization: `Bearer ${token}` },
    fetch: (input: string | URL | Request, requestInit?: RequestInit) => {
      // The caller's signal (a shutdown) and the timeout: whichever comes first ends the call. The answers are
      // small JSON: once the headers are in, the body follows at once (undici's body timeout covers the rest).
      const limit = deadline(timeoutMs, requestInit?.signal);
      return fetch(input, { ...requestInit, signal: limit.signal }).finally(limit.done);
    },
  });
}
