import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { waitFor } from '../testing/wait.js';
import { type ChannelConfig, type ChannelInput, channelListSchema } from './channels.js';
import { type ChannelStatus, createNotifier, type NotifierEvent, type RetryTimings } from './dispatcher.js';
import { freePort, type Received, startReceiver } from './fixtures/receivers.js';
import type { Notice } from './notice.js';

/** Small timings so a test sees several retries in well under a second; nothing sleeps. */
const FAST: RetryTimings = { minDelayMs: 20, maxDelayMs: 200, maxRetryTimeMs: 5000, attemptTimeoutMs: 500 };
const quietLog = { info: () => undefined, warn: () => undefined };

let sequence = 0;
const notice = (extra: Partial<Notice> = {}): Notice => {
  sequence += 1;
  return {
    id: `notice-${sequence}`,
    kind: 'fired',
    severity: 'emergency',
    title: `Alert ${sequence}`,
    message: 'Temperature above 38.0 °C for 60 s.',
    at: Date.UTC(2026, 0, 5) + sequence,
    ...extra,
  };
};

function webhook(id: string, url: string, extra: Partial<ChannelInput> = {}): ChannelInput {
  return { type: 'webhook', id, name: id, enabled: true, minSeverity: 'info', url, ...extra } as ChannelInput;
}

/** A notifier over `channels`, stopped when the test ends, with every event it emitted. */
function notifierFor(
  t: TestContext,
  input: ChannelInput[],
  options: { retry?: Partial<RetryTimings>; queueLimit?: number } = {},
) {
  let channels: ChannelConfig[] = channelListSchema.parse(input);
  const events: NotifierEvent[] = [];
  const notifier = createNotifier({
    channels: () => channels,
    log: quietLog,
    retry: { ...FAST, ...options.retry },
    ...(options.queueLimit ? { queueLimit: options.queueLimit } : {}),
    onEvent: (event) => events.push(event),
  });
  t.after(() => notifier.stop());
  const statusOf = (id: string): ChannelStatus => notifier.status().find((status) => status.id === id)!;
  return {
    notifier,
    events,
    statusOf,
    reconfigure(next: ChannelInput[]) {
      channels = channelListSchema.parse(next);
    },
  };
}

const bodies = (received: Received[]) =>
  received.map((request) => JSON.parse(request.body.toString('utf8')).id);

test('notify() returns at once even when every channel is dead or hangs, and each failure is reported', async (t) => {
  const refusedPort = await freePort();
  const hanging = await startReceiver({ respond: () => 'hang' });
  t.after(() => hanging.close());
  // A "broker" that takes the TCP connection and never answers CONNECT.
  const sockets = new Set<Socket>();
  const silentBroker = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silentBroker.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silentBroker.close(() => resolve()));
  });
  const brokerPort = (silentBroker.address() as { port: number }).port;
  const { notifier, statusOf } = notifierFor(
    t,
    [
      webhook('refused', `http://127.0.0.1:${refusedPort}/hook`),
      { type: 'ntfy', id: 'hangs', name: 'hangs', enabled: true, server: hanging.url, topic: 'alerts' },
      { type: 'mqtt', id: 'broker', name: 'broker', enabled: true, url: `mqtt://127.0.0.1:${brokerPort}` },
      { type: 'mqtt', id: 'no-broker', name: 'none', enabled: true, url: `mqtt://127.0.0.1:${refusedPort}` },
    ],
    { retry: { attemptTimeoutMs: 150 } },
  );

  const timings: number[] = [];
  for (let i = 0; i < 50; i += 1) {
    const started = performance.now();
    notifier.notify(notice());
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  const median = timings[25]!;
  const p90 = timings[45]!;
  const worst = timings[49]!;
  assert.ok(median < 1, `notify() median ${median.toFixed(3)} ms`);
  assert.ok(p90 < 2, `notify() 90th percentile ${p90.toFixed(3)} ms`);
  // Loose, for a loaded CI machine that may preempt one call: waiting on any of these channels would
  // cost at least the 150 ms attempt timeout.
  assert.ok(worst < 100, `notify() slowest ${worst.toFixed(3)} ms`);
  t.diagnostic(
    `notify() with 4 dead channels: median ${median.toFixed(3)} ms, p90 ${p90.toFixed(3)} ms, slowest ${worst.toFixed(3)} ms`,
  );

  for (const id of ['refused', 'hangs', 'broker', 'no-broker'])
    await waitFor(
      `${id} failing twice`,
      () => (statusOf(id).consecutiveFailures >= 2 ? true : undefined),
      10_000,
      10,
    );
  assert.match(statusOf('refused').lastError!, /^connection refused \(127\.0\.0\.1:\d+\)$/);
  assert.match(statusOf('no-broker').lastError!, /^connection refused \(127\.0\.0\.1:\d+\)$/);
  assert.match(statusOf('hangs').lastError!, /^timed out after 0\.2 s/);
  assert.match(statusOf('broker').lastError!, /^timed out after 0\.2 s/);
  for (const id of ['refused', 'hangs', 'broker', 'no-broker']) {
    const status = statusOf(id);
    assert.equal(status.pending, 50, `${id}: all 50 still waiting, in order`);
    assert.equal(status.lastSuccessAt, null);
    assert.ok(status.lastAttemptAt);
  }
});

test('a 500ing webhook is retried with growing pauses, the same notice each time, and recovers', async (t) => {
  const server = await startReceiver({ respond: () => ({ status: 500, body: 'database locked' }) });
  t.after(() => server.close());
  const { notifier, statusOf, events } = notifierFor(t, [webhook('ha', server.url)]);
  const first = notice();
  notifier.notify(first);
  notifier.notify(notice());

  await waitFor('four failures', () => (statusOf('ha').consecutiveFailures >= 4 ? true : undefined), 5000, 5);
  const status = statusOf('ha');
  assert.equal(status.lastError, 'HTTP 500: database locked');
  assert.equal(status.pending, 2);
  assert.deepEqual(
    new Set(bodies(server.received)),
    new Set([first.id]),
    'in order: the first until it goes',
  );
  const at = server.received.map((request) => request.at);
  const gaps = at.slice(1).map((time, index) => time - at[index]!);
  // minDelay 20 ms, doubling, jittered ×1–2: pause n lies in [20·2ⁿ⁻¹, 40·2ⁿ⁻¹] (plus the request itself).
  // Lower bounds only: a loaded machine makes pauses longer, never shorter.
  assert.ok(gaps[0]! >= 18, `first pause ${gaps[0]} ms`);
  assert.ok(gaps[1]! >= 38 && gaps[2]! >= 76, `pauses grow: ${gaps.map((gap) => gap.toFixed(0))}`);
  assert.ok(
    events.some((event) => event.type === 'status' && event.status.consecutiveFailures >= 1),
    'failures are published',
  );

  server.setRespond(() => ({ status: 204 }));
  await waitFor('both delivered', () => (statusOf('ha').pending === 0 ? true : undefined), 5000, 5);
  const recovered = statusOf('ha');
  assert.equal(recovered.consecutiveFailures, 0);
  assert.equal(recovered.lastError, null);
  assert.ok(recovered.lastSuccessAt);
  assert.equal(recovered.failed, 0);
  const delivered = bodies(server.received);
  assert.equal(
    delivered.at(-1),
    `notice-${Number(first.id.split('-')[1]) + 1}`,
    'the second after the first',
  );
});

test('connection refused is retried until the receiver comes back on its port', async (t) => {
  const port = await freePort();
  const { notifier, statusOf } = notifierFor(t, [webhook('ha', `http://127.0.0.1:${port}/api/webhook/x`)]);
  const sent = notice();
  notifier.notify(sent);
  await waitFor(
    'three refusals',
    () => (statusOf('ha').consecutiveFailures >= 3 ? true : undefined),
    5000,
    5,
  );
  assert.match(statusOf('ha').lastError!, /connection refused/);

  const server = await startReceiver({ port });
  t.after(() => server.close());
  await waitFor('delivered', () => (server.received.length >= 1 ? true : undefined), 5000, 5);
  assert.deepEqual(bodies(server.received), [sent.id]);
  assert.equal(server.received[0]!.url, '/api/webhook/x');
  await waitFor('status ok', () => (statusOf('ha').consecutiveFailures === 0 ? true : undefined), 5000, 5);
});

test('a 400 is final: one attempt, the notice given up and reported, the next one still goes', async (t) => {
  const server = await startReceiver({
    respond: (request) =>
      JSON.parse(request.body.toString('utf8')).title === 'bad'
        ? { status: 400, body: '{"error":"unknown webhook"}' }
        : { status: 200 },
  });
  t.after(() => server.close());
  const { notifier, statusOf, events } = notifierFor(t, [webhook('ha', server.url)]);
  const bad = notice({ title: 'bad' });
  notifier.notify(bad);
  await waitFor('given up', () => (statusOf('ha').failed === 1 ? true : undefined), 5000, 5);
  assert.equal(server.received.length, 1, 'not retried');
  assert.deepEqual(
    events.find((event) => event.type === 'gave_up'),
    { type: 'gave_up', channelId: 'ha', noticeId: bad.id, error: 'HTTP 400: {"error":"unknown webhook"}' },
  );

  const good = notice();
  notifier.notify(good);
  await waitFor('next delivered', () => (server.received.length === 2 ? true : undefined), 5000, 5);
  assert.equal(bodies(server.received)[1], good.id);
  await waitFor('status ok', () => (statusOf('ha').lastError === null ? true : undefined), 5000, 5);
});

test('429 and 408 are retried; a notice past its retry time is given up', async (t) => {
  let answers = [429, 408, 200];
  const server = await startReceiver({ respond: () => ({ status: answers.shift() ?? 503 }) });
  t.after(() => server.close());
  const { notifier, statusOf, events } = notifierFor(t, [webhook('ha', server.url)], {
    retry: { maxRetryTimeMs: 300 },
  });
  notifier.notify(notice());
  await waitFor(
    'delivered on the third try',
    () => (statusOf('ha').lastSuccessAt ? true : undefined),
    5000,
    5,
  );
  assert.equal(server.received.length, 3);

  answers = [];
  const doomed = notice();
  const started = performance.now();
  notifier.notify(doomed);
  await waitFor('given up', () => (statusOf('ha').failed === 1 ? true : undefined), 5000, 5);
  assert.ok(performance.now() - started < 3000, 'bounded by maxRetryTime (300 ms)');
  assert.ok(server.received.length > 4, 'retried meanwhile');
  const gaveUp = events.find((event) => event.type === 'gave_up');
  assert.deepEqual(gaveUp, { type: 'gave_up', channelId: 'ha', noticeId: doomed.id, error: 'HTTP 503' });
  assert.equal(statusOf('ha').pending, 0);
});

test('each channel has its own bounded queue: the oldest waiting notices are dropped and counted', async (t) => {
  const slow = await startReceiver({ respond: () => 'hang' });
  const fast = await startReceiver();
  t.after(() => Promise.all([slow.close(), fast.close()]));
  const { notifier, statusOf, events } = notifierFor(
    t,
    [webhook('slow', slow.url), webhook('fast', fast.url)],
    { queueLimit: 3, retry: { attemptTimeoutMs: 5000 } },
  );
  const sent = Array.from({ length: 6 }, () => notice());
  // In bursts the fast channel drains between: the slow one's backlog never touches it.
  notifier.notify(sent[0]!);
  await waitFor('the slow one is busy', () => (slow.received.length === 1 ? true : undefined), 5000, 5);
  for (const item of sent.slice(1, 4)) notifier.notify(item);
  await waitFor('the fast one got four', () => (fast.received.length === 4 ? true : undefined), 5000, 5);
  for (const item of sent.slice(4)) notifier.notify(item);
  await waitFor('the fast one got all six', () => (fast.received.length === 6 ? true : undefined), 5000, 5);
  assert.deepEqual(
    bodies(fast.received),
    sent.map((item) => item.id),
    'in order, none dropped',
  );
  const status = statusOf('slow');
  assert.equal(status.dropped, 2, 'one in flight, three waiting: the two oldest waiting were dropped');
  assert.equal(status.pending, 4);
  assert.deepEqual(
    events
      .filter((event) => event.type === 'dropped')
      .map((event) => event.type === 'dropped' && event.noticeId),
    [sent[1]!.id, sent[2]!.id],
  );

  slow.setRespond(() => ({ status: 200 }));
  slow.release();
  await waitFor('the slow one caught up', () => (statusOf('slow').pending === 0 ? true : undefined), 5000, 5);
  assert.deepEqual(bodies(slow.received), [sent[0]!.id, sent[3]!.id, sent[4]!.id, sent[5]!.id]);
  assert.equal(statusOf('fast').dropped, 0);
});

test('only enabled channels get notices at or above their minimum severity', async (t) => {
  const server = await startReceiver();
  t.after(() => server.close());
  const { notifier, statusOf } = notifierFor(t, [
    webhook('warnings', `${server.url}/warnings`, { minSeverity: 'warning' }),
    webhook('emergencies', `${server.url}/emergencies`, { minSeverity: 'emergency' }),
    webhook('off', `${server.url}/off`, { enabled: false }),
  ]);
  notifier.notify(notice({ severity: 'info' }));
  notifier.notify(notice({ severity: 'warning' }));
  notifier.notify(notice({ severity: 'emergency' }));
  await waitFor('three deliveries', () => (server.received.length === 3 ? true : undefined), 5000, 5);
  const byPath = (prefix: string) =>
    server.received
      .filter((request) => request.url === prefix)
      .map((request) => JSON.parse(request.body.toString('utf8')).severity);
  assert.deepEqual(byPath('/warnings'), ['warning', 'emergency']);
  assert.deepEqual(byPath('/emergencies'), ['emergency']);
  assert.deepEqual(byPath('/off'), []);
  assert.deepEqual(
    statusOf('off'),
    {
      id: 'off',
      lastAttemptAt: null,
      lastSuccessAt: null,
      lastError: null,
      consecutiveFailures: 0,
      pending: 0,
      dropped: 0,
      failed: 0,
    },
    'a disabled channel shows an empty status',
  );
});

test('a channel switched off while its notices wait sends none of them; stop() ends retrying at once', async (t) => {
  const server = await startReceiver({ respond: () => ({ status: 503 }) });
  t.after(() => server.close());
  const { notifier, statusOf, reconfigure } = notifierFor(t, [webhook('ha', server.url)]);
  notifier.notify(notice());
  notifier.notify(notice());
  await waitFor('retrying', () => (statusOf('ha').consecutiveFailures >= 2 ? true : undefined), 5000, 5);
  reconfigure([webhook('ha', server.url, { enabled: false })]);
  await waitFor('queue emptied', () => (statusOf('ha').pending === 0 ? true : undefined), 5000, 5);
  assert.equal(statusOf('ha').failed, 0, 'switching off is not a failure');

  reconfigure([webhook('ha', server.url)]);
  notifier.notify(notice());
  await waitFor(
    'retrying again',
    () => (statusOf('ha').consecutiveFailures >= 3 ? true : undefined),
    5000,
    5,
  );
  const started = performance.now();
  await notifier.stop();
  assert.ok(performance.now() - started < 500, 'stop() does not wait out a backoff');
  const count = server.received.length;
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal(server.received.length, count, 'nothing sent after stop()');
  notifier.notify(notice());
  assert.equal(server.received.length, count);
});

test('a malformed notice (a caller bug) is refused at notify(), not retried later', async (t) => {
  const server = await startReceiver();
  t.after(() => server.close());
  const { notifier, statusOf } = notifierFor(t, [webhook('ha', server.url)]);
  notifier.notify({ ...notice(), url: 'javascript:alert(1)' });
  notifier.notify({ ...notice(), extra: 1 } as Notice);
  assert.equal(statusOf('ha').pending, 0);
  const good = notice();
  notifier.notify(good);
  await waitFor('delivered', () => (server.received.length === 1 ? true : undefined), 5000, 5);
  assert.deepEqual(bodies(server.received), [good.id]);
});

test('sendTest: one attempt now, on an enabled or disabled channel, answered ok or with the reason', async (t) => {
  const server = await startReceiver();
  t.after(() => server.close());
  const port = await freePort();
  const { notifier, statusOf } = notifierFor(t, [
    webhook('ha', server.url, { enabled: false }),
    webhook('dead', `http://127.0.0.1:${port}`),
  ]);
  assert.deepEqual(await notifier.sendTest('ha'), { ok: true });
  const body = JSON.parse(server.received[0]!.body.toString('utf8'));
  assert.equal(body.kind, 'test');
  assert.equal(body.severity, 'info');
  assert.match(body.message, /"ha" works/);
  assert.ok(statusOf('ha').lastSuccessAt);

  const dead = await notifier.sendTest('dead');
  assert.deepEqual(dead, { ok: false, error: `connection refused (127.0.0.1:${port})` });
  assert.equal(statusOf('dead').consecutiveFailures, 1);
  assert.deepEqual(await notifier.sendTest('nope'), { ok: false, error: 'no such channel' });
});
