import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { LiveEvent } from '../events/bus.js';
import { createLogger } from '../log/logger.js';
import { settings } from '../settings/settings.schema.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { freePort, type Receiver, startReceiver } from './fixtures/receivers.js';
import { createNotifyService, NOTIFY_SETTINGS_KEY } from './notify.service.js';

let t: TestHub;
let owner: TestClient;
let receiver: Receiver;
const live: LiveEvent[] = [];

before(async () => {
  t = await startTestHub();
  owner = await t.owner();
  receiver = await startReceiver();
  t.hub.bus.subscribe((event) => live.push(event));
});
after(async () => {
  await t?.stop();
  await receiver?.close();
});

const SECRETS = ['webhook-secret-0123456789', 'tk_ntfytoken0123', 'broker-pass-1'];

function channels(extra: { webhookUrl?: string } = {}) {
  return [
    {
      type: 'webhook',
      id: 'home-assistant',
      name: 'Home Assistant',
      enabled: true,
      url: extra.webhookUrl ?? `${receiver.url}/api/webhook/hearth`,
      secret: SECRETS[0],
    },
    {
      type: 'ntfy',
      id: 'phones',
      name: 'Phones',
      server: 'http://ntfy.lan',
      topic: 'hearth-alerts',
      token: SECRETS[1],
      minSeverity: 'emergency',
    },
    {
      type: 'mqtt',
      id: 'broker',
      name: 'Mosquitto',
      url: 'mqtt://192.168.1.10',
      username: 'hearth',
      password: SECRETS[2],
    },
  ];
}

const storedRow = () =>
  t.hub.db.select().from(settings).where(eq(settings.key, NOTIFY_SETTINGS_KEY)).get()?.value ?? null;

test('channels: none at first; the owner saves them; defaults applied; secrets never come back', async () => {
  assert.deepEqual((await owner.get('/api/notify/channels')).body, { channels: [], status: [] });

  const saved = await owner.put('/api/notify/channels', { channels: channels() });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  const shown = await owner.get('/api/notify/channels');
  assert.equal(shown.status, 200);
  const text = JSON.stringify(shown.body);
  for (const secret of SECRETS) assert.ok(!text.includes(secret), 'no secret in the answer');
  assert.deepEqual(shown.body.channels, [
    {
      type: 'webhook',
      id: 'home-assistant',
      name: 'Home Assistant',
      enabled: true,
      minSeverity: 'warning',
      url: `${receiver.url}/api/webhook/hearth`,
      secret: '***',
    },
    {
      type: 'ntfy',
      id: 'phones',
      name: 'Phones',
      enabled: false,
      minSeverity: 'emergency',
      server: 'http://ntfy.lan',
      topic: 'hearth-alerts',
      token: '***',
    },
    {
      type: 'mqtt',
      id: 'broker',
      name: 'Mosquitto',
      enabled: false,
      minSeverity: 'warning',
      url: 'mqtt://192.168.1.10',
      topic: 'hearth/alerts',
      username: 'hearth',
      password: '***',
      qos: 1,
    },
  ]);
  assert.deepEqual(
    shown.body.status.map((status: { id: string; consecutiveFailures: number; pending: number }) => [
      status.id,
      status.consecutiveFailures,
      status.pending,
    ]),
    [
      ['home-assistant', 0, 0],
      ['phones', 0, 0],
      ['broker', 0, 0],
    ],
  );
  assert.deepEqual(saved.body, shown.body, 'PUT answers what GET shows');

  // The UI sends back what it was shown: *** keeps every stored secret.
  const echoed = await owner.put('/api/notify/channels', { channels: shown.body.channels });
  assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
  // Stored sealed (channels.key in the secrets folder): a copy of the database reveals none of them.
  const stored = storedRow() as { secret?: string; token?: string; password?: string }[];
  assert.deepEqual(
    [stored[0]?.secret, stored[1]?.token, stored[2]?.password].map((value) => value?.startsWith('sealed:')),
    [true, true, true],
  );
  const dump = JSON.stringify(storedRow());
  for (const secret of SECRETS) assert.ok(!dump.includes(secret), 'no secret in clear in the database');
  assert.equal((await owner.get('/api/notify/channels')).status, 200);

  const changes = await waitFor('system event', () =>
    t.hub.systemEvents.list({ limit: 20 }).filter((event) => event.kind === 'notify.channels.changed'),
  );
  assert.equal(changes.length, 2);
  assert.equal(changes[0]!.message, 'Alert channels changed: 3 configured, 1 switched on.');
  assert.ok(!JSON.stringify(changes).includes(SECRETS[0]!), 'no secret in the system event either');
  assert.ok(
    live.some(
      (event) => event.topic === 'notify' && (event.data as { change: string }).change === 'channels',
    ),
  );
});

test('bad channel lists are refused with field issues and nothing is stored', async () => {
  const before = JSON.stringify(storedRow());
  const cases: [unknown, string, RegExp][] = [
    [{ channels: channels({ webhookUrl: 'https://example.com/hook' }) }, 'channels.0.url', /household LAN/],
    [{ channels: channels({ webhookUrl: 'http://8.8.8.8/hook' }) }, 'channels.0.url', /8\.8\.8\.8 must be/],
    [{ channels: channels({ webhookUrl: 'ftp://nas.local/x' }) }, 'channels.0.url', /expected http/],
    [{ channels: [{ ...channels()[0], colour: 'red' }] }, 'channels.0', /Unrecognized key/],
    [{ channels: channels(), extra: true }, '', /Unrecognized key/],
    [{ channels: [channels()[0], channels()[0]] }, 'channels.1.id', /used twice/],
    [
      { channels: [{ ...channels()[2], url: 'mqtt://broker.example.org' }] },
      'channels.0.url',
      /household LAN/,
    ],
    // *** for a channel that has no stored secret (a new id) cannot stand for anything.
    [{ channels: [{ ...channels()[0], id: 'new-hook', secret: '***' }] }, 'channels.0.secret', /has none/],
    // Nor does *** carry a secret over to a channel of another type under the same id.
    [{ channels: [{ ...channels()[1], id: 'broker', token: '***' }] }, 'channels.0.token', /has none/],
  ];
  for (const [body, path, message] of cases) {
    const response = await owner.put('/api/notify/channels', body);
    assert.equal(response.status, 400, `${JSON.stringify(body).slice(0, 120)} → ${response.status}`);
    assert.equal(response.body.error.code, 'invalid_input');
    const issue = response.body.error.details.issues.find(
      (candidate: { path: string }) => candidate.path === path,
    );
    assert.ok(issue, `an issue at "${path}": ${JSON.stringify(response.body.error.details.issues)}`);
    assert.match(issue.message, message);
  }
  assert.equal(JSON.stringify(storedRow()), before, 'nothing half-written');
  const member = await t.userWithRole('member');
  assert.equal((await member.get('/api/notify/channels')).status, 403);
  assert.equal((await member.put('/api/notify/channels', { channels: [] })).status, 403);
});

test('the test endpoint sends a signed test notice now, or says why it could not', async () => {
  receiver.received.length = 0;
  const ok = await owner.post('/api/notify/channels/home-assistant/test');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { ok: true });
  const request = receiver.received[0]!;
  const body = JSON.parse(request.body.toString('utf8'));
  assert.equal(body.kind, 'test');
  assert.equal(request.headers['x-hearth-notice-id'], body.id);
  assert.equal(
    request.headers['x-hearth-signature'],
    `sha256=${createHmac('sha256', SECRETS[0]!).update(request.body).digest('hex')}`,
    'signed with the secret kept through the *** round trip',
  );

  const port = await freePort();
  const current = (await owner.get('/api/notify/channels')).body.channels;
  const dead = {
    ...current[0],
    id: 'dead-hook',
    name: 'Dead',
    url: `http://127.0.0.1:${port}/hook`,
    secret: undefined,
  };
  assert.equal((await owner.put('/api/notify/channels', { channels: [...current, dead] })).status, 200);
  const failed = await owner.post('/api/notify/channels/dead-hook/test');
  assert.equal(failed.status, 200);
  assert.deepEqual(failed.body, { ok: false, error: `connection refused (127.0.0.1:${port})` });
  const status = (await owner.get('/api/notify/channels')).body.status.find(
    (entry: { id: string }) => entry.id === 'dead-hook',
  );
  assert.equal(status.consecutiveFailures, 1);
  assert.equal(status.lastError, `connection refused (127.0.0.1:${port})`);
  assert.equal(typeof status.lastAttemptAt, 'number');
  assert.ok(
    live.some(
      (event) =>
        event.topic === 'notify' &&
        (event.data as { change: string; status?: { id: string } }).status?.id === 'dead-hook',
    ),
    'the failure is live on the notify topic',
  );

  assert.equal((await owner.post('/api/notify/channels/nope/test')).status, 404);
  assert.equal((await owner.post('/api/notify/channels/Not%20A%20Slug/test')).status, 400);
  const viewer = await t.userWithRole('viewer');
  assert.equal((await viewer.post('/api/notify/channels/home-assistant/test')).status, 403);
});

test('hub.notify delivers to the enabled channels loud enough, without waiting for them', async () => {
  receiver.received.length = 0;
  const started = performance.now();
  t.hub.notify.notify({
    id: 'incident-9-fired',
    kind: 'fired',
    severity: 'warning',
    title: 'No motion at Grandma’s since 08:00',
    message: 'No motion for 4 h between 08:00 and 22:00.',
    at: Date.now(),
    incidentId: 9,
    subject: { id: 2, name: 'Grandma' },
  });
  t.hub.notify.notify({
    id: 'quiet',
    kind: 'fired',
    severity: 'info',
    title: 'Info',
    message: '',
    at: Date.now(),
  });
  assert.ok(performance.now() - started < 20, 'notify() only queues');
  await waitFor('delivered', () => (receiver.received.length >= 1 ? true : undefined), 5000, 10);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    receiver.received.map((request) => JSON.parse(request.body.toString('utf8')).id),
    ['incident-9-fired'],
    'the info notice is below the webhook’s minimum (warning); the dead channel is retried meanwhile',
  );
  assert.ok(t.hub.notify.status().find((status) => status.id === 'dead-hook')!.pending >= 1);
});

test('the stored list is what a restarted hub loads; the dead-man copy holds webhook and ntfy with secrets', () => {
  const restarted = createNotifyService({
    db: t.hub.db,
    clock: t.hub.clock,
    bus: t.hub.bus,
    systemEvents: t.hub.systemEvents,
    log: createLogger('silent'),
    secretsDir: path.join(t.dataDir, 'secrets'),
  });
  assert.deepEqual(restarted.list().channels, t.hub.notify.list().channels);
  const deadMan = restarted.deadManChannels();
  assert.deepEqual(
    deadMan.map((channel) => channel.id),
    ['home-assistant', 'dead-hook'],
  );
  assert.equal((deadMan[0] as { secret?: string }).secret, SECRETS[0]);
  return restarted.stop();
});
