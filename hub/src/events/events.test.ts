import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { manualClock } from '../clock.js';
import { databasePath } from '../db/client.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { EventBus } from './bus.js';

interface SseMessage {
  event: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** Reads a real SSE response and hands out messages in order as they arrive. */
async function openStream(client: TestClient, query = '', headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${client.baseUrl}/api/events/stream${query}`, {
    headers: { cookie: client.cookie, ...headers },
    signal: controller.signal,
  });
  const messages: SseMessage[] = [];
  let waiter: (() => void) | undefined;
  const done = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const message: SseMessage = { event: 'message' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) message.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('id: ')) message.id = line.slice(4);
            else if (line.startsWith('data: '))
              message.data = (message.data ? `${message.data}\n` : '') + line.slice(6);
          }
          if (message.comment !== undefined && message.event === 'message') message.event = 'comment';
          messages.push(message);
          waiter?.();
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  let read = 0;
  return {
    response,
    /** The next message matching `predicate`, waiting for it up to `timeoutMs`. */
    async next(
      predicate: (message: SseMessage) => boolean = () => true,
      timeoutMs = 5000,
    ): Promise<SseMessage> {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        while (read < messages.length) {
          const message = messages[read++]!;
          if (predicate(message)) return message;
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no matching SSE message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    all: () => messages,
    async close() {
      controller.abort();
      await done;
    },
  };
}

describe('the live event stream', () => {
  let t: TestHub;
  let viewer: TestClient;
  before(async () => {
    t = await startTestHub({ events: { heartbeatSeconds: 1, maxStreams: 3 } });
    viewer = await t.userWithRole('viewer');
  });
  after(() => t.stop());

  test('says hello, then carries system events live with ids', async () => {
    const stream = await openStream(viewer);
    assert.equal(stream.response.headers.get('content-type'), 'text/event-stream');
    const hello = await stream.next();
    assert.equal(hello.event, 'hello');
    t.hub.systemEvents.record({ kind: 'nas.down', severity: 'error', message: 'NAS is not mounted' });
    const live = await stream.next((m) => m.event === 'system');
    assert.equal(JSON.parse(live.data!).message, 'NAS is not mounted');
    assert.match(live.id!, /^[0-9a-f]{8}-\d+$/);
    await stream.close();
  });

  test('carries only the topics asked for, and refuses unknown topics', async () => {
    const stream = await openStream(viewer, '?topics=devices');
    await stream.next((m) => m.event === 'hello');
    t.hub.systemEvents.record({ kind: 'test', severity: 'info', message: 'not for this tab' });
    t.hub.devices.create({ name: 'cot cam', kind: 'camera' });
    const first = await stream.next((m) => m.event !== 'comment');
    assert.equal(first.event, 'devices');
    assert.equal(
      stream.all().some((m) => m.event === 'system'),
      false,
    );
    await stream.close();
    assert.equal((await viewer.get('/api/events/stream?topics=system,weather')).status, 400);
  });

  test('resumes after a drop with Last-Event-ID: the missed events, no duplicates', async () => {
    const first = await openStream(viewer, '?topics=system');
    await first.next((m) => m.event === 'hello');
    t.hub.systemEvents.record({ kind: 'test', severity: 'info', message: 'one' });
    const seen = await first.next((m) => m.event === 'system');
    await first.close();
    t.hub.systemEvents.record({ kind: 'test', severity: 'info', message: 'two' });
    t.hub.systemEvents.record({ kind: 'test', severity: 'info', message: 'three' });

    const resumed = await openStream(viewer, '?topics=system', { 'last-event-id': seen.id! });
    await resumed.next((m) => m.event === 'hello');
    const a = await resumed.next((m) => m.event === 'system');
    const b = await resumed.next((m) => m.event === 'system');
    assert.deepEqual([JSON.parse(a.data!).message, JSON.parse(b.data!).message], ['two', 'three']);
    t.hub.systemEvents.record({ kind: 'test', severity: 'info', message: 'four' });
    assert.equal(JSON.parse((await resumed.next((m) => m.event === 'system')).data!).message, 'four');
    await resumed.close();
  });

  test('an id from another boot (hub restarted) asks the tab to resync', async () => {
    const stream = await openStream(viewer, '', { 'last-event-id': 'deadbeef-12' });
    await stream.next((m) => m.event === 'hello');
    assert.equal((await stream.next((m) => m.event !== 'comment')).event, 'resync');
    await stream.close();
  });

  test('sends heartbeats so proxies and phones keep the connection', async () => {
    const stream = await openStream(viewer);
    const ping = await stream.next((m) => m.event === 'comment', 4000);
    assert.equal(ping.comment, 'ping');
    await stream.close();
  });

  test('publishes rows another process wrote (the hearth CLI)', async () => {
    const stream = await openStream(viewer, '?topics=system');
    await stream.next((m) => m.event === 'hello');
    const other = new Database(databasePath(t.dataDir));
    other
      .prepare('insert into system_events (at, kind, severity, message) values (?, ?, ?, ?)')
      .run(Date.now(), 'cli.test', 'warning', 'written by another process');
    other.close();
    const message = await stream.next((m) => m.event === 'system');
    assert.equal(JSON.parse(message.data!).kind, 'cli.test');
    await stream.close();
  });

  test('caps open streams with 503 and frees the slot when a tab closes', async () => {
    const open = [await openStream(viewer), await openStream(viewer), await openStream(viewer)];
    await Promise.all(open.map((stream) => stream.next((m) => m.event === 'hello')));
    const refused = await viewer.get('/api/events/stream');
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'));
    await open[0]!.close();
    const deadline = Date.now() + 5000;
    let status = 503;
    while (status === 503 && Date.now() < deadline) {
      const again = await openStream(viewer);
      status = again.response.status;
      await again.close();
    }
    assert.equal(status, 200);
    await Promise.all(open.slice(1).map((stream) => stream.close()));
  });

  test('lists system events newest first with paging and a severity floor', async () => {
    for (const severity of ['info', 'warning', 'critical'] as const)
      t.hub.systemEvents.record({ kind: 'page.test', severity, message: severity });
    const page = await viewer.get('/api/system-events?limit=2');
    assert.equal(page.body.events.length, 2);
    assert.ok(page.body.events[0].id > page.body.events[1].id);
    const older = await viewer.get(`/api/system-events?limit=2&before=${page.body.events[1].id}`);
    assert.ok(older.body.events.every((event: { id: number }) => event.id < page.body.events[1].id));
    const serious = await viewer.get('/api/system-events?minSeverity=warning&limit=500');
    assert.ok(serious.body.events.length >= 2);
    assert.ok(serious.body.events.every((event: { severity: string }) => event.severity !== 'info'));
  });
});

describe('EventBus replay', () => {
  test('replays exactly what followed an id, and refuses what it no longer holds', () => {
    const bus = new EventBus(manualClock(), 3);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((data) => bus.publish('system', data).id);
    assert.deepEqual(
      bus.since(ids[3]!)?.map((event) => event.data),
      ['e'],
    );
    assert.deepEqual(bus.since(ids[4]!), []);
    assert.deepEqual(
      bus.since(ids[1]!)?.map((event) => event.data),
      ['c', 'd', 'e'],
      'c..e are still held',
    );
    assert.equal(bus.since(ids[0]!), null, 'b fell out of the buffer: the client must resync');
    assert.equal(bus.since(`${bus.bootId}-99`), null, 'an id from the future');
    assert.equal(bus.since('garbage'), null);
  });
});
