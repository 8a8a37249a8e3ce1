import type { Clock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { createHub, type Hub } from '../hub.js';
import { createLogger } from '../log/logger.js';
import { tempDir } from './spawn-hub.js';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A browser-like HTTP client on 127.0.0.1: keeps the session cookie and sends its own Origin. */
export class TestClient {
  cookie = '';
  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    options: {
      json?: unknown;
      body?: string | Uint8Array | Blob | FormData;
      headers?: Record<string, string>;
      origin?: string | null;
    } = {},
  ): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (options.origin !== null) headers.origin = options.origin ?? this.baseUrl;
    let body = options.body;
    if (options.json !== undefined && method !== 'GET' && method !== 'HEAD') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: (body ?? null) as RequestInit['body'],
    });
    const setCookie = response.headers.getSetCookie();
    for (const line of setCookie) {
      const [pair] = line.split(';');
      if (pair?.startsWith('hearth_session=')) this.cookie = pair.endsWith('=') ? '' : pair;
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, json?: unknown) {
    return this.request<T>('POST', path, { json: json ?? {} });
  }
  patch<T = any>(path: string, json: unknown) {
    return this.request<T>('PATCH', path, { json });
  }
  put<T = any>(path: string, json: unknown) {
    return this.request<T>('PUT', path, { json });
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }
  async login(username: string, password: string) {
    const response = await this.post('/api/auth/login', { username, password });
    if (response.status !== 200)
      throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  }
}

export const OWNER = { username: 'owner', password: 'owner-password-1' };

export interface TestHub {
  hub: Hub;
  url: string;
  dataDir: string;
  client(): TestClient;
  /** A client signed in as the first owner (created through the real setup endpoint). */
  owner(): Promise<TestClient>;
  /** A client signed in as a new user with that role. */
  userWithRole(role: 'owner' | 'member' | 'viewer'): Promise<TestClient>;
  stop(): Promise<void>;
}

let counter = 0;

/** The real hub in this process on a real port, with a fresh data folder and a silent log. */
export async function startTestHub(
  overrides: ConfigInput = {},
  /** `dataDir`: the folder of a stopped test hub, to start it again (a restart). */
  options: { clock?: Clock; dataDir?: string } = {},
): Promise<TestHub> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig(
    {},
    {
      ...overrides,
      dataDir,
      server: { port: 0, host: '127.0.0.1', ...overrides.server },
      // Demo tests count cameras; the photo tests start their own virtual camera.
      photos: { demoCamera: false, ...overrides.photos },
      // Camera events open a second stream on RTSP cameras and run a detector on every sampled change;
      // the tests about them turn them on.
      // The photo job asks the inference service about multi-photo bursts: loading models costs seconds.
      ai: {
        ...overrides.ai,
        inference: { enabled: false, ...overrides.ai?.inference },
        detections: { enabled: false, ...overrides.ai?.detections },
      },
      log: { level: 'silent' },
    },
  );
  const hub = createHub({
    config,
    log: createLogger('silent'),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { url } = await hub.start();
  let ownerReady: Promise<void> | undefined;

  async function ensureOwner() {
    ownerReady ??= (async () => {
      if (!hub.setup.isNeeded()) return; // a restarted hub has its owner already
      const code = hub.setup.currentCode();
      const response = await new TestClient(url).post('/api/setup', { code, ...OWNER });
      if (response.status !== 201) throw new Error(`setup failed: ${JSON.stringify(response.body)}`);
    })();
    await ownerReady;
  }

  return {
    hub,
    url,
    dataDir,
    client: () => new TestClient(url),
    async owner() {
      await ensureOwner();
      const client = new TestClient(url);
      await client.login(OWNER.username, OWNER.password);
      return client;
    },
    async userWithRole(role) {
      await ensureOwner();
      counter += 1;
      const username = `${role}${counter}`;
      await hub.users.create({ username, password: 'member-password-1', role });
      const client = new TestClient(url);
      await client.login(username, 'member-password-1');
      return client;
    },
    stop: () => hub.stop(),
  };
}
