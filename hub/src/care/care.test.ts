import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { manualClock } from '../clock.js';
import type { LiveEvent } from '../events/bus.js';
import { startVirtualCamera } from '../photos/virtual-camera.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import type { AlertNotice } from './care.service.js';

const SEOUL_0700 = Date.UTC(2026, 5, 1, 22, 0, 0); // 2026-06-02 07:00 in Asia/Seoul (UTC+9)

interface Setup {
  t: TestHub;
  owner: TestClient;
  clock: ReturnType<typeof manualClock>;
  node: { id: number; token: string };
  alerts: AlertNotice[];
  seq: number;
}

async function setUp(
  testContext: { after(fn: () => unknown): void },
  options: { start?: number; config?: Parameters<typeof startTestHub>[0] } = {},
): Promise<Setup> {
  const clock = manualClock(options.start ?? SEOUL_0700);
  const t = await startTestHub(options.config ?? {}, { clock });
  testContext.after(() => t.stop());
  const owner = await t.owner();
  assert.equal((await owner.patch('/api/settings', { timeZone: 'Asia/Seoul' })).status, 200);
  const { device, token } = t.hub.devices.create({ name: 'Cradle node', kind: 'node' });
  const alerts: AlertNotice[] = [];
  const unsubscribe = t.hub.bus.subscribe((event: LiveEvent) => {
    if (event.topic === 'alerts' && (event.data as AlertNotice).incident)
      alerts.push(event.data as AlertNotice);
  });
  testContext.after(unsubscribe);
  return { t, owner, clock, node: { id: device.id, token }, alerts, seq: 0 };
}

/** Readings as the node sends them: over HTTP with its token, stamped with the (manual) clock. */
async function send(s: Setup, readings: { kind: string; value?: number; state?: string; at?: number }[]) {
  const body = {
    readings: readings.map((r) => ({
      seq: ++s.seq,
      at: r.at ?? s.clock.now(),
      sensor: 'cradle',
      kind: r.kind,
      ...(r.value !== undefined ? { value: r.value } : {}),
      ...(r.state !== undefined ? { state: r.state } : {}),
    })),
  };
  const response = await s.t.client().request('POST', '/api/device/readings', {
    json: body,
    headers: { authorization: `Bearer ${s.node.token}` },
    origin: null,
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

async function baby(s: Setup) {
  const made = await s.owner.post('/api/subjects', { name: 'Minji', kind: 'baby', deviceIds: [s.node.id] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  // These tests send no heartbeats: the node-silent rule is tested with the elder below.
  const rules = (await s.owner.get(`/api/subjects/${made.body.subject.id}/rules`)).body.rules;
  const silent = rules.find((r: { name: string }) => r.name === 'Node silent');
  assert.equal((await s.owner.delete(`/api/rules/${silent.id}`)).status, 204);
  return made.body.subject as { id: number };
}

const incidentsOf = async (s: Setup, query = '') =>
  (await s.owner.get(`/api/incidents${query}`)).body.incidents as any[];

test('fever: one emergency after 60 s above 38.0 °C, resolved after 60 s below, no repeat inside the dedup window, a new one after it', async (t) => {
  const s = await setUp(t);
  const subject = await baby(s);
  const rules = (await s.owner.get(`/api/subjects/${subject.id}`)).body.rules;
  assert.deepEqual(
    rules.map((r: any) => r.name),
    ['Fever', 'Crying', 'Face not up'],
  );

  await send(s, [{ kind: 'temperature', value: 36.8 }]);
  s.clock.advance(2_000);
  await send(s, [{ kind: 'temperature', value: 38.3 }]);
  s.clock.advance(30_000);
  await send(s, [{ kind: 'temperature', value: 38.4 }]);
  assert.equal((await incidentsOf(s)).length, 0, '30 s is not yet 60');
  s.clock.advance(30_000);
  await send(s, [{ kind: 'temperature', value: 38.3 }]);
  let incidents = await incidentsOf(s);
  assert.equal(incidents.length, 1);
  assert.deepEqual(
    [incidents[0].severity, incidents[0].title, incidents[0].state, incidents[0].silent],
    ['emergency', 'Minji: Fever', 'open', false],
  );
  assert.deepEqual(
    incidents[0].evidence.map((r: any) => r.value),
    [38.3, 38.4, 38.3],
    'the readings that made it fire',
  );
  assert.equal(s.alerts.filter((a) => a.change === 'fired').length, 1);
  assert.equal(s.alerts[0]!.audience.everyone, true, 'nobody follows Minji yet: every member');

  // Still feverish: no second alert.
  for (let i = 0; i < 10; i++) {
    s.clock.advance(10_000);
    await send(s, [{ kind: 'temperature', value: 38.6 }]);
  }
  assert.equal((await incidentsOf(s)).length, 1);

  // Down for 60 s: resolved.
  await send(s, [{ kind: 'temperature', value: 37.2 }]);
  s.clock.advance(30_000);
  await send(s, [{ kind: 'temperature', value: 37.1 }]);
  assert.equal((await incidentsOf(s))[0].state, 'open', 'below for 30 s only');
  s.clock.advance(30_000);
  await send(s, [{ kind: 'temperature', value: 37.0 }]);
  incidents = await incidentsOf(s);
  assert.equal(incidents[0].state, 'resolved');

  // Back up within 5 minutes of the alert (dedup): the same incident reopens, nobody is told again.
  await send(s, [{ kind: 'temperature', value: 38.5 }]);
  s.clock.advance(61_000);
  await send(s, [{ kind: 'temperature', value: 38.5 }]);
  incidents = await incidentsOf(s);
  assert.equal(incidents.length, 1);
  assert.equal(incidents[0].state, 'open');
  assert.equal(s.alerts.filter((a) => a.change === 'fired').length, 1);
  const log = (await s.owner.get(`/api/incidents/${incidents[0].id}`)).body.log.map((e: any) => e.kind);
  assert.deepEqual(log, ['fired', 'notified', 'resolved', 'repeated']);

  // Resolved again; after the window a new fever is a new alert.
  await send(s, [{ kind: 'temperature', value: 37.0 }]);
  s.clock.advance(60_000);
  await send(s, [{ kind: 'temperature', value: 37.0 }]);
  s.clock.advance(5 * 60_000);
  await send(s, [{ kind: 'temperature', value: 38.9 }]);
  s.clock.advance(60_000);
  await send(s, [{ kind: 'temperature', value: 38.9 }]);
  assert.equal((await incidentsOf(s)).length, 2);
});

test('a duration completes on the clock when readings stop; crying for 30 s alerts once, for 20 s not at all', async (t) => {
  const s = await setUp(t);
  await baby(s);
  await send(s, [{ kind: 'crying', state: 'crying' }]);
  s.clock.advance(20_000);
  await send(s, [{ kind: 'crying', state: 'quiet' }]);
  s.t.hub.care.tick();
  s.clock.advance(60_000);
  s.t.hub.care.tick();
  assert.equal((await incidentsOf(s)).length, 0, '20 s of crying is not an alert');

  await send(s, [{ kind: 'crying', state: 'crying', confidence: 0.9 } as never]);
  s.clock.advance(29_000);
  s.t.hub.care.tick();
  assert.equal((await incidentsOf(s)).length, 0);
  s.clock.advance(1_000);
  s.t.hub.care.tick();
  const incidents = await incidentsOf(s);
  assert.equal(incidents.length, 1, 'the 30th second, with no further reading');
  assert.deepEqual([incidents[0].title, incidents[0].severity], ['Minji: Crying', 'warning']);
  s.t.hub.care.tick();
  assert.equal((await incidentsOf(s)).length, 1);
});

test('absence in the household’s time zone: no motion for 4 h between 08:00 and 22:00 alerts at 12:00; a movement resolves it; nothing is due at night', async (t) => {
  const s = await setUp(t); // 07:00 in Seoul
  const grandma = (
    await s.owner.post('/api/subjects', { name: 'Grandma', kind: 'elder', deviceIds: [s.node.id] })
  ).body.subject;
  // Her node keeps its heartbeat; only motion is missing.
  const beat = async () => {
    const r = await s.t.client().request('POST', '/api/device/heartbeat', {
      headers: { authorization: `Bearer ${s.node.token}` },
      origin: null,
      json: {
        version: '0.1.0',
        uptimeSeconds: 1,
        cpuTemperatureC: null,
        load1: 0,
        memory: { totalBytes: 1, availableBytes: 1 },
        disks: { state: { freeBytes: 1, totalBytes: 1 }, nas: null },
        clockSynced: true,
        sensors: [],
        cameras: [],
        outbox: { pending: 0, dropped: 0 },
      },
    });
    assert.equal(r.status, 200);
  };
  // 11:59: counted from 08:00, not from 07:00 (the window opens at 08:00).
  for (let minute = 0; minute < 299; minute++) {
    s.clock.advance(60_000);
    await beat();
  }
  s.t.hub.care.tick();
  assert.equal(
    (await incidentsOf(s, `?subjectId=${grandma.id}`)).length,
    0,
    '11:59 is 3 h 59 min into the window',
  );
  s.clock.advance(60_000);
  await beat();
  s.t.hub.care.tick();
  let incidents = await incidentsOf(s, `?subjectId=${grandma.id}`);
  assert.deepEqual(
    incidents.map((i) => i.title),
    ['Grandma: No movement'],
  );
  // "still" is not movement; "motion" is.
  await send(s, [{ kind: 'motion', state: 'still' }]);
  assert.equal((await incidentsOf(s, `?subjectId=${grandma.id}`))[0].state, 'open');
  await send(s, [{ kind: 'motion', state: 'motion' }]);
  incidents = await incidentsOf(s, `?subjectId=${grandma.id}`);
  assert.equal(incidents[0].state, 'resolved');

  // Her node goes quiet: three missed heartbeats (45 s) are an alert of their own; the next one resolves it.
  s.clock.advance(44_000);
  s.t.hub.care.tick();
  assert.equal((await incidentsOf(s, `?subjectId=${grandma.id}`)).length, 1);
  s.clock.advance(2_000);
  s.t.hub.care.tick();
  const silent = (await incidentsOf(s, `?subjectId=${grandma.id}`))[0];
  assert.deepEqual(
    [silent.title, silent.severity, silent.state],
    ['Grandma: Node silent', 'warning', 'open'],
  );
  await beat();
  assert.equal((await incidentsOf(s, `?subjectId=${grandma.id}`))[0].state, 'resolved');
  const noMovement = async () =>
    (await incidentsOf(s, `?subjectId=${grandma.id}`)).filter((i) => i.title === 'Grandma: No movement')
      .length;

  // Last movement at 20:00: the window closes at 22:00 before 4 h pass; nothing overnight; the next day
  // counts from 08:00 again and alerts at 12:00.
  s.clock.set(Date.UTC(2026, 5, 2, 11, 0, 0)); // 20:00 KST
  await send(s, [{ kind: 'motion', state: 'motion' }]);
  s.clock.set(Date.UTC(2026, 5, 2, 21, 0, 0)); // 06:00 KST next day
  s.t.hub.care.tick();
  assert.equal(await noMovement(), 1);
  s.clock.set(Date.UTC(2026, 5, 3, 2, 59, 0)); // 11:59 KST
  s.t.hub.care.tick();
  assert.equal(await noMovement(), 1);
  s.clock.set(Date.UTC(2026, 5, 3, 3, 0, 0)); // 12:00 KST
  s.t.hub.care.tick();
  assert.equal(await noMovement(), 2);
});

test('escalation: an unacknowledged emergency is told to everyone again, louder, every 2 minutes; acknowledging stops it, twice is harmless', async (t) => {
  const s = await setUp(t);
  const subject = await baby(s);
  const member = await s.t.userWithRole('member');
  const memberId = (await member.get('/api/auth/me')).body.user.id;
  await member.put(`/api/subjects/${subject.id}/follow`, { following: true });
  await send(s, [{ kind: 'direction', state: 'down' }]);
  s.clock.advance(30_000);
  s.t.hub.care.tick();
  const fired = s.alerts.find((a) => a.change === 'fired')!;
  assert.deepEqual(fired.audience, { everyone: false, userIds: [memberId] }, 'the follower is told first');
  assert.equal(fired.incident.title, 'Minji: Face not up');

  s.clock.advance(119_000);
  s.t.hub.care.tick();
  assert.equal(s.alerts.filter((a) => a.change === 'escalated').length, 0);
  s.clock.advance(1_000);
  s.t.hub.care.tick();
  const escalated = s.alerts.filter((a) => a.change === 'escalated');
  assert.equal(escalated.length, 1);
  assert.equal(escalated[0]!.audience.everyone, true);
  assert.ok(escalated[0]!.audience.userIds.includes(memberId) && escalated[0]!.audience.userIds.length >= 2);
  assert.equal(escalated[0]!.loudness, 'loud');

  const id = fired.incident.id;
  const ack = await member.post(`/api/incidents/${id}/acknowledge`, {});
  assert.equal(ack.status, 200);
  assert.equal(ack.body.incident.state, 'acknowledged');
  const again = await s.owner.post(`/api/incidents/${id}/acknowledge`, {});
  assert.equal(again.status, 200);
  assert.equal(again.body.incident.acknowledgedBy.id, memberId, 'the first acknowledgement counts');
  s.clock.advance(10 * 60_000);
  s.t.hub.care.tick();
  assert.equal(s.alerts.filter((a) => a.change === 'escalated').length, 1, 'no escalation after it');
  const log = (await s.owner.get(`/api/incidents/${id}`)).body.log;
  assert.deepEqual(
    log.map((e: any) => e.kind),
    ['fired', 'notified', 'escalated', 'notified', 'acknowledged', 'acknowledged_again'],
  );
  assert.equal(log[4].userId, memberId);
  // Face up again: resolved, and the acknowledged state goes with it.
  await send(s, [{ kind: 'direction', state: 'front' }]);
  s.clock.advance(5_000);
  await send(s, [{ kind: 'direction', state: 'front' }]);
  assert.equal((await incidentsOf(s))[0].state, 'resolved');
});

test('a check-in nobody answers is an emergency; the next one answered resolves it', async (t) => {
  const s = await setUp(t);
  const grandma = (
    await s.owner.post('/api/subjects', { name: 'Grandma', kind: 'elder', deviceIds: [s.node.id] })
  ).body.subject;
  const node = (method: string, url: string, json?: unknown) =>
    s.t.client().request(method, url, {
      headers: { authorization: `Bearer ${s.node.token}` },
      origin: null,
      ...(json === undefined ? {} : { json }),
    });
  const ask = async () =>
    (await s.owner.post(`/api/nodes/${s.node.id}/commands`, { kind: 'check_in', minutes: 5 })).body.command;
  const first = await ask();
  await node('GET', '/api/device/commands?wait=0');
  await node('POST', `/api/device/commands/${first.id}/result`, {
    result: 'failed',
    detail: 'not answered within 5 min',
  });
  let incidents = await incidentsOf(s, `?subjectId=${grandma.id}`);
  assert.deepEqual(
    incidents.map((i) => [i.title, i.severity, i.state]),
    [['Grandma: Check-in not answered', 'emergency', 'open']],
  );
  const second = await ask();
  await node('GET', '/api/device/commands?wait=0');
  await node('POST', `/api/device/commands/${second.id}/result`, {
    result: 'done',
    detail: 'answered after 12 s',
  });
  incidents = await incidentsOf(s, `?subjectId=${grandma.id}`);
  assert.equal(incidents[0].state, 'resolved');
});

test('quiet hours silence info and warning alerts, never emergencies', async (t) => {
  const s = await setUp(t, { start: Date.UTC(2026, 5, 1, 14, 0, 0) }); // 23:00 in Seoul
  const subject = await baby(s);
  const patched = await s.owner.patch(`/api/subjects/${subject.id}`, { quietHours: '22:00-07:00' });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await send(s, [{ kind: 'crying', state: 'crying' }]);
  s.clock.advance(30_000);
  await send(s, [{ kind: 'crying', state: 'crying' }]);
  await send(s, [{ kind: 'temperature', value: 39 }]);
  s.clock.advance(60_000);
  await send(s, [{ kind: 'temperature', value: 39 }]);
  const incidents = await incidentsOf(s);
  assert.deepEqual(incidents.map((i) => [i.title, i.silent]).sort(), [
    ['Minji: Crying', true],
    ['Minji: Fever', false],
  ]);
  const loudness = Object.fromEntries(
    s.alerts.filter((a) => a.change === 'fired').map((a) => [a.incident.title, a.loudness]),
  );
  assert.deepEqual(loudness, { 'Minji: Crying': 'silent', 'Minji: Fever': 'normal' });
});

test('a hub restart in the middle of a pending duration and of a firing alert: the alert comes once, on time, and is not repeated', async (t) => {
  const clock = manualClock(SEOUL_0700);
  let t1 = await startTestHub({}, { clock });
  const owner1 = await t1.owner();
  const { device, token } = t1.hub.devices.create({ name: 'Cradle node', kind: 'node' });
  const minji = (await owner1.post('/api/subjects', { name: 'Minji', kind: 'baby', deviceIds: [device.id] }))
    .body.subject;
  const nodeSilent = (await owner1.get(`/api/subjects/${minji.id}/rules`)).body.rules.find(
    (r: { name: string }) => r.name === 'Node silent',
  );
  await owner1.delete(`/api/rules/${nodeSilent.id}`);
  let seq = 0;
  const send1 = async (hub: typeof t1, kind: string, extra: object) => {
    const r = await hub.client().request('POST', '/api/device/readings', {
      headers: { authorization: `Bearer ${token}` },
      origin: null,
      json: { readings: [{ seq: ++seq, at: clock.now(), sensor: 'cradle', kind, ...extra }] },
    });
    assert.equal(r.status, 200);
  };
  // Fever pending for 40 s, crying firing: then the hub goes down.
  await send1(t1, 'crying', { state: 'crying' });
  clock.advance(30_000);
  await send1(t1, 'crying', { state: 'crying' });
  await send1(t1, 'temperature', { value: 38.5 });
  clock.advance(40_000);
  assert.equal(t1.hub.care.incidents({ limit: 10 }).length, 1);
  const dataDir = t1.dataDir;
  await t1.stop();

  t1 = await startTestHub({}, { clock, dataDir });
  t.after(() => t1.stop());
  const owner2 = await t1.owner();
  assert.equal(
    (await owner2.get('/api/incidents')).body.incidents.length,
    1,
    'crying not fired again at start',
  );
  clock.advance(19_000);
  t1.hub.care.tick();
  assert.equal(t1.hub.care.incidents({ limit: 10 }).length, 1, 'the fever waits for its 60 s');
  clock.advance(1_000);
  t1.hub.care.tick();
  const titles = t1.hub.care.incidents({ limit: 10 }).map((i) => i.title);
  assert.deepEqual(
    titles,
    ['Minji: Fever', 'Minji: Crying'],
    'the fever at 60 s, counted across the restart',
  );
  await send1(t1, 'crying', { state: 'crying' });
  assert.equal(t1.hub.care.incidents({ limit: 10 }).length, 2, 'still crying: no duplicate');
});

test('bad input: wrong params for a kind, unknown devices, a viewer adding people, malformed quiet hours; nothing written', async (t) => {
  const s = await setUp(t);
  const subject = await baby(s);
  const viewer = await s.t.userWithRole('viewer');
  assert.equal((await viewer.post('/api/subjects', { name: 'X', kind: 'pet' })).status, 403);
  const bad = [
    {
      name: 'x',
      kind: 'threshold',
      readingKind: 'temperature',
      severity: 'warning',
      params: { op: 'above' },
    },
    {
      name: 'x',
      kind: 'threshold',
      readingKind: 'temperature',
      severity: 'warning',
      params: { op: 'over', limit: 1 },
    },
    { name: 'x', kind: 'absence', readingKind: 'motion', severity: 'warning', params: { forSeconds: 0 } },
    {
      name: 'x',
      kind: 'absence',
      readingKind: 'motion',
      severity: 'warning',
      params: { forSeconds: 60, window: { from: '25:00', to: '07:00' } },
    },
    { name: 'x', kind: 'state', readingKind: 'Crying!', severity: 'warning', params: { state: 'crying' } },
    { name: 'x', kind: 'state', readingKind: 'crying', severity: 'panic', params: { state: 'crying' } },
    { name: 'x', kind: 'check_in', readingKind: 'check_in', severity: 'emergency', params: { minutes: 5 } },
  ];
  for (const rule of bad) {
    const response = await s.owner.post(`/api/subjects/${subject.id}/rules`, rule);
    assert.equal(response.status, 400, JSON.stringify(rule));
  }
  assert.equal((await s.owner.get(`/api/subjects/${subject.id}/rules`)).body.rules.length, 3);
  const ghost = await s.owner.post('/api/subjects', { name: 'Ghost', kind: 'pet', deviceIds: [999] });
  assert.equal(ghost.status, 400);
  assert.equal((await s.owner.get('/api/subjects')).body.subjects.length, 1, 'nothing half-written');
  assert.equal((await s.owner.patch(`/api/subjects/${subject.id}`, { quietHours: '22-7' })).status, 400);
  assert.equal((await s.owner.post('/api/incidents/999/acknowledge', {})).status, 404);
  assert.equal((await s.owner.get('/api/incidents?state=weird')).status, 400);
});

test('a battery camera’s photos are signs of life: no photo for three wake intervals alerts, the next burst resolves it', async (t) => {
  const nas = path.join(tempDir('hearth-care-nas-'), 'nas');
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  const clock = manualClock(SEOUL_0700);
  const hub = await startTestHub(
    { nasDir: nas, storage: { requireNasMount: false }, photos: { uploadsPerMinute: 0 } },
    { clock },
  );
  t.after(() => hub.stop());
  const owner = await hub.owner();
  const { device, token } = hub.hub.devices.create({ name: 'Porch cam', kind: 'camera' });
  hub.hub.cameras.create({ id: 'porch', name: 'Porch', kind: 'esp32', deviceId: device.id });
  const grandpa = (
    await owner.post('/api/subjects', { name: 'Grandpa', kind: 'other', cameraIds: ['porch'] })
  ).body.subject;
  // Wakes every 5 minutes: silent for three of them is worth a look.
  await owner.post(`/api/subjects/${grandpa.id}/rules`, {
    name: 'No photos',
    kind: 'absence',
    readingKind: 'photo',
    severity: 'warning',
    params: { forSeconds: 900 },
  });
  let photos = 0;
  t.after(
    hub.hub.bus.subscribe((event) => {
      if (event.topic === 'photos' && (event.data as { change: string }).change === 'added') photos += 1;
    }),
  );
  const camera = startVirtualCamera({ hubUrl: hub.url, token, intervalSeconds: 3600 });
  t.after(() => camera.stop());
  await waitFor('the first burst stored', () => (photos >= 3 ? true : undefined), 10_000);
  clock.advance(899_000);
  hub.hub.care.tick();
  assert.equal((await owner.get('/api/incidents')).body.incidents.length, 0);
  clock.advance(1_000);
  hub.hub.care.tick();
  const [incident] = (await owner.get('/api/incidents')).body.incidents;
  assert.deepEqual([incident.title, incident.state], ['Grandpa: No photos', 'open']);
  await camera.trigger();
  await waitFor(
    'resolved by the next burst',
    async () =>
      (await owner.get(`/api/incidents/${incident.id}`)).body.incident.state === 'resolved'
        ? true
        : undefined,
    10_000,
  );
});
