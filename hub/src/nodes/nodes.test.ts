import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { manualClock } from '../clock.js';
import type { Heartbeat } from '../protocol/node.js';
import { runCli } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { urlHost } from './nodes.service.js';

// Behind the real clock: `hearth node code` (a separate process) dates its codes by the real one.
const clock = manualClock(Date.UTC(2026, 0, 5, 8, 0, 0));
let t: TestHub;
let owner: TestClient;

const heartbeat = (extra: Partial<Heartbeat> = {}): Heartbeat => ({
  version: '0.1.0',
  uptimeSeconds: 120,
  cpuTemperatureC: 48.2,
  load1: 0.3,
  memory: { totalBytes: 4e9, availableBytes: 3e9 },
  disks: { state: { freeBytes: 2e10, totalBytes: 3e10 }, nas: null },
  clockSynced: true,
  sensors: [{ name: 'cradle', kind: 'serial', healthy: true }],
  cameras: [],
  outbox: { pending: 0, dropped: 0 },
  ...extra,
});

async function enrol(name: string) {
  const { code } = (await owner.post('/api/nodes/codes', { name })).body;
  const response = await t.client().post('/api/device/enrol', { code });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body as { token: string; device: { id: number; name: string } };
}

function as(token: string) {
  const call = (method: string, url: string, json?: unknown) =>
    t.client().request(method, url, {
      headers: { authorization: `Bearer ${token}` },
      ...(json === undefined ? {} : { json }),
      origin: null,
    });
  return {
    post: (url: string, json: unknown) => call('POST', url, json),
    get: (url: string) => call('GET', url),
  };
}

before(async () => {
  t = await startTestHub({}, { clock });
  owner = await t.owner();
});
after(() => t?.stop());

test('enrolment codes: made by the owner, exchanged once for a node token; reused, expired, unknown, malformed codes get clear 4xx', async () => {
  const member = await t.userWithRole('member');
  assert.equal((await member.post('/api/nodes/codes', { name: 'Cradle' })).status, 403);
  const made = await owner.post('/api/nodes/codes', { name: 'Cradle' });
  assert.equal(made.status, 201);
  assert.match(made.body.code, /^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/);
  assert.equal(made.body.expiresAt, clock.now() + 15 * 60_000);

  // Lower case and without the dash, as people type it.
  const typed = made.body.code.toLowerCase().replace('-', '');
  const first = await t.client().post('/api/device/enrol', { code: typed, hardwareId: 'pi-cradle-01' });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.match(first.body.token, /^hd_/);
  assert.equal(first.body.device.name, 'Cradle');
  const again = await t.client().post('/api/device/enrol', { code: made.body.code });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'code_used');

  const late = await owner.post('/api/nodes/codes', { name: 'Hallway' });
  clock.advance(15 * 60_000 + 1);
  const expired = await t.client().post('/api/device/enrol', { code: late.body.code });
  assert.equal(expired.status, 410);
  assert.equal(expired.body.error.code, 'code_expired');
  assert.equal((await t.client().post('/api/device/enrol', { code: 'ABCD-EFGH' })).status, 404);
  assert.equal((await t.client().post('/api/device/enrol', { code: 'O0O0-1111' })).status, 400);
  assert.equal((await t.client().post('/api/device/enrol', { code: made.body.code, extra: 1 })).status, 400);
  assert.deepEqual(
    t.hub.devices.list().map((d) => [d.name, d.kind]),
    [['Cradle', 'node']],
    'nothing was made for the refused codes',
  );
});

test('`hearth node code` prints a working code as its last line', async () => {
  const { lastLine, code } = await runCli(['node', 'code', '--name', 'Grandma'], { dataDir: t.dataDir });
  assert.equal(code, 0);
  assert.match(lastLine, /^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/);
  // The CLI runs on the system clock; this hub's clock is behind it, so the code is fresh here.
  const enrolled = await t.client().post('/api/device/enrol', { code: lastLine });
  assert.equal(enrolled.status, 201);
  assert.equal(enrolled.body.device.name, 'Grandma');
});

test('heartbeats: online with its health; three missed make it offline (a system event); the next one brings it back', async () => {
  const { token, device } = await enrol('Living room');
  const node = as(token);
  const beat = await node.post('/api/device/heartbeat', heartbeat());
  assert.equal(beat.status, 200);
  const { liveKey, deadman, ...answer } = beat.body;
  assert.deepEqual(
    deadman,
    { afterSeconds: 600, channels: [], sender: true },
    'the only node speaks if the hub dies',
  );
  assert.deepEqual(answer, { hubTime: clock.now(), intervalSeconds: 15 });
  assert.match(liveKey, /^[\w-]{43}$/, 'the key the hub will present to the node’s camera feeds');
  let listed = (await owner.get('/api/nodes')).body.nodes.find((n: { id: number }) => n.id === device.id);
  assert.equal(listed.status, 'online');
  assert.equal(listed.heartbeat.cpuTemperatureC, 48.2);

  clock.advance(44_000);
  t.hub.nodes.markSilentOffline();
  listed = (await owner.get('/api/nodes')).body.nodes.find((n: { id: number }) => n.id === device.id);
  assert.equal(listed.status, 'online', 'two missed heartbeats are not yet three');
  clock.advance(2_000);
  t.hub.nodes.markSilentOffline();
  listed = (await owner.get('/api/nodes')).body.nodes.find((n: { id: number }) => n.id === device.id);
  assert.equal(listed.status, 'offline');
  await node.post('/api/device/heartbeat', heartbeat({ uptimeSeconds: 170 }));
  listed = (await owner.get('/api/nodes')).body.nodes.find((n: { id: number }) => n.id === device.id);
  assert.equal(listed.status, 'online');
  const events = (await owner.get('/api/system-events?limit=20')).body.events.map(
    (e: { kind: string; subject: string }) => [e.kind, e.subject],
  );
  assert.ok(
    events.some(
      ([kind, subject]: string[]) => kind === 'device.offline' && subject === `device:${device.id}`,
    ),
  );
  assert.ok(
    events.some(([kind, subject]: string[]) => kind === 'device.online' && subject === `device:${device.id}`),
  );
  assert.equal((await node.post('/api/device/heartbeat', { ...heartbeat(), load1: 'high' })).status, 400);
});

test('camera feeds: a node’s heartbeat points its cameras at the address it came from, with a key of its own; nobody sees the key', async () => {
  // Made directly: the enrolment route's rate limit is for the tests above.
  const cradle = t.hub.devices.create({ name: 'Cradle feed', kind: 'node' });
  const hallway = t.hub.devices.create({ name: 'Hallway feed', kind: 'node' });
  assert.equal(
    (
      await owner.post('/api/cameras', {
        id: 'cradle-cam',
        name: 'Cradle',
        kind: 'node',
        deviceId: cradle.device.id,
      })
    ).status,
    201,
  );
  assert.equal(
    (
      await owner.post('/api/cameras', {
        id: 'hall-cam',
        name: 'Hall',
        kind: 'node',
        deviceId: hallway.device.id,
      })
    ).status,
    201,
  );
  const noFeedYet = await owner.get('/api/cameras/cradle-cam/live');
  assert.deepEqual([noFeedYet.status, noFeedYet.body.error.code], [409, 'no_live']);

  const beat = (await as(cradle.token).post('/api/device/heartbeat', heartbeat({ live: { port: 8081 } })))
    .body;
  const hallBeat = (
    await as(hallway.token).post('/api/device/heartbeat', heartbeat({ live: { port: 9000 } }))
  ).body;
  assert.notEqual(beat.liveKey, hallBeat.liveKey, 'one key per node');
  const sourceOf = (id: string) => t.hub.cameras.list().find((camera) => camera.id === id);
  const stored = (id: string) =>
    t.hub.db.$client.prepare('SELECT source_url FROM cameras WHERE id = ?').pluck().get(id) as string;
  assert.equal(stored('cradle-cam'), `http://hub:${beat.liveKey}@127.0.0.1:8081/cameras/cradle-cam/live.ts`);
  assert.equal(stored('hall-cam'), `http://hub:${hallBeat.liveKey}@127.0.0.1:9000/cameras/hall-cam/live.ts`);
  assert.equal(sourceOf('cradle-cam')?.sourceUrl, 'http://hub:***@127.0.0.1:8081/cameras/cradle-cam/live.ts');
  const viaApi = JSON.stringify((await owner.get('/api/cameras')).body);
  assert.ok(!viaApi.includes(beat.liveKey), 'the key is not in the camera list');
  // The same key on every heartbeat (and after a hub restart: it is derived, not drawn).
  const again = (await as(cradle.token).post('/api/device/heartbeat', heartbeat({ live: { port: 8082 } })))
    .body;
  assert.equal(again.liveKey, beat.liveKey);
  assert.match(stored('cradle-cam'), /@127\.0\.0\.1:8082\//, 'a new port is followed');
  // A camera the node reports that the hub does not know yet is added (kind node, this node's); an id that is
  // another node's camera is not taken over.
  const health = (name: string) => ({ name, kind: 'rpicam', healthy: true });
  await as(hallway.token).post(
    '/api/device/heartbeat',
    heartbeat({
      cameras: [health('hall-cam'), health('stairs-cam'), health('cradle-cam')],
      live: { port: 9000 },
    }),
  );
  const stairs = (await owner.get('/api/cameras/stairs-cam')).body.camera;
  assert.deepEqual(
    [stairs.kind, stairs.deviceId, stairs.name],
    ['node', hallway.device.id, 'Hallway feed: stairs-cam'],
  );
  assert.equal(
    stored('stairs-cam'),
    `http://hub:${hallBeat.liveKey}@127.0.0.1:9000/cameras/stairs-cam/live.ts`,
  );
  assert.equal((await owner.get('/api/cameras/cradle-cam')).body.camera.deviceId, cradle.device.id);
  assert.match(stored('cradle-cam'), /@127\.0\.0\.1:8082\//, 'still the cradle node’s feed');
  for (const bad of [{ port: 0 }, { port: 70_000 }, { port: 8081, host: 'evil.example' }])
    assert.equal(
      (await as(cradle.token).post('/api/device/heartbeat', heartbeat({ live: bad as never }))).status,
      400,
    );
});

test('feed addresses as URL hosts: IPv4, IPv4-mapped IPv6, IPv6 with a zone', () => {
  assert.equal(urlHost('192.168.1.20'), '192.168.1.20');
  assert.equal(urlHost('::ffff:192.168.1.20'), '192.168.1.20');
  assert.equal(urlHost('fd00::20'), '[fd00::20]');
  assert.equal(urlHost('fe80::1%eth0'), '[fe80::1%25eth0]');
});

test('readings: stored once, acknowledged up to the highest contiguous sequence; bad batches refused whole', async () => {
  const { token, device } = await enrol('Cradle 2');
  const node = as(token);
  const reading = (seq: number, value = 36.5) => ({
    seq,
    at: clock.now() + seq,
    sensor: 'cradle',
    kind: 'temperature',
    value,
  });
  let answer = await node.post('/api/device/readings', { readings: [1, 2, 3, 5].map((seq) => reading(seq)) });
  assert.deepEqual(answer.body, { ackedSeq: 3, stored: 4, duplicates: 0 });
  answer = await node.post('/api/device/readings', { readings: [3, 4].map((seq) => reading(seq)) });
  assert.deepEqual(
    answer.body,
    { ackedSeq: 5, stored: 1, duplicates: 1 },
    'the gap filled moves the acknowledgement past 5',
  );
  const crying = {
    seq: 6,
    at: clock.now(),
    sensor: 'cry-detector',
    kind: 'crying',
    state: 'crying',
    confidence: 0.91,
  };
  assert.equal((await node.post('/api/device/readings', { readings: [crying] })).body.ackedSeq, 6);

  // The node's outbox overflowed while the hub was away: 7–9 will never come.
  answer = await node.post('/api/device/readings', { readings: [reading(10)], droppedThrough: 9 });
  assert.deepEqual(answer.body, { ackedSeq: 10, stored: 1, duplicates: 0 });
  for (const bad of [
    { readings: [] },
    { readings: [{ ...reading(7), value: undefined }] },
    { readings: [{ ...reading(7), kind: 'Temperature!' }] },
    { readings: [{ ...reading(7), confidence: 2 }] },
    { readings: Array.from({ length: 501 }, (_, i) => reading(7 + i)) },
  ])
    assert.equal((await node.post('/api/device/readings', bad)).status, 400);
  const stored = (await owner.get(`/api/nodes/${device.id}/readings?kind=temperature`)).body.readings;
  assert.deepEqual(
    stored.map((r: { seq: number }) => r.seq),
    [1, 2, 3, 4, 5, 10],
  );
  const detail = (await owner.get(`/api/nodes/${device.id}`)).body;
  assert.deepEqual(
    detail.latest.map((r: { sensor: string; kind: string; value: number | null; state: string | null }) => [
      r.sensor,
      r.kind,
      r.value ?? r.state,
    ]),
    [
      ['cradle', 'temperature', 36.5],
      ['cry-detector', 'crying', 'crying'],
    ],
  );
});

test('commands: queued by a member, handed to the waiting long poll, finished once; expired when nobody runs them', async () => {
  const { token, device } = await enrol('Cradle 3');
  const node = as(token);
  const viewer = await t.userWithRole('viewer');
  assert.equal((await viewer.post(`/api/nodes/${device.id}/commands`, { kind: 'rock' })).status, 403);
  const member = await t.userWithRole('member');
  assert.equal(
    (await member.post(`/api/nodes/${device.id}/commands`, { kind: 'rock', intensity: 9 })).status,
    400,
  );
  assert.equal((await member.post(`/api/nodes/${device.id}/commands`, { kind: 'dance' })).status, 400);

  // The node is already waiting when the command is queued: the poll answers with it.
  const poll = node.get('/api/device/commands?wait=20');
  await new Promise((resolve) => setImmediate(resolve));
  const queued = await member.post(`/api/nodes/${device.id}/commands`, {
    kind: 'rock',
    seconds: 90,
    intensity: 2,
  });
  assert.equal(queued.status, 201);
  const { commands } = (await poll).body;
  assert.deepEqual(
    commands.map((c: { id: number; kind: string; args: unknown }) => [c.id, c.kind, c.args]),
    [[queued.body.command.id, 'rock', { seconds: 90, intensity: 2 }]],
  );
  // Unfinished, it comes again (the node runs an id once; the hub cannot know it started).
  assert.equal((await node.get('/api/device/commands')).body.commands.length, 1);
  const url = `/api/device/commands/${queued.body.command.id}/result`;
  assert.equal((await node.post(url, { result: 'done', detail: 'rocked 90 s' })).status, 200);
  assert.equal((await node.post(url, { result: 'done' })).status, 200, 'a resent result is fine');
  assert.equal((await node.post(url, { result: 'failed' })).status, 409);
  assert.deepEqual((await node.get('/api/device/commands')).body.commands, []);
  const shown = (await owner.get(`/api/nodes/${device.id}`)).body.commands[0];
  assert.deepEqual([shown.state, shown.detail], ['done', 'rocked 90 s']);

  const stale = await member.post(`/api/nodes/${device.id}/commands`, {
    kind: 'restart',
    expiresInSeconds: 5,
  });
  clock.advance(6_000);
  t.hub.nodes.expireCommands();
  assert.deepEqual((await node.get('/api/device/commands')).body.commands, []);
  const expired = (await owner.get(`/api/nodes/${device.id}`)).body.commands.find(
    (c: { id: number }) => c.id === stale.body.command.id,
  );
  assert.equal(expired.state, 'expired');

  // A camera's token is not a node's.
  const camera = t.hub.devices.create({ name: 'Porch', kind: 'camera' });
  assert.equal((await as(camera.token).post('/api/device/heartbeat', heartbeat())).status, 404);
  assert.equal(
    (await as(camera.token).post(`/api/device/commands/${queued.body.command.id}/result`, { result: 'done' }))
      .status,
    404,
  );
});
