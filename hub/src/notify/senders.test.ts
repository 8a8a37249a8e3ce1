import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { channelConfigSchema, type MqttChannel, type NtfyChannel, type WebhookChannel } from './channels.js';
import {
  freePort,
  type Mosquitto,
  type Receiver,
  startMosquitto,
  startReceiver,
} from './fixtures/receivers.js';
import type { Notice } from './notice.js';
import { DeliveryError, sendMqtt, sendNtfy, sendWebhook } from './senders.js';

const notice: Notice = {
  id: '7f0c1a52-1b8e-4c52-9f8e-0d6f3a1c2b44',
  kind: 'fired',
  severity: 'emergency',
  title: 'Fever: Mina 38.4 °C',
  message: 'Temperature above 38.0 °C for 60 s (cradle node).',
  at: Date.UTC(2026, 0, 5, 3, 4, 5),
  incidentId: 42,
  subject: { id: 3, name: 'Mina' },
  url: 'http://hearth.local:8080/incidents/42',
  ackUrl: 'http://hearth.local:8080/api/ack/42.7.1767582245000.AbC-123_xyz',
};

const webhook = (url: string, extra: Partial<WebhookChannel> = {}) =>
  channelConfigSchema.parse({
    type: 'webhook',
    id: 'ha',
    name: 'HA',
    enabled: true,
    url,
    ...extra,
  }) as WebhookChannel;
const ntfy = (server: string, extra: Partial<NtfyChannel> = {}) =>
  channelConfigSchema.parse({
    type: 'ntfy',
    id: 'phone',
    name: 'Phones',
    enabled: true,
    server,
    topic: 'hearth-alerts',
    ...extra,
  }) as NtfyChannel;
const mqtt = (url: string, extra: Partial<MqttChannel> = {}) =>
  channelConfigSchema.parse({
    type: 'mqtt',
    id: 'broker',
    name: 'Broker',
    enabled: true,
    url,
    ...extra,
  }) as MqttChannel;

let receiver: Receiver;
let broker: Mosquitto;
let securedBroker: Mosquitto;
before(async () => {
  receiver = await startReceiver();
  broker = await startMosquitto();
  securedBroker = await startMosquitto({ users: { hearth: 'broker-pass-1' } });
});
after(async () => {
  await receiver?.close();
  await broker?.stop();
  await securedBroker?.stop();
});

async function rejection(promise: Promise<unknown>): Promise<DeliveryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${error}`);
    return error;
  }
  assert.fail('expected the send to fail');
}

test('webhook: POSTs the notice as JSON, signed with the secret, with the notice id', async () => {
  receiver.received.length = 0;
  const secret = 'a-long-household-secret';
  await sendWebhook(webhook(`${receiver.url}/api/webhook/hearth?x=1`, { secret }), notice);
  const [request] = receiver.received;
  assert.ok(request);
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/api/webhook/hearth?x=1');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['x-hearth-notice-id'], notice.id);
  assert.deepEqual(JSON.parse(request.body.toString('utf8')), notice);
  assert.equal(
    request.body.toString('utf8'),
    JSON.stringify(notice),
    'the body is exactly JSON.stringify(notice)',
  );

  // What a receiver does: HMAC the raw body with the shared secret, compare in constant time.
  const header = String(request.headers['x-hearth-signature']);
  assert.match(header, /^sha256=[0-9a-f]{64}$/);
  const expected = createHmac('sha256', secret).update(request.body).digest();
  assert.ok(timingSafeEqual(Buffer.from(header.slice('sha256='.length), 'hex'), expected));

  await sendWebhook(webhook(receiver.url), { ...notice, id: 'unsigned' });
  assert.equal(receiver.received[1]?.headers['x-hearth-signature'], undefined, 'no secret, no signature');
});

test('webhook: the documented example (docs/protocols.md, "Alert channels") byte for byte', async () => {
  receiver.received.length = 0;
  // Built in another key order on purpose: the body's order is fixed, so the signature is too.
  const example: Notice = {
    ackUrl:
      'https://hearth.local/api/incidents/42/acknowledge-link?token=eyJpIjo0MiwiZSI6MTc2NzY2ODY0NTAwMCwibiI6InE1QzB2SjJ0UmszbVd4OXAifQ.i57HJM15GilbBuYg5FdENopKMNareaPAIjPHjW0NHs8',
    url: 'https://hearth.local/incidents/42',
    subject: { name: 'Mina', id: 3 } as Notice['subject'],
    incidentId: 42,
    at: 1767582245000,
    message: 'Temperature above 38.0 °C for 60 s (Cradle node).',
    title: 'Fever: Mina 38.4 °C',
    severity: 'emergency',
    kind: 'fired',
    id: 'incident-42-fired',
  };
  await sendWebhook(
    webhook(`${receiver.url}/api/webhook/hearth-alerts`, { secret: 'correct horse battery staple' }),
    example,
  );
  const request = receiver.received[0]!;
  assert.equal(
    request.body.toString('utf8'),
    '{"id":"incident-42-fired","kind":"fired","severity":"emergency","title":"Fever: Mina 38.4 °C",' +
      '"message":"Temperature above 38.0 °C for 60 s (Cradle node).","at":1767582245000,"incidentId":42,' +
      '"subject":{"id":3,"name":"Mina"},"url":"https://hearth.local/incidents/42",' +
      '"ackUrl":"https://hearth.local/api/incidents/42/acknowledge-link?token=eyJpIjo0MiwiZSI6MTc2NzY2ODY0NTAwMCwibiI6InE1QzB2SjJ0UmszbVd4OXAifQ.i57HJM15GilbBuYg5FdENopKMNareaPAIjPHjW0NHs8"}',
  );
  assert.equal(request.body.length, 451);
  assert.equal(request.headers['content-length'], '451');
  assert.equal(
    request.headers['x-hearth-signature'],
    'sha256=7942825765950e70cd3d1211c48365378afee28985dfcf827994582ff12dfa92',
  );
  assert.equal(request.headers['x-hearth-notice-id'], 'incident-42-fired');
  assert.equal(request.headers['user-agent'], 'Hearth');
});

test('ntfy: the publish request is what ntfy expects (path, title, priority, tags, click, actions, token)', async () => {
  receiver.received.length = 0;
  await sendNtfy(ntfy(`${receiver.url}/ntfy/`, { token: 'tk_household0123' }), notice);
  const request = receiver.received[0]!;
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/ntfy/hearth-alerts', 'POST <server>/<topic>, a server path kept');
  assert.equal(request.body.toString('utf8'), notice.message, 'the body is the message');
  assert.equal(request.headers['content-type'], 'text/plain; charset=utf-8');
  // '°' is not ASCII: the whole title travels as one RFC 2047 encoded word.
  assert.equal(request.headers.title, `=?UTF-8?B?${Buffer.from(notice.title, 'utf8').toString('base64')}?=`);
  assert.equal(request.headers.priority, '5');
  assert.equal(request.headers.tags, 'rotating_light,hearth');
  assert.equal(request.headers.click, notice.url);
  assert.equal(
    request.headers.actions,
    `action=http, label=Acknowledge, url=${notice.ackUrl}, method=POST, clear=true; action=view, label=Open, url=${notice.url}`,
  );
  assert.equal(request.headers.authorization, 'Bearer tk_household0123');

  // Headers are ASCII: a Korean (or any non-ASCII) title goes as an RFC 2047 word ntfy decodes.
  const decode = (value: string) => {
    const word = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(value);
    return word ? Buffer.from(word[1]!, 'base64').toString('utf8') : value;
  };
  assert.equal(decode(String(request.headers.title)), notice.title);
  await sendNtfy(ntfy(receiver.url), {
    ...notice,
    severity: 'warning',
    kind: 'resolved',
    title: '열이 내렸어요',
    message: '체온 37.1 °C',
    url: undefined,
    ackUrl: undefined,
  });
  const korean = receiver.received[1]!;
  assert.equal(korean.url, '/hearth-alerts');
  assert.equal(decode(String(korean.headers.title)), '열이 내렸어요');
  assert.equal(korean.body.toString('utf8'), '체온 37.1 °C');
  assert.equal(korean.headers.priority, '4');
  assert.equal(korean.headers.tags, 'warning,white_check_mark,hearth');
  assert.equal(korean.headers.actions, undefined);
  assert.equal(korean.headers.click, undefined);
  assert.equal(korean.headers.authorization, undefined);

  await sendNtfy(ntfy(receiver.url), { ...notice, severity: 'info', message: '가'.repeat(2000) });
  await sendNtfy(ntfy(receiver.url), { ...notice, title: 'Camera offline' });
  assert.equal(receiver.received[3]!.headers.title, 'Camera offline', 'an ASCII title as it is');
  const long = receiver.received[2]!;
  assert.equal(long.headers.priority, '3');
  assert.ok(long.body.length <= 4096, 'kept under ntfy’s 4096-byte message limit');
  assert.ok(long.body.toString('utf8').endsWith('…'));
  assert.ok(!long.body.toString('utf8').includes('\uFFFD'), 'cut on a character boundary');
});

test('MQTT: the notice is published as JSON on the topic of a real mosquitto broker', async (t) => {
  const subscriber: MqttClient = await connectAsync(broker.url, { reconnectPeriod: 0 });
  t.after(() => subscriber.endAsync());
  const messages: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
  subscriber.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain }),
  );
  await subscriber.subscribeAsync('hearth/#', { qos: 1 });

  await sendMqtt(mqtt(broker.url), notice);
  await sendMqtt(mqtt(broker.url, { topic: 'home/cradle/alerts', qos: 0 }), { ...notice, id: 'second' });
  const deadline = Date.now() + 5000;
  while (messages.length < 1 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(messages.length, 1, 'only the hearth/alerts one matched hearth/#');
  assert.equal(messages[0]!.topic, 'hearth/alerts');
  assert.equal(messages[0]!.payload, JSON.stringify(notice));
  assert.equal(messages[0]!.qos, 1);
  assert.equal(messages[0]!.retain, false);
});

test('MQTT: a broker with passwords lets the user in and refuses a wrong password as final', async (t) => {
  const subscriber = await connectAsync(securedBroker.url, {
    reconnectPeriod: 0,
    username: 'hearth',
    password: 'broker-pass-1',
  });
  t.after(() => subscriber.endAsync());
  const payloads: string[] = [];
  subscriber.on('message', (_topic, payload) => payloads.push(payload.toString('utf8')));
  await subscriber.subscribeAsync('hearth/alerts', { qos: 1 });

  await sendMqtt(mqtt(securedBroker.url, { username: 'hearth', password: 'broker-pass-1' }), notice);
  const deadline = Date.now() + 5000;
  while (payloads.length < 1 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(
    payloads.map((payload) => JSON.parse(payload).id),
    [notice.id],
  );

  const wrong = await rejection(
    sendMqtt(mqtt(securedBroker.url, { username: 'hearth', password: 'nope-nope' }), notice),
  );
  assert.match(wrong.message, /broker refused: .*(Not authorized|Bad username or password)/i);
  assert.equal(wrong.final, true);
  const anonymous = await rejection(sendMqtt(mqtt(securedBroker.url), notice));
  assert.equal(anonymous.final, true);
});

test('failures have short reasons: refused, HTTP status, timeout, redirect; a 4xx is final except 408/429', async (t) => {
  const port = await freePort();
  const refused = await rejection(sendWebhook(webhook(`http://127.0.0.1:${port}/hook`), notice));
  assert.equal(refused.message, `connection refused (127.0.0.1:${port})`);
  assert.equal(refused.final, false);
  const mqttRefused = await rejection(sendMqtt(mqtt(`mqtt://127.0.0.1:${port}`), notice));
  assert.equal(mqttRefused.message, `connection refused (127.0.0.1:${port})`);
  assert.equal(mqttRefused.final, false);

  const answers = await startReceiver();
  t.after(() => answers.close());
  const cases: [number, boolean][] = [
    [500, false],
    [503, false],
    [400, true],
    [401, true],
    [404, true],
    [408, false],
    [429, false],
  ];
  for (const [status, final] of cases) {
    answers.setRespond(() => ({ status, body: `{"message":"status ${status}"}` }));
    const error = await rejection(sendNtfy(ntfy(answers.url), notice));
    assert.equal(error.status, status);
    assert.equal(error.final, final, `HTTP ${status} final?`);
    assert.match(error.message, new RegExp(`^HTTP ${status}: \\{"message":"status ${status}"\\}$`));
  }

  answers.setRespond(() => ({ status: 302, headers: { location: 'https://example.com/elsewhere' } }));
  const before = answers.received.length;
  const redirect = await rejection(sendWebhook(webhook(answers.url), notice));
  assert.match(redirect.message, /^HTTP 302 redirect to https:\/\/example\.com\/elsewhere \(not followed\)/);
  assert.equal(redirect.final, true);
  assert.equal(answers.received.length, before + 1, 'the redirect was not followed');

  answers.setRespond(() => 'hang');
  const started = performance.now();
  const slow = await rejection(sendWebhook(webhook(answers.url), notice, { timeoutMs: 300 }));
  assert.match(slow.message, /^timed out after 0\.3 s \(127\.0\.0\.1:\d+\)$/);
  assert.ok(performance.now() - started < 2000);
  answers.release();

  // A broker that accepts the connection and never answers it.
  const silent = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const silentPort = (silent.address() as { port: number }).port;
  const stuck = await rejection(sendMqtt(mqtt(`mqtt://127.0.0.1:${silentPort}`), notice, { timeoutMs: 300 }));
  assert.equal(stuck.message, `timed out after 0.3 s (127.0.0.1:${silentPort})`);
  assert.equal(stuck.final, false);
});
