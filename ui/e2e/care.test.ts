/**
 * Care in a real browser against the compiled hub and a real agent process on a pty: a member adds the
 * baby and the cradle's node on the Care page; a fever on the scripted Arduino alerts the open page (banner,
 * sound flag), escalates when nobody acknowledges, stops escalating once acknowledged from the banner, and
 * resolves when the temperature falls; the incident's log says who was told and who acknowledged. Korean too.
 * The rule's durations are shortened on the person's page, as a household may; the full-length rules are tested
 * on the hub with an injected clock (hub/src/care/care.test.ts). Needs `npm run build`, chromium and socat.
 *
 *   node --import tsx --conditions=development --test ui/e2e/care.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { type SpawnedHub, tempDir, waitFor } from '../../hub/src/testing/index.js';
import { type AgentProcess, agentProcess } from '../../node/src/testing/agent-process.js';
import { startPty } from '../../node/src/testing/pty.js';
import { CHROMIUM, SECURE_NAME, signedInHub } from './browser.js';

describe('care', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let origin = '';
  let close = async () => {};
  let agent: AgentProcess | undefined;
  let pty: Awaited<ReturnType<typeof startPty>>;
  let feeding: NodeJS.Timeout | undefined;
  /** Home Assistant's webhook, as far as the hub can tell. */
  const receiver = {
    port: 0,
    notices: [] as { kind: string; title: string }[],
    server: null as http.Server | null,
  };
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
      JSON.stringify({
        nodes: { heartbeatSeconds: 2 },
        care: { escalateAfterSeconds: 4 },
        https: { names: [SECURE_NAME] },
      }),
    );
    // Over HTTPS at a name that is not loopback, with the hub's CA trusted: notifications and the service
    // worker need a secure context, and 127.0.0.1 would count as one even over plain HTTP.
    ({ hub, context, origin, api, close } = await signedInHub({ HEARTH_CONFIG: config }, { secure: true }));
    pty = await startPty(dir);
    receiver.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        receiver.notices.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.server!.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
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
    receiver.server?.closeAllConnections();
    await new Promise((resolve) => receiver.server?.close(resolve) ?? resolve(null));
    await close();
  });

  test('a fever alerts the open page, escalates until acknowledged from the banner, and resolves', async () => {
    await context.grantPermissions(['notifications'], { origin });
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    // Installable: the manifest and the service worker that shows notifications.
    const pwa = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const manifest = await fetch('/manifest.webmanifest');
      return {
        scope: registration.scope,
        type: manifest.headers.get('content-type'),
        name: (await manifest.json()).name,
      };
    });
    assert.deepEqual(pwa, { scope: `${origin}/`, type: 'application/manifest+json', name: 'Hearth' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Care' }).click();
    await page.getByRole('heading', { level: 1, name: 'Care' }).waitFor();
    // A camera over the cradle (a generated one here).
    const nursery = await api('/api/cameras', {
      method: 'POST',
      body: { id: 'nursery', name: 'Nursery', kind: 'demo' },
    });
    assert.equal(nursery.status, 201, JSON.stringify(nursery.json));
    await page.getByRole('button', { name: 'Add a person' }).click();
    const form = page.getByTestId('add-subject');
    await form.getByLabel('Nursery').check();
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
    await card.getByRole('link', { name: 'Nursery' }).locator('img').waitFor({ timeout: 30_000 });

    // The household shortens the fever rule on Minji's page (2 s above 38.0, over after 2 s below).
    const subject = (await api('/api/subjects')).json.subjects[0];
    await card.getByRole('link', { name: 'Minji' }).click();
    await page.getByRole('heading', { level: 1, name: 'Minji' }).waitFor();
    const fever = page.getByTestId('rules').getByRole('listitem').filter({ hasText: 'Fever' });
    await fever.getByRole('button', { name: 'Change' }).click();
    await fever.getByLabel('For at least (seconds)').fill('2');
    await fever.getByLabel('Over after (seconds)').fill('2');
    await fever.getByRole('button', { name: 'Save' }).click();
    await fever.getByText('temperature above 38 for 2 s').waitFor();
    await page.goto(`${origin}/care`);

    await waitFor(
      'the agent running',
      () => (agent!.output().includes('running') ? true : undefined),
      30_000,
    );
    // The owner sends alerts to the household's Home Assistant too (a webhook on the LAN), and tests it.
    await page.goto(`${origin}/settings`);
    await page.getByRole('link', { name: 'Set up alert channels' }).click();
    await page.getByRole('heading', { level: 1, name: 'Alert channels' }).waitFor();
    await page.getByRole('button', { name: 'Webhook (Home Assistant)' }).click();
    const channel = page.getByTestId('channel-webhook-1');
    await channel.getByLabel('Name').fill('Home Assistant');
    await channel.getByLabel('Address').fill('https://example.com/hook');
    await page.getByRole('button', { name: 'Save' }).click();
    await channel.getByText(/must be on the household LAN/).waitFor();
    await channel.getByLabel('Address').fill(`http://127.0.0.1:${receiver.port}/hook`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await channel.getByRole('button', { name: 'Send a test' }).click();
    await page.getByText('The test arrived.').waitFor();
    assert.equal(receiver.notices[0]?.kind, 'test');
    await channel.getByText(/delivered/).waitFor();
    await page.goto(`${origin}/care`);

    feed(38.6);
    const banner = page.getByTestId('alert-banner');
    await banner.getByRole('link', { name: 'Minji: Fever' }).waitFor({ timeout: 30_000 });
    assert.equal(await banner.getAttribute('data-sound'), 'normal');
    const pushed = await waitFor(
      'the alert at Home Assistant',
      () => receiver.notices.find((n) => n.kind === 'fired'),
      10_000,
    );
    assert.equal(pushed.title, 'Minji: Fever');
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
    await page.goto(`${origin}/incidents/${incident.id}`);
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
    await page.goto(`${origin}/care/${subject.id}`);
    const chart = page.getByTestId('chart-temperature');
    await chart.locator('canvas').waitFor();
    assert.ok(Number(await chart.locator('.chart-box').getAttribute('data-points')) >= 1);
    const href = await chart.getByRole('link', { name: 'CSV' }).getAttribute('href');
    // Fetched by the page itself (the browser resolves hearth.test), with its session.
    const csv = await page.evaluate(async (url) => {
      const response = await fetch(url!);
      return { status: response.status, text: await response.text() };
    }, href);
    assert.equal(csv.status, 200);
    const lines = csv.text.trimEnd().split('\n');
    assert.equal(lines[0], 'time,count,min,max,mean,last');
    assert.ok(lines.length >= 2, 'the readings of the last day');
    await page.getByTestId('rules').getByText('Fever').waitFor();

    // The dashboard leads with the people watched over.
    await page.goto(`${origin}/`);
    await page.getByRole('heading', { level: 2, name: 'Care' }).waitFor();
    await page
      .getByTestId(/^subject-/)
      .getByRole('link', { name: 'Minji' })
      .waitFor();

    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } })).status, 200);
    await page.goto(`${origin}/care`);
    await page.getByRole('heading', { level: 1, name: '돌봄' }).waitFor();
    await page.getByRole('link', { name: '모든 알림' }).click();
    await page.getByTestId('incidents').getByText('해소됨').waitFor();
    await page.getByTestId('incidents').getByText('owner 님이 확인').waitFor();
  });
});
