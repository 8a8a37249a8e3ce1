/**
 * Care in a real browser against the compiled hub and a real agent process on a pty: a member adds the
 * baby and the cradle's node on the Care page; a fever on the scripted Arduino alerts the open page (banner,
 * sound flag), escalates when nobody acknowledges, stops escalating once acknowledged from the banner, and
 * resolves when the temperature falls; the incident's log says who was told and who acknowledged. Korean too.
 * The rule's durations are shortened on the person's page, as a household may; the full-length rules are tested
 * on the hub with an injected clock (hub/src/care/care.test.ts). On a person's page a member labels cry clips,
 * trains, activates and rolls back versions of the household's cry model and trains a routine model; a viewer
 * only looks and listens. Needs `npm run build`, chromium, socat and sox (the clips).
 *
 *   node --import tsx --conditions=development --test ui/e2e/care.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { cryingClip, quietClip } from '../../hub/src/ai/cry/fixtures/clips.js';
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

  test("a person's cry model: label, train, activate and roll back on their page; routine; Korean; a viewer", {
    skip: spawnSync('sox', ['--version']).status !== 0 && 'sox not installed (it makes the clips)',
  }, async () => {
    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'en' } })).status, 200);
    const created = await api('/api/subjects', {
      method: 'POST',
      body: { name: 'Haneul', kind: 'baby', defaults: false },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id: number = created.json.subject.id;
    const page = await context.newPage();
    await page.goto(`${origin}/care/${id}`);
    await page.getByRole('heading', { level: 1, name: 'Haneul' }).waitFor();

    // Clips as a node keeps them: four crying and three quiet ones labelled, one quiet one waiting for a
    // label (noise and hums: sox alone makes them). Sent by the page, with the owner's session.
    const minute = 60_000;
    const start = Date.now() - 60 * minute;
    const clips: (readonly [Buffer, 'crying' | 'not_crying' | null])[] = [
      ...[0, 1, 2, 3].map((i) => [cryingClip(i), 'crying'] as const),
      ...[0, 1, 3].map((i) => [quietClip(i), 'not_crying'] as const),
      [quietClip(4), null],
    ];
    const ids: number[] = [];
    for (const [index, [wav, label]] of clips.entries()) {
      const kept = await page.evaluate(
        async ({ url, data }) => {
          const body = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const response = await fetch(url, {
            method: 'POST',
            body,
            headers: { 'content-type': 'audio/wav' },
          });
          return { status: response.status, json: await response.json() };
        },
        {
          url: `/api/subjects/${id}/cry/clips?recordedAt=${start + index * minute}`,
          data: wav.toString('base64'),
        },
      );
      assert.equal(kept.status, 201, JSON.stringify(kept.json));
      ids.push(kept.json.clip.id);
      if (label) {
        const marked = await api(`/api/subjects/${id}/cry/clips/${kept.json.clip.id}/label`, {
          method: 'PUT',
          body: { label },
        });
        assert.equal(marked.status, 200);
      }
    }
    const models = async () => (await api(`/api/subjects/${id}/cry/models`)).json;

    await page.reload();
    const cry = page.getByTestId('cry-models');
    await cry.getByText('Labelled: 4 crying, 3 not crying.').waitFor();
    await cry.getByText('Training needs 4 of each').waitFor();
    await cry.getByText('Default detector', { exact: true }).waitFor();
    // Too few: the hub's refusal, said plainly.
    await cry.getByRole('button', { name: 'Train a new version' }).click();
    await cry
      .getByText(
        'Training needs at least 4 clips labelled “crying” and 4 labelled “not crying”; there are 4 and 3.',
      )
      .waitFor();

    // The clip waiting for a label comes first, with its sound.
    const waiting = cry.getByTestId(/^cry-clip-/).first();
    assert.equal(await waiting.getAttribute('data-testid'), `cry-clip-${ids.at(-1)}`);
    await waiting.getByText(/^Not labelled · deleted/).waitFor();
    const audio = await waiting.locator('audio').evaluate(async (element: HTMLAudioElement) => {
      const response = await fetch(element.src);
      return { type: response.headers.get('content-type'), bytes: (await response.arrayBuffer()).byteLength };
    });
    assert.equal(audio.type, 'audio/wav');
    assert.ok(audio.bytes > 90_000, 'three seconds of 16 kHz audio');
    await waiting.getByRole('button', { name: 'Not crying' }).click();
    await cry.getByText('Labelled: 4 crying, 4 not crying.').waitFor();
    await cry.getByText('Enough to train').waitFor();
    assert.equal((await models()).labelled.notCrying, 4);

    // Train: the new version and its held-out figures, not in use until activated.
    await cry.getByRole('button', { name: 'Train a new version' }).click();
    await cry
      .getByText(/^Version 1 trained\. On clips it did not learn from: precision/)
      .waitFor({ timeout: 30_000 });
    const v1 = (await models()).versions[0];
    const held = v1.metrics.heldOut;
    const row1 = cry.getByTestId('cry-version-1');
    const percent = (value: number | null) =>
      value === null ? '–' : value.toLocaleString('en', { style: 'percent', maximumFractionDigits: 0 });
    // Version, trained, clips, precision, recall, false alarms.
    const cells = (await row1.locator('td').allInnerTexts()).slice(2, 6);
    assert.deepEqual(cells, [
      `${v1.clips} (4 crying, 4 not)`,
      percent(held.precision),
      percent(held.recall),
      `${held.falsePositives} of ${held.negatives}`,
    ]);
    assert.equal((await models()).active, null);
    await row1.getByRole('button', { name: 'Activate' }).click();
    await row1.getByText('In use').waitFor();
    assert.equal((await models()).active, 1);

    // v2, activated, then rolled back to v1.
    await cry.getByRole('button', { name: 'Train a new version' }).click();
    const row2 = cry.getByTestId('cry-version-2');
    await row2.getByRole('button', { name: 'Activate' }).click({ timeout: 30_000 });
    await row2.getByText('In use').waitFor();
    assert.equal((await models()).active, 2);
    await cry.getByRole('button', { name: 'Roll back' }).click();
    await cry.getByText('Version 1 is in use now.').waitFor();
    await row1.getByText('In use').waitFor();
    assert.equal(await row2.getByText('In use').count(), 0);
    assert.equal((await models()).active, 1);

    // Routine (folded away for a baby): with no sensors yet a version is kept that cannot score.
    const routine = page.getByTestId('routine-models');
    await routine.getByRole('heading', { name: 'Daily routine' }).click();
    await routine.getByText(/^No routine model yet/).waitFor();
    await routine.getByRole('button', { name: 'Train now' }).click();
    await routine.getByText(/^Version 1 kept, but it cannot score yet: /).waitFor();
    await routine
      .getByTestId('routine-version-1')
      .getByText(/cannot score: /)
      .waitFor();
    const status = (await api(`/api/subjects/${id}/routine`)).json;
    assert.deepEqual([status.active.version, status.active.ready], [1, false]);

    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } })).status, 200);
    await page.reload();
    await cry.getByRole('heading', { name: '울음' }).waitFor();
    await cry.getByText('표시한 클립: 울음 4개, 울음 아님 4개.').waitFor();
    await cry.getByText('버전 1 사용 중').waitFor();
    await cry.getByRole('button', { name: '새 버전 학습' }).waitFor();
    await row1.getByText('사용 중').waitFor();
    await page.close();

    // A viewer listens and reads the figures; no button to change anything.
    const viewer = await api('/api/users', {
      method: 'POST',
      body: { username: 'grandma', password: 'viewer-password-1', role: 'viewer', locale: 'en' },
    });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.json));
    const login = await fetch(`${hub.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ username: 'grandma', password: 'viewer-password-1' }),
    });
    assert.equal(login.status, 200);
    const [name, value] = login.headers.getSetCookie()[0]!.split(';')[0]!.split('=');
    const owner = await context.cookies();
    await context.clearCookies();
    await context.addCookies([{ name: name!, value: value!, url: origin }]);
    const looking = await context.newPage();
    await looking.goto(`${origin}/care/${id}`);
    const seen = looking.getByTestId('cry-models');
    await seen.getByTestId('cry-version-2').waitFor();
    await seen.getByTestId('cry-clips').waitFor();
    assert.equal(await seen.locator('audio').count(), clips.length);
    assert.equal(await seen.getByRole('button').count(), 0);
    const routineSeen = looking.getByTestId('routine-models');
    await routineSeen.getByRole('heading', { name: 'Daily routine' }).click();
    await routineSeen.getByTestId('routine-version-1').waitFor();
    assert.equal(await routineSeen.getByRole('button').count(), 0);
    await looking.close();
    await context.clearCookies();
    await context.addCookies(owner);
  });
});
