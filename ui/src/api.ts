import type { AppType } from '@hearth/hub/client';
import { type ClientResponse, hc } from 'hono/client';
import type { ResponseFormat } from 'hono/types';
import type { SuccessStatusCode } from 'hono/utils/http-status';

/**
 * The one typed client of the hub's `/api`. Only this module touches `hc`; pages call the
 * functions below. Every non-2xx response becomes an `ApiError`; a 401 for a missing or
 * expired session also tells the app to show the sign-in page.
 */

export type Role = 'owner' | 'member' | 'viewer';
export type Locale = 'en' | 'ko';
export type DeviceKind = 'camera' | 'node';
export type DeviceStatus = 'new' | 'online' | 'offline';
export type Severity = 'info' | 'warning' | 'error' | 'critical';

export interface User {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  locale: Locale;
  createdAt: string;
}

export interface Device {
  id: number;
  name: string;
  kind: DeviceKind;
  hardwareId: string | null;
  status: DeviceStatus;
  lastSeenAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeviceToken {
  id: number;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SystemEvent {
  id: number;
  at: string;
  kind: string;
  severity: Severity;
  subject: string | null;
  message: string;
  details: unknown;
}

export interface Settings {
  timeZone: string;
  householdName: string;
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Seconds, from `Retry-After` on 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** Per-field problems of a 400 `invalid_input`. */
  get issues(): FieldIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    if (!Array.isArray(issues)) return [];
    return issues.flatMap((issue: unknown) => {
      if (!issue || typeof issue !== 'object') return [];
      const { path, message } = issue as { path?: unknown; message?: unknown };
      const name = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : '';
      return typeof message === 'string' ? [{ path: name, message }] : [];
    });
  }
}

let unauthorizedHandler: () => void = () => {};

/** Called when any request answers 401 `unauthorized` (session missing or expired). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

async function toApiError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body?.error) {
      if (typeof body.error.code === 'string') code = body.error.code;
      if (typeof body.error.message === 'string') message = body.error.message;
      details = body.error.details;
    }
  } catch {
    // Not JSON (a proxy's error page, say): keep the status line.
  }
  const retryHeader = Number(res.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : undefined;
  return new ApiError(res.status, code, message, details, retryAfter);
}

const apiFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  let res: Response;
  try {
    res = await fetch(input, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'The hub did not answer.');
  }
  if (res.ok) return res;
  const error = await toApiError(res);
  if (res.status === 401 && error.code === 'unauthorized') unauthorizedHandler();
  throw error;
};

const client = hc<AppType>('/api', { fetch: apiFetch });

type Success<R> =
  R extends ClientResponse<infer T, infer S, infer F>
    ? S extends SuccessStatusCode
      ? F extends 'json'
        ? T
        : undefined
      : never
    : never;

/** The body of a successful response (errors were already thrown by `apiFetch`). */
async function data<R extends ClientResponse<unknown, number, ResponseFormat>>(
  request: Promise<R>,
): Promise<Success<R>> {
  const res = await request;
  if (res.status === 204) return undefined as Success<R>;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as Success<R>;
}

const param = (id: number) => ({ id: String(id) });

export const api = {
  health: (): Promise<{ status: string; version: string; setupNeeded: boolean }> =>
    data(client.health.$get()),

  setupStatus: (): Promise<{ needed: boolean }> => data(client.setup.$get()),
  setup: (json: {
    code: string;
    username: string;
    password: string;
    locale?: Locale;
  }): Promise<{ user: User }> => data(client.setup.$post({ json })),

  login: (json: { username: string; password: string }): Promise<{ user: User }> =>
    data(client.auth.login.$post({ json })),
  logout: async (): Promise<void> => {
    await client.auth.logout.$post();
  },
  me: (): Promise<{ user: User }> => data(client.auth.me.$get()),
  updateMe: (json: { locale?: Locale; displayName?: string }): Promise<{ user: User }> =>
    data(client.auth.me.$patch({ json })),
  changePassword: async (json: { currentPassword: string; newPassword: string }): Promise<void> => {
    await client.auth.password.$post({ json });
  },

  listUsers: (): Promise<{ users: User[] }> => data(client.users.$get()),
  createUser: (json: {
    username: string;
    password: string;
    role: Role;
    displayName?: string;
  }): Promise<{ user: User }> => data(client.users.$post({ json })),
  updateUser: (id: number, json: { role?: Role; displayName?: string }): Promise<{ user: User }> =>
    data(client.users[':id'].$patch({ param: param(id), json })),
  resetPassword: async (id: number, password: string): Promise<void> => {
    await client.users[':id'].password.$post({ param: param(id), json: { password } });
  },
  deleteUser: async (id: number): Promise<void> => {
    await client.users[':id'].$delete({ param: param(id) });
  },

  listDevices: (): Promise<{ devices: Device[] }> => data(client.devices.$get()),
  createDevice: (json: {
    name: string;
    kind: DeviceKind;
    hardwareId?: string;
  }): Promise<{ device: Device; token: string }> => data(client.devices.$post({ json })),
  deleteDevice: async (id: number): Promise<void> => {
    await client.devices[':id'].$delete({ param: param(id) });
  },
  listTokens: (id: number): Promise<{ tokens: DeviceToken[] }> =>
    data(client.devices[':id'].tokens.$get({ param: param(id) })),
  createToken: (id: number): Promise<{ token: string; info: DeviceToken }> =>
    data(client.devices[':id'].tokens.$post({ param: param(id) })),
  revokeToken: (id: number, tokenId: number): Promise<{ token: DeviceToken }> =>
    data(
      client.devices[':id'].tokens[':tokenId'].$delete({
        param: { id: String(id), tokenId: String(tokenId) },
      }),
    ),

  listSystemEvents: (query: {
    before?: number;
    limit?: number;
    minSeverity?: Severity;
  }): Promise<{ events: SystemEvent[] }> => {
    const q: { before?: string; limit?: string; minSeverity?: Severity } = {};
    if (query.before !== undefined) q.before = String(query.before);
    if (query.limit !== undefined) q.limit = String(query.limit);
    if (query.minSeverity) q.minSeverity = query.minSeverity;
    return data(client['system-events'].$get({ query: q }));
  },

  getSettings: (): Promise<{ settings: Settings }> => data(client.settings.$get()),
  updateSettings: (json: Partial<Settings>): Promise<{ settings: Settings }> =>
    data(client.settings.$patch({ json })),
};
