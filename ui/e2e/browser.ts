import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { REPO_ROOT, type SpawnedHub, spawnHub, tempDir } from '../../hub/src/testing/spawn-hub.js';

/** Debian's chromium, driven headless; flags keep it off the network (this machine has none). */
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export function launch(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: PHONE,
    deviceScaleFactor: 2,
    locale: 'en-US',
  });
}

/**
 * The compiled hub with an owner signed in, and a browser holding that owner's session cookie.
 * `api` calls the hub as the owner; `close` stops both and removes their folders.
 */
export async function signedInHub(
  env: Record<string, string>,
  /** `secure`: the browser uses https://hearth.test with the hub's CA trusted (the hub needs that name). */
  options: { secure?: boolean } = {},
): Promise<{
  hub: SpawnedHub;
  context: BrowserContext;
  /** Where the browser opens the hub: `hub.url`, or the HTTPS origin. */
  origin: string;
  api: (url: string, init?: { method?: string; body?: unknown }) => Promise<{ status: number; json: any }>;
  close: () => Promise<void>;
}> {
  assert.ok(
    existsSync(path.join(REPO_ROOT, 'ui', 'dist', 'index.html')),
    'ui/dist is not built: npm run build',
  );
  const hub = await spawnHub({ env });
  const cleanup: (() => Promise<void>)[] = [
    async () => {
      await hub.stop();
      rmSync(hub.dataDir, { recursive: true, force: true });
    },
  ];
  const close = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    assert.equal(setup.status, 201);
    const cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
    const dir = tempDir('hearth-chromium-');
    const secure = options.secure ? await secureBrowser(hub, dir) : null;
    const context = secure?.context ?? (await launch(dir));
    const origin = secure?.httpsOrigin ?? hub.url;
    cleanup.push(async () => {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    const [name, value] = cookie.split('=');
    await context.addCookies([{ name: name!, value: value!, url: origin }]);
    const api = async (url: string, init: { method?: string; body?: unknown } = {}) => {
      const response = await fetch(`${hub.url}${url}`, {
        method: init.method ?? 'GET',
        headers: { cookie, origin: hub.url, 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    };
    return { hub, context, origin, api, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export const SECURE_NAME = 'hearth.test';

/**
 * A browser that reaches `hub` as `https://hearth.test:<https port>` and trusts the hub's CA the way a household
 * computer does: imported with website trust into the NSS database of the browser's own HOME (certutil, Debian's
 * libnss3-tools), so Chromium checks the real chain. The name is not loopback on purpose (Chromium treats
 * localhost and 127.0.0.1 as secure even over plain HTTP). Without certutil: the server key's SPKI pin.
 * The hub must have been started with `https.names` including SECURE_NAME.
 */
export async function secureBrowser(
  hub: SpawnedHub,
  dir: string,
): Promise<{ context: BrowserContext; httpsOrigin: string; httpOrigin: string; chainChecked: boolean }> {
  const { execFileSync, spawnSync } = await import('node:child_process');
  const { createHash, X509Certificate } = await import('node:crypto');
  const { mkdirSync, readFileSync } = await import('node:fs');
  const listening = hub.logs.find((line) => line.msg === 'listening')!;
  const httpsOrigin = `https://${SECURE_NAME}:${listening.httpsPort as number}`;
  const httpOrigin = `http://${SECURE_NAME}:${new URL(hub.url).port}`;
  const home = path.join(dir, 'home');
  const args = [...ARGS, `--host-resolver-rules=MAP ${SECURE_NAME} 127.0.0.1`];
  const chainChecked = spawnSync('certutil', ['-H'], { stdio: 'ignore' }).error === undefined;
  if (chainChecked) {
    const nssdb = path.join(home, '.pki', 'nssdb');
    mkdirSync(nssdb, { recursive: true });
    execFileSync('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
    const ca = path.join(hub.dataDir, 'tls', 'ca.crt');
    execFileSync('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'Hearth local CA', '-t', 'C,,', '-i', ca]);
  } else {
    const server = new X509Certificate(readFileSync(path.join(hub.dataDir, 'tls', 'server.crt')));
    const pin = createHash('sha256')
      .update(server.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    args.push(`--ignore-certificate-errors-spki-list=${pin}`);
  }
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args,
    env: { ...process.env, HOME: home },
    viewport: PHONE,
    deviceScaleFactor: 2,
    locale: 'en-US',
  });
  return { context, httpsOrigin, httpOrigin, chainChecked };
}
