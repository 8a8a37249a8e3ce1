/**
 * Care in a real browser against the compiled hub and a real agent process on a pty: a member adds the
 * baby and the cradle's node on the Care page; a fever on the scripted Arduino alerts the open page (banner,
 * sound flag), escalates when nobody acknowledges, stops escalating once acknowledged from the banner, and
 * resolves when the temperature falls; the incident's log says who was told and who acknowledged. Korean too.
 * The rule's durations are shortened through the API, as a household may; the full-length rules are tested
 * on the hub with an injected clock (hub/src/care/care.test.ts). Needs `npm run build`, chromium and socat.
 *
 *   node --import tsx --conditions=development --test ui/e2e/care.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { type SpawnedHub, tempDir, waitFor } from '../../hub/src/testing/index.js';
import { type AgentProcess, agentProcess } from '../../node/src/testing/agent-process.js';
import { startPty } from '../../node/src/testing/pty.js';
import { CHROMIUM, signedInHub } from './browser.js';

describe('care', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};
  let agent: AgentProcess | undefined;
  let pty: Awaited<ReturnType<typeof startPty>>;
  let feeding: NodeJS.Timeout | undefined;
  const dir = tempDir('hearth-care-e2e-');

  /** The Arduino prints a temperature line every 300 ms, as the cradle's does every few seconds. */
  const feed = (celsius: number) => {
    clearInterval(feeding);
    feeding = setInterval(() => void pty.arduino.write(`아기 체온: ${celsius.toFixed(1)}°C\n`), 300);
  };

  before(async () => {
    const config = path.join(dir, 'hub.json');
    writeFileSync(
      config,
      JSON.stringify({ nodes: { heartbeatSeconds: 2 }, care: { escalateAfterSeconds: 4 } }),
    );
    ({ hub, context, api, close } = await signedInHub({ HEARTH_CONFIG: config }));
    pty = await startPty(dir);
    const { code } = (await api('/api/nodes/codes', { method: 'POST', body: { name: 'Cradle' } })).json;
    const stateDir = path.join(dir, 'cradle');
    const enrol = agentProcess(stateDir, ['enrol', '--hub', hub.url, '--code', code]);
    assert.equal(await enrol.exited, 0, enrol.output());
    writeFileSync(
      path.join(stateDir, 'config.json'),
      JSON.stringify({ sensors: [{ type: 'serial', name: 'cradle', path: pty.nodeEnd, min: 20, max: 45 }] }),
    );
    agent = agentProcess(stateDir, ['run']);
  });
  after(async () => {
    clearInterval(feeding);
    await agent?.stop('SIGKILL');
    await pty?.stop();
    await close();
  });

  test('a fever alerts the open page, escalates until acknowledged from the banner, and resolves', async () => {
    await context.grantPermissions(['notifications'], { origin: hub.url });
    const page = await context.newPage();
    await page.goto(`${hub.url}/`);
    // Installable: the manifest and the service worker that shows notifications (127.0.0.1 is a secure context).
    const pwa = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const manifest = await fetch('/manifest.webmanifest');
      return {
        scope: registration.scope,
        type: manifest.headers.get('content-type'),
        name: (await manifest.json()).name,
      };
    });
    assert.deepEqual(pwa, { scope: `${hub.url}/`, type: 'application/manifest+json', name: 'Hearth' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Care' }).click();
    await page.getByRole('heading', { level: 1, name: 'Care' }).waitFor();
    await page.getByRole('button', { name: 'Add a person' }).click();
    const form = page.getByTestId('add-subject');
    await form.getByLabel('Name').fill('Minji');
    await form.getByLabel('Who').selectOption('baby');
    await form.getByLabel('Cradle').check();
    await form.getByLabel('Quiet hours').fill('7pm');
    await form.getByRole('button', { name: 'Add a person' }).click();
    await form.getByText(/HH:MM-HH:MM/).waitFor();
    await form.getByLabel('Quiet hours').fill('');
    await form.getByRole('button', { name: 'Add a person' }).click();
    const card = page.getByTestId(/^subject-/);
    await card.getByRole('link', { name: 'Minji' }).waitFor();

    // The household shortens the fever rule (2 s above 38.0, resolved after 2 s below).
    const subject = (await api('/api/subjects')).json.subjects[0];
    const fever = (await api(`/api/subjects/${subject.id}`)).json.rules.find((r: any) => r.name === 'Fever');
    const shortened = await api(`/api/rules/${fever.id}`, {
      method: 'PUT',
      body: {
        name: fever.name,
        kind: fever.kind,
        readingKind: fever.readingKind,
        severity: fever.severity,
        dedupSeconds: fever.dedupSeconds,
        params: { ...fever.params, forSeconds: 2, resolveSeconds: 2 },
      },
    });
    assert.equal(shortened.status, 200, JSON.stringify(shortened.json));

    await waitFor(
      'the agent running',
      () => (agent!.output().includes('running') ? true : undefined),
      30_000,
    );
    feed(38.6);
    const banner = page.getByTestId('alert-banner');
    await banner.getByRole('link', { name: 'Minji: Fever' }).waitFor({ timeout: 30_000 });
    assert.equal(await banner.getAttribute('data-sound'), 'normal');
    const shown = await page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => [n.title, n.tag]),
    );
    assert.ok(
      shown.some(([title]) => title === 'Minji: Fever'),
      JSON.stringify(shown),
    );
    await card.getByText('38.6 °C').waitFor({ timeout: 10_000 });
    await page.getByText('Alerts now').waitFor();

    // Nobody acknowledges: every member is told again, louder.
    await banner.getByText('escalated 1×').waitFor({ timeout: 15_000 });
    assert.equal(await banner.getAttribute('data-sound'), 'loud');
    await banner.getByRole('button', { name: 'Acknowledge' }).click();
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    const incident = (await api('/api/incidents')).json.incidents[0];
    assert.equal(incident.state, 'acknowledged');
    assert.equal(incident.acknowledgedBy.name, 'owner');
    assert.ok(incident.escalations >= 1);

    feed(36.8);
    await waitFor(
      'the fever resolved',
      async () =>
        (await api(`/api/incidents/${incident.id}`)).json.incident.state === 'resolved' ? true : undefined,
      30_000,
    );
    clearInterval(feeding);
    await page.goto(`${hub.url}/incidents/${incident.id}`);
    const log = page.getByTestId('incident-log');
    await log.getByText(/Alert/).first().waitFor();
    await log
      .getByText(/Nobody acknowledged: told everyone again/)
      .first()
      .waitFor();
    await log.getByText(/Acknowledged · owner/).waitFor();
    await log.getByText(/Resolved/).waitFor();
    assert.ok((await page.getByTestId('evidence').getByRole('row').count()) >= 3);

    // Minji's page: her temperature over the last day, drawn from the readings, and its CSV.
    await page.goto(`${hub.url}/care/${subject.id}`);
    const chart = page.getByTestId('chart-temperature');
    await chart.locator('canvas').waitFor();
    assert.ok(Number(await chart.locator('.chart-box').getAttribute('data-points')) >= 1);
    const href = await chart.getByRole('link', { name: 'CSV' }).getAttribute('href');
    const csv = await page.request.get(`${hub.url}${href}`);
    assert.equal(csv.status(), 200);
    const lines = (await csv.text()).trimEnd().split('\n');
    assert.equal(lines[0], 'time,count,min,max,mean,last');
    assert.ok(lines.length >= 2, 'the readings of the last day');
    await page.getByTestId('rules').getByText('Fever').waitFor();

    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } })).status, 200);
    await page.goto(`${hub.url}/care`);
    await page.getByRole('heading', { level: 1, name: '돌봄' }).waitFor();
    await page.getByRole('link', { name: '모든 알림' }).click();
    await page.getByTestId('incidents').getByText('해소됨').waitFor();
    await page.getByTestId('incidents').getByText('owner 님이 확인').waitFor();
  });
});
