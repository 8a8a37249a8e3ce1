import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import { manualClock } from '../clock.js';
import { freePort, startMosquitto, startReceiver } from '../notify/fixtures/receivers.js';
import { webhookSignature } from '../notify/senders.js';
import { startTestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { babyWithCradle } from './fixtures/cradle.js';

test('an alert reaches a webhook and an MQTT broker, a dead channel is retried and reported and holds nothing up; the notice’s link acknowledges once', async (t) => {
  const clock = manualClock(Date.UTC(2026, 5, 1, 3, 0, 0));
  const hub = await startTestHub({}, { clock });
  t.after(() => hub.stop());
  const owner = await hub.owner();
  const webhook = await startReceiver();
  t.after(() => webhook.close());
  // A receiver that takes the request and never answers: the hub must not wait for it.
  const hanging = await startReceiver({ respond: () => 'hang' });
  t.after(() => hanging.close());
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const subscriber = await connectAsync(broker.url, { reconnectPeriod: 0 });
  t.after(() => subscriber.endAsync());
  const published: string[] = [];
  subscriber.on('message', (_topic, payload) => published.push(payload.toString()));
  await subscriber.subscribeAsync('hearth/alerts', { qos: 1 });
  const dead = await freePort();

  const saved = await owner.put('/api/notify/channels', {
    channels: [
      {
        id: 'ha',
        name: 'Home Assistant',
        type: 'webhook',
        enabled: true,
        url: `${webhook.url}/hook`,
        secret: 's3cret',
      },
      { id: 'broker', name: 'Mosquitto', type: 'mqtt', enabled: true, url: broker.url },
      { id: 'slow', name: 'Slow', type: 'webhook', enabled: true, url: `${hanging.url}/hook` },
      { id: 'gone', name: 'Gone', type: 'webhook', enabled: true, url: `http://127.0.0.1:${dead}/hook` },
    ],
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));

  const cradle = await babyWithCradle(hub, owner);
  const { subject } = cradle;
  await cradle.feverRule();
  const reading = await cradle.send([{ at: clock.now(), kind: 'temperature', value: 39.1 }]);
  assert.equal(reading.status, 200);
  // The incident exists and the reading was answered while the slow channel still holds its request open.
  const incident = (await owner.get('/api/incidents')).body.incidents[0];
  assert.equal(incident.title, 'Minji: Fever');

  const hooked = await waitFor('the webhook', () => webhook.received[0], 10_000, 20);
  const body = JSON.parse(hooked.body.toString());
  assert.deepEqual(
    [body.kind, body.severity, body.title, body.incidentId, body.subject],
    ['fired', 'emergency', 'Minji: Fever', incident.id, { id: subject.id, name: 'Minji' }],
  );
  assert.equal(hooked.headers['x-hearth-signature'], webhookSignature('s3cret', hooked.body.toString()));
  assert.match(body.ackUrl, new RegExp(`/api/incidents/${incident.id}/acknowledge-link\\?token=`));
  const mqttNotice = JSON.parse(await waitFor('the MQTT message', () => published[0], 10_000, 20));
  assert.equal(mqttNotice.id, body.id, 'the same notice on every channel');
  await waitFor('the slow channel’s request', () => hanging.received[0], 10_000, 20);

  // The dead channel: retried, and its failures shown to the owner.
  const status = await waitFor(
    'the dead channel reported',
    async () => {
      const gone = (await owner.get('/api/notify/channels')).body.status.find(
        (s: { id: string }) => s.id === 'gone',
      );
      return gone?.consecutiveFailures >= 1 ? gone : undefined;
    },
    10_000,
    50,
  );
  assert.match(status.lastError, /refused|ECONNREFUSED/i);

  // The link in the notice, as the ntfy app sends it: a POST without a session. Once only.
  const link = new URL(body.ackUrl);
  const path = `${link.pathname}${link.search}`;
  const first = await hub.client().request('POST', path, { origin: null });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.incident.state, 'acknowledged');
  const replay = await hub.client().request('POST', path, { origin: null });
  assert.deepEqual([replay.status, replay.body.error.code], [409, 'link_used']);
  const tampered = await hub.client().request(
    'POST',
    path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    { origin: null },
  );
  assert.deepEqual([tampered.status, tampered.body.error.code], [403, 'invalid_link']);
  const elsewhere = await hub
    .client()
    .request('POST', path.replace(`/incidents/${incident.id}/`, '/incidents/999/'), {
      origin: null,
    });
  assert.equal(elsewhere.status, 404);
  const log = (await owner.get(`/api/incidents/${incident.id}`)).body.log.map(
    (e: { kind: string }) => e.kind,
  );
  assert.deepEqual(log.slice(-1), ['acknowledged']);
  // The acknowledgement goes out too.
  await waitFor(
    'the acknowledged notice',
    () => webhook.received.find((r) => JSON.parse(r.body.toString()).kind === 'acknowledged'),
    10_000,
    20,
  );

  // A link older than a day does not work.
  await cradle.send([{ at: clock.now(), kind: 'temperature', value: 36.5 }]);
  clock.advance(10 * 60_000);
  await cradle.send([{ at: clock.now(), kind: 'temperature', value: 39.4 }]);
  const second = await waitFor(
    'the second fever notice',
    () =>
      webhook.received
        .map((r) => JSON.parse(r.body.toString()))
        .find((n) => n.kind === 'fired' && n.incidentId !== incident.id),
    10_000,
    20,
  );
  clock.advance(25 * 3600_000);
  const late = new URL(second.ackUrl);
  const expired = await hub.client().request('POST', `${late.pathname}${late.search}`, { origin: null });
  assert.deepEqual([expired.status, expired.body.error.code], [403, 'invalid_link']);
  hanging.release();
});

test('a member’s own channel carries a link that acknowledges as that member; a household channel’s acts for nobody in particular', async (t) => {
  const clock = manualClock(Date.UTC(2026, 5, 1, 3, 0, 0));
  const hub = await startTestHub({}, { clock });
  t.after(() => hub.stop());
  const owner = await hub.owner();
  const mum = await hub.hub.users.create({
    username: 'mum',
    displayName: 'Mum',
    password: 'member-password-1',
    role: 'member',
  });
  const viewer = await hub.hub.users.create({
    username: 'gran',
    password: 'member-password-1',
    role: 'viewer',
  });
  const phone = await startReceiver();
  t.after(() => phone.close());
  const house = await startReceiver();
  t.after(() => house.close());
  const channels = (memberId: number) => [
    { id: 'mum', name: 'Mum’s phone', type: 'webhook', enabled: true, url: `${phone.url}/m`, memberId },
    { id: 'house', name: 'Home Assistant', type: 'webhook', enabled: true, url: `${house.url}/h` },
  ];
  // Only someone who may acknowledge can own a channel's links.
  const refused = await owner.put('/api/notify/channels', { channels: channels(viewer.id) });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.details.issues[0].path, 'channels.0.memberId');
  assert.equal((await owner.put('/api/notify/channels', { channels: channels(mum.id) })).status, 200);

  const cradle = await babyWithCradle(hub, owner);
  await cradle.feverRule();
  const fever = (value: number) => cradle.send([{ at: clock.now(), kind: 'temperature', value }]);
  const firedAt = async (receiver: typeof phone, incidentId?: number) =>
    waitFor(
      'a fired notice',
      () =>
        receiver.received
          .map((r) => JSON.parse(r.body.toString()))
          .find((n) => n.kind === 'fired' && (incidentId === undefined || n.incidentId !== incidentId)),
      10_000,
      20,
    );
  const press = async (ackUrl: string) => {
    const link = new URL(ackUrl);
    return hub.client().request('POST', `${link.pathname}${link.search}`, { origin: null });
  };

  await fever(39.2);
  const personal = await firedAt(phone);
  const household = await firedAt(house);
  assert.equal(personal.id, household.id, 'the same notice');
  assert.notEqual(personal.ackUrl, household.ackUrl, 'each with its own link');
  const pressed = await press(personal.ackUrl);
  assert.equal(pressed.status, 200, JSON.stringify(pressed.body));
  const detail = (await owner.get(`/api/incidents/${personal.incidentId}`)).body;
  assert.equal(detail.incident.acknowledgedBy.name, 'Mum');
  const acknowledged = detail.log.find((e: { kind: string }) => e.kind === 'acknowledged');
  assert.deepEqual(
    [acknowledged.userId, acknowledged.userName, acknowledged.detail.via],
    [mum.id, 'Mum', 'link'],
  );
  // The household's link, pressed after, is harmless and names nobody.
  assert.equal((await press(household.ackUrl)).status, 200);
  const again = (await owner.get(`/api/incidents/${personal.incidentId}`)).body.log.at(-1);
  assert.deepEqual([again.kind, again.userId], ['acknowledged_again', null]);

  // Someone removed from the household cannot acknowledge with a link they were sent.
  await fever(36.4);
  clock.advance(10 * 60_000);
  await fever(39.5);
  const next = await firedAt(phone, personal.incidentId);
  hub.hub.users.remove(mum.id);
  const stale = await press(next.ackUrl);
  assert.deepEqual([stale.status, stale.body.error.code], [403, 'invalid_link']);
  assert.equal((await owner.get(`/api/incidents/${next.incidentId}`)).body.incident.acknowledgedAt, null);
});
