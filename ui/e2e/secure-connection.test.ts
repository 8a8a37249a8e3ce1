/**
 * HTTPS from the hub's own CA in a real browser: headless Chromium reaches the compiled hub as
 * `https://hearth.test:<port>/`. The name is not loopback on purpose: Chromium counts localhost and
 * 127.0.0.1 as secure even over plain HTTP, which would hide a broken HTTPS setup. `hearth.test` is
 * mapped to 127.0.0.1 inside the browser (--host-resolver-rules), and the browser trusts the hub's CA
 * the way a household computer would: the CA certificate is imported, with trust for websites, into
 * the NSS database of the browser's own HOME (certutil, Debian's libnss3-tools), so Chromium checks
 * the real chain — signature, names, name constraints, EKU, validity. Without certutil the test falls
 * back to `--ignore-certificate-errors-spki-list` with the server key's pin, which proves the secure
 * context but not the chain (the hub's own tests check the chain with openssl).
 *
 * Then /secure: the fingerprint, the QR code, the instructions in English and Korean, and the owner's
 * redirect toggle, after which a plain-HTTP page load lands on HTTPS. Needs `npm run build` and chromium.
 *
 *   node --import tsx --conditions=development --test ui/e2e/secure-connection.test.ts
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { REPO_ROOT, type SpawnedHub, spawnHub, tempDir } from '../../hub/src/testing/spawn-hub.js';
import { CHROMIUM, SECURE_NAME, secureBrowser } from './browser.js';

const NAME = SECURE_NAME;

describe('secure connection (HTTPS from the hub’s CA)', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
}, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let chainChecked = false;
  let httpsOrigin = '';
  let httpOrigin = '';
  let cookie = '';
  const dir = tempDir('hearth-secure-e2e-');

  const api = async (url: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${hub.url}${url}`, {
      method: init.method ?? 'GET',
      headers: { cookie, origin: hub.url, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    assert.ok(
      existsSync(path.join(REPO_ROOT, 'ui', 'dist', 'index.html')),
      'ui/dist is not built: npm run build',
    );
    const config = path.join(dir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ https: { names: [NAME] } }));
    hub = await spawnHub({ env: { HEARTH_CONFIG: config } });
    const listening = hub.logs.find((line) => line.msg === 'listening')!;
    const httpsPort = listening.httpsPort as number;
    assert.ok(httpsPort > 0, 'the hub logs its HTTPS port');
    httpsOrigin = `https://${NAME}:${httpsPort}`;
    httpOrigin = `http://${NAME}:${new URL(hub.url).port}`;

    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    assert.equal(setup.status, 201);
    cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;

    ({ context, chainChecked } = await secureBrowser(hub, dir));
    const [name, value] = cookie.split('=');
    await context.addCookies([
      { name: name!, value: value!, url: httpsOrigin },
      { name: name!, value: value!, url: httpOrigin },
    ]);
  });

  after(async () => {
    await context?.close().catch(() => {});
    await hub?.stop();
    if (hub) rmSync(hub.dataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('hearth.test over HTTPS is a secure context (HTTP/2); the same name over plain HTTP is not', async (t) => {
    t.diagnostic(
      chainChecked ? 'CA trusted through an NSS database' : 'no certutil: SPKI pin instead of the CA',
    );
    const page = await context.newPage();
    await page.goto(`${httpOrigin}/`);
    assert.equal(await page.evaluate(() => window.isSecureContext), false, 'hearth.test is not loopback');
    const response = await page.goto(`${httpsOrigin}/`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    const protocol = await page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
    );
    assert.equal(protocol, 'h2');
    assert.equal(typeof (await page.evaluate(() => 'serviceWorker' in navigator)), 'boolean');
    assert.equal(
      await page.evaluate(() => 'serviceWorker' in navigator),
      true,
      'service workers need a secure context',
    );
    await page.close();
  });

  test('/secure shows the fingerprint, the QR code and the steps in English and Korean; the owner turns on the redirect', async () => {
    const info = (await api('/api/tls')).json;
    const page = await context.newPage();
    await page.goto(`${httpsOrigin}/settings`);
    await page.getByRole('link', { name: 'Set up a secure connection' }).click();
    await page.getByRole('heading', { level: 1, name: 'Secure connection (HTTPS)' }).waitFor();
    await page.getByTestId('secure-state').getByText('This page is on a secure connection').waitFor();
    assert.equal(await page.getByTestId('ca-fingerprint').textContent(), info.caFingerprintSha256);
    const qr = page.getByTestId('ca-qr');
    await qr.locator('svg path').first().waitFor();
    assert.match((await qr.getAttribute('aria-label')) ?? '', /\/api\/tls\/ca\.crt$/);
    const url = await page.getByTestId('ca-url').textContent();
    assert.equal(
      url,
      `http://${NAME}:${new URL(hub.url).port}/api/tls/ca.crt`,
      'the QR points at plain HTTP',
    );
    await page.getByTestId('steps-ios').getByText('iPhone and iPad').click();
    await page.getByText('Certificate Trust Settings and turn on full trust').waitFor();
    await page.getByText('Install a certificate → CA certificate').waitFor({ state: 'attached' });
    const download = await page.evaluate(async () => {
      const response = await fetch('/api/tls/ca.crt');
      return { type: response.headers.get('content-type'), bytes: (await response.arrayBuffer()).byteLength };
    });
    assert.deepEqual(download, {
      type: 'application/x-x509-ca-cert',
      bytes: new X509Certificate(readFileSync(path.join(hub.dataDir, 'tls', 'ca.crt'))).raw.length,
    });

    // The owner's toggle: a write from the browser over HTTP/2 (the CSRF guard sees Host from :authority).
    await page.getByLabel('Open pages over HTTPS when someone uses the plain HTTP address').check();
    await waitUntil(async () => (await api('/api/tls')).json.redirect === true);
    const moved = await context.newPage();
    await moved.goto(`${httpOrigin}/cameras`);
    assert.equal(moved.url(), `${httpsOrigin}/cameras`);
    assert.equal(await moved.evaluate(() => window.isSecureContext), true);
    await moved.close();
    await page.getByLabel('Open pages over HTTPS when someone uses the plain HTTP address').uncheck();
    await waitUntil(async () => (await api('/api/tls')).json.redirect === false);

    await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '보안 연결(HTTPS)' }).waitFor();
    await page.getByText('이 페이지는 보안 연결로 열려 있습니다.').waitFor();
    assert.equal(await page.getByTestId('ca-fingerprint').textContent(), info.caFingerprintSha256);
    await page.getByTestId('ca-qr').locator('svg').waitFor();
    await page.getByTestId('steps-ios').getByText('iPhone 및 iPad').click();
    await page.getByText('인증서 신뢰 설정에서 “Hearth local CA”의 전체 신뢰를 켜세요.').waitFor();
    await page
      .getByRole('button', { name: '인증서 다운로드' })
      .or(page.getByRole('link', { name: '인증서 다운로드' }))
      .waitFor();
    await api('/api/auth/me', { method: 'PATCH', body: { locale: 'en' } });
    await page.close();
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
