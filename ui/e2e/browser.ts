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
export async function signedInHub(env: Record<string, string>): Promise<{
  hub: SpawnedHub;
  context: BrowserContext;
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
    const context = await launch(dir);
    cleanup.push(async () => {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    const [name, value] = cookie.split('=');
    await context.addCookies([{ name: name!, value: value!, url: hub.url }]);
    const api = async (url: string, init: { method?: string; body?: unknown } = {}) => {
      const response = await fetch(`${hub.url}${url}`, {
        method: init.method ?? 'GET',
        headers: { cookie, origin: hub.url, 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    };
    return { hub, context, api, close };
  } catch (error) {
    await close();
    throw error;
  }
}
