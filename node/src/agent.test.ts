/**
 * The edge-node agent as it runs under systemd — a separate process, `hearth-node … run` — against the real
 * hub process, a real SQLite outbox and a real serial line (a pty pair through socat, a scripted Arduino on
 * the other end). The hub is killed and restarted on the same port; the agent is killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type SpawnedHub, spawnHub, tempDir, waitFor } from '@hearth/hub/testing';
import Database from 'better-sqlite3';
import { agentProcess } from './testing/agent-process.js';
import { raspberryPiChip, startFakeGpio } from './testing/fake-gpio/index.js';
import { startPty } from './testing/pty.js';

const root = tempDir('hearth-node-e2e-');
const hubConfig = path.join(root, 'hub-config.json');
const dataDir = path.join(root, 'hub');
/** The NAS both hub and nodes mount (a plain folder with the marker here). */
const nas = path.join(root, 'nas');
let port = 0;
let hub: SpawnedHub;
let cookie = '';
const cleanups: (() => Promise<unknown> | unknown)[] = [];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The hub as production runs it, always on the same port (the nodes keep its address). */
async function startHub() {
  hub = await spawnHub({
    dataDir,
    env: { HEARTH_PORT: String(port), HEARTH_CONFIG: hubConfig, HEARTH_NAS_DIR: nas },
  });
  if (hub.setupCode) {
    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
  }
}

async function api(url: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method: init.method ?? 'GET',
    headers: { cookie, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function enrolNode(name: string, hubUrl = `http://127.0.0.1:${port}`) {
  const stateDir = path.join(root, name);
  const { lastLine: code } = await runCli(['node', 'code', '--name', name], { dataDir });
  const enrol = agentProcess(stateDir, ['enrol', '--hub', hubUrl, '--code', code]);
  assert.equal(await enrol.exited, 0, enrol.output());
  return { stateDir, code };
}

function run(stateDir: string) {
  const agent = agentProcess(stateDir, ['run']);
  cleanups.push(() => agent.stop('SIGKILL'));
  return agent;
}

const nodeNamed = async (name: string) =>
  (await api('/api/nodes')).body.nodes.find((node: { name: string }) => node.name === name);

function outboxCount(stateDir: string): number {
  const file = path.join(stateDir, 'outbox.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM readings').pluck().get() as number;
  } finally {
    db.close();
  }
}

before(async () => {
  port = await freePort();
  // One-second heartbeats: "offline after three missed" takes seconds, not the production 45.
  writeFileSync(
    hubConfig,
    JSON.stringify({
      nodes: { heartbeatSeconds: 1 },
      // The dead-man speaks after 3 s without the hub (10 minutes in a house).
      care: { deadmanSeconds: 3 },
      storage: { requireNasMount: false, nasCheckSeconds: 1 },
    }),
  );
  mkdirSync(nas, { recursive: true });
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  await startHub();
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await hub?.stop();
});

test('enrol with a code (a reused one is refused), heartbeats; stopped it goes offline after three intervals, started it is online again', async () => {
  const { stateDir, code } = await enrolNode('Hallway');
  const again = agentProcess(path.join(root, 'hallway-2'), ['enrol', '--hub', hub.url, '--code', code]);
  assert.equal(await again.exited, 1);
  assert.match(again.output(), /used already/);
  assert.equal(await agentProcess(stateDir, ['status']).exited, 0);

  const first = run(stateDir);
  const online = await waitFor('a heartbeat', async () => {
    const node = await nodeNamed('Hallway');
    return node?.status === 'online' && node.heartbeat ? node : undefined;
  });
  assert.equal(online.heartbeat.version, '0.1.0');
  assert.ok(online.heartbeat.memory.totalBytes > 0);
  assert.ok(online.heartbeat.disks.state.totalBytes > 0);

  await first.stop('SIGTERM');
  assert.match(first.output(), /SIGTERM: stopping/);
  const stoppedAt = Date.now();
  await waitFor(
    'offline',
    async () => ((await nodeNamed('Hallway'))?.status === 'offline' ? true : undefined),
    15_000,
    100,
  );
  assert.ok(Date.now() - stoppedAt >= 2000, 'not before three heartbeats were missed');
  run(stateDir);
  await waitFor(
    'online again',
    async () => ((await nodeNamed('Hallway'))?.status === 'online' ? true : undefined),
    15_000,
    100,
  );
  const events = (await api('/api/system-events?limit=50')).body.events.map((e: { kind: string }) => e.kind);
  assert.ok(events.includes('device.offline') && events.includes('device.online'));
});

test('the hub away while the node reads 300 temperatures, the node SIGKILLed in the middle: every reading arrives once, in order', async () => {
  const pty = await startPty(tempDir('hearth-cradle-pty-'));
  cleanups.push(() => pty.stop());
  const { stateDir } = await enrolNode('Cradle');
  writeFileSync(
    path.join(stateDir, 'config.json'),
    JSON.stringify({
      sensors: [{ type: 'serial', name: 'cradle', path: pty.nodeEnd, kind: 'temperature', min: 20, max: 45 }],
    }),
  );
  const nodeId = (await nodeNamed('Cradle')).id;
  await hub.kill('SIGKILL');
  // Values tell the order: reading i is 30 + i/100 °C.
  const lines = (from: number, to: number) =>
    Array.from(
      { length: to - from + 1 },
      (_, k) => `아기 체온: ${(30 + (from + k) / 100).toFixed(2)}°C\n`,
    ).join('');

  let node = run(stateDir);
  await waitFor('the port open', () => (node.output().includes('running') ? true : undefined), 15_000, 50);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await pty.arduino.write(lines(1, 150));
  await waitFor(
    '150 readings in the outbox',
    () => (outboxCount(stateDir) === 150 ? true : undefined),
    20_000,
    50,
  );
  await node.stop('SIGKILL');

  node = run(stateDir);
  await waitFor('the agent back', () => (node.output().includes('running') ? true : undefined), 15_000, 50);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await pty.arduino.write(lines(151, 300));
  await waitFor(
    '300 readings in the outbox',
    () => (outboxCount(stateDir) === 300 ? true : undefined),
    20_000,
    50,
  );

  await startHub();
  const readings = await waitFor(
    'all 300 at the hub',
    async () => {
      const { body } = await api(`/api/nodes/${nodeId}/readings?limit=1000`);
      return body.readings?.length === 300 ? body.readings : undefined;
    },
    60_000,
  );
  assert.deepEqual(
    readings.map((r: { seq: number }) => r.seq),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    readings.map((r: { value: number }) => r.value),
    Array.from({ length: 300 }, (_, i) => Number((30 + (i + 1) / 100).toFixed(2))),
  );
  await waitFor(
    'the outbox emptied after the acknowledgement',
    () => (outboxCount(stateDir) === 0 ? true : undefined),
    20_000,
  );
  assert.equal((await nodeNamed('Cradle')).ackedSeq, 300);
});

test('a rock command from the household reaches the motor once, even when its result is lost and the node restarts', async () => {
  const pty = await startPty(tempDir('hearth-motor-pty-'));
  cleanups.push(() => pty.stop());
  // Between node and hub, a link that can lose the node's reports (as a flaky Wi-Fi would).
  let loseResults = false;
  const proxy = http.createServer((request, response) => {
    if (loseResults && request.url?.includes('/result')) return request.socket.destroy();
    const upstream = http.request(
      { host: '127.0.0.1', port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    // Its long polls may still be open: closing would wait for them.
    proxy.closeAllConnections();
    return new Promise((resolve) => proxy.close(resolve));
  });
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  const { stateDir } = await enrolNode('Cradle motor', proxyUrl);
  writeFileSync(
    path.join(stateDir, 'config.json'),
    JSON.stringify({
      commandWaitSeconds: 2,
      sensors: [
        {
          type: 'serial',
          name: 'cradle',
          path: pty.nodeEnd,
          motor: { rock: 'servo\n', stop: 'stop\n' },
          checkIn: { prompt: 'chime\n', answer: 'button' },
        },
      ],
    }),
  );
  const nodeId = (await nodeNamed('Cradle motor')).id;
  let node = run(stateDir);
  await waitFor(
    'online',
    async () => ((await nodeNamed('Cradle motor'))?.status === 'online' ? true : undefined),
    15_000,
    100,
  );

  loseResults = true;
  const queued = await api(`/api/nodes/${nodeId}/commands`, {
    method: 'POST',
    body: { kind: 'rock', seconds: 30, intensity: 2 },
  });
  assert.equal(queued.status, 201);
  await waitFor(
    'the motor line at the Arduino',
    () => (pty.arduino.received().includes('servo\n') ? true : undefined),
    15_000,
    50,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const lost = (await api(`/api/nodes/${nodeId}`)).body.commands[0];
  assert.equal(lost.state, 'delivered', 'the hub never heard the result');
  await node.stop('SIGKILL');

  loseResults = false;
  node = run(stateDir);
  const finished = await waitFor(
    'the result at the hub',
    async () => {
      const command = (await api(`/api/nodes/${nodeId}`)).body.commands[0];
      return command.state === 'done' ? command : undefined;
    },
    20_000,
  );
  assert.equal(finished.detail, 'rocking for 30 s');
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(pty.arduino.received().split('servo\n').length - 1, 1, 'the motor was started once');

  // Stop rocking, as the UI's button does.
  await api(`/api/nodes/${nodeId}/commands`, { method: 'POST', body: { kind: 'stop_rocking' } });
  await waitFor(
    'the stop line',
    () => (pty.arduino.received().includes('stop\n') ? true : undefined),
    15_000,
    50,
  );

  // A safety check-in: the chime sounds, somebody presses the button; a rock meanwhile is not held up.
  const checkIn = await api(`/api/nodes/${nodeId}/commands`, {
    method: 'POST',
    body: { kind: 'check_in', minutes: 2 },
  });
  await waitFor(
    'the chime',
    () => (pty.arduino.received().includes('chime\n') ? true : undefined),
    15_000,
    50,
  );
  await api(`/api/nodes/${nodeId}/commands`, { method: 'POST', body: { kind: 'rock', seconds: 5 } });
  await waitFor(
    'the second rock while the check-in waits',
    () => (pty.arduino.received().split('servo\n').length - 1 === 2 ? true : undefined),
    15_000,
    50,
  );
  await pty.arduino.write('BUTTON\r\n');
  const answered = await waitFor(
    'the check-in answered',
    async () => {
      const command = (await api(`/api/nodes/${nodeId}`)).body.commands.find(
        (c: { id: number }) => c.id === checkIn.body.command.id,
      );
      return command.state === 'done' ? command : undefined;
    },
    15_000,
  );
  assert.match(answered.detail, /^answered after \d+ s$/);
});

test('grandma’s hallway on GPIO: door and motion readings reach the hub; a check-in chimes and her button answers it', async (t) => {
  const gpio = await startFakeGpio({
    version: '2.1.3',
    chips: [raspberryPiChip()],
  });
  t.after(() => gpio.stop());
  const { stateDir } = await enrolNode('Grandma hallway');
  const nodeId = (await nodeNamed('Grandma hallway')).id;
  const chimed = path.join(root, 'chimed');
  writeFileSync(
    path.join(stateDir, 'config.json'),
    JSON.stringify({
      commandWaitSeconds: 2,
      sensors: [
        {
          type: 'gpio',
          name: 'hallway',
          lines: [
            { line: 17, kind: 'door', name: 'front-door' },
            { line: 27, kind: 'motion', name: 'hall-pir' },
            { line: 22, kind: 'button', name: 'ok-button', bias: 'pull-up', activeLow: true },
          ],
          gpiomon: gpio.tool('gpiomon'),
          gpioget: gpio.tool('gpioget'),
          checkIn: { button: 'ok-button', prompt: ['sh', '-c', `echo chime > '${chimed}'`] },
        },
      ],
    }),
  );
  gpio.set('gpiochip0', 22, 1); // the button's pull-up: not pressed
  run(stateDir);
  await gpio.waitForMonitor('gpiochip0', 17);
  const latest = async (kind: string) =>
    (await api(`/api/nodes/${nodeId}`)).body.latest.find((r: { kind: string }) => r.kind === kind);
  await waitFor(
    'the door’s first state',
    async () => ((await latest('door'))?.state === 'closed' ? true : undefined),
    15_000,
  );
  gpio.set('gpiochip0', 17, 1);
  gpio.set('gpiochip0', 27, 1);
  await waitFor(
    'the door open',
    async () => ((await latest('door'))?.state === 'open' ? true : undefined),
    15_000,
  );
  await waitFor(
    'motion',
    async () => ((await latest('motion'))?.state === 'motion' ? true : undefined),
    15_000,
  );

  const checkIn = await api(`/api/nodes/${nodeId}/commands`, {
    method: 'POST',
    body: { kind: 'check_in', minutes: 2 },
  });
  await waitFor('the chime', () => (existsSync(chimed) ? true : undefined), 15_000, 50);
  gpio.set('gpiochip0', 22, 0); // pressed (active low), held until the check-in is done
  const answered = await waitFor(
    'the check-in answered by the button',
    async () => {
      const command = (await api(`/api/nodes/${nodeId}`)).body.commands.find(
        (c: { id: number }) => c.id === checkIn.body.command.id,
      );
      return command.state === 'done' ? command : undefined;
    },
    15_000,
  );
  gpio.set('gpiochip0', 22, 1);
  assert.match(answered.detail, /^answered after \d+ s$/);
  assert.equal((await latest('button'))?.state, 'pressed');
});

test('a node camera records onto the NAS the node mounts; the hub indexes what it reports and plays it; with the node’s NAS gone the segments wait in its spool and arrive later', async () => {
  // The node's mount point: a link to the shared NAS that can be pulled while the hub's view stays.
  const mount = path.join(root, 'nursery-mount');
  symlinkSync(nas, mount);
  const { stateDir } = await enrolNode('Nursery');
  const nodeId = (await nodeNamed('Nursery')).id;
  const created = await api('/api/cameras', {
    method: 'POST',
    body: { id: 'nursery-cam', name: 'Nursery', kind: 'node', deviceId: nodeId },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  writeFileSync(
    path.join(stateDir, 'config.json'),
    JSON.stringify({
      nasDir: mount,
      nasRequireMount: false,
      live: { host: '127.0.0.1', port: 0 },
      cameras: [{ id: 'nursery-cam', source: { type: 'demo', label: 'Nursery' }, segmentSeconds: 2 }],
    }),
  );
  const segmentsAtHub = async () => {
    const days = [-1, 0, 1].map((d) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10));
    const all = [];
    for (const day of days)
      all.push(...((await api(`/api/cameras/nursery-cam/segments?day=${day}`)).body.segments ?? []));
    return all as { id: number; relPath: string; durationMs: number }[];
  };
  const node = run(stateDir);
  const first = await waitFor(
    'two segments indexed at the hub',
    async () => {
      const found = await segmentsAtHub();
      return found.length >= 2 ? found : undefined;
    },
    60_000,
  );
  for (const segment of first)
    assert.match(segment.relPath, /^videos\/nursery-cam\/\d{4}-\d{2}-\d{2}\/nursery-cam_\d{8}_\d{6}\.mp4$/);
  const file = await fetch(`http://127.0.0.1:${port}/api/segments/${first[0]!.id}/file`, {
    headers: { cookie },
  });
  assert.equal(file.status, 200);
  assert.ok((await file.arrayBuffer()).byteLength > 1000);

  // Live: the node offered its feed in a heartbeat; the hub reads it with the node's key and serves the
  // household fragmented MP4 like any H.264 camera. The key never shows in the camera's API.
  const live = await waitFor(
    'the node camera watchable live',
    async () => {
      const answer = await api('/api/cameras/nursery-cam/live');
      return answer.status === 200 ? answer.body : undefined;
    },
    30_000,
    500,
  );
  assert.equal(live.kind, 'mp4');
  assert.match(live.codec, /^avc1\./);
  const watching = await fetch(`http://127.0.0.1:${port}${live.url}`, { headers: { cookie } });
  assert.equal(watching.status, 200);
  const reader = watching.body!.getReader();
  const { value: firstChunk } = await reader.read();
  await reader.cancel();
  assert.equal(Buffer.from(firstChunk!).subarray(4, 8).toString('latin1'), 'ftyp');
  assert.match(
    (await api('/api/cameras/nursery-cam')).body.camera.sourceUrl,
    /^http:\/\/hub:\*\*\*@127\.0\.0\.1:\d+\//,
  );
  const feedPort = (await api(`/api/nodes/${nodeId}`)).body.node.heartbeat.live.port;
  const direct = await fetch(`http://127.0.0.1:${feedPort}/cameras/nursery-cam/live.ts`);
  assert.equal(direct.status, 401, 'the node serves nobody without the hub’s key');

  // "Take a photo" from the household: the newest picture of the node's camera lands in its gallery.
  const capture = await api(`/api/nodes/${nodeId}/commands`, {
    method: 'POST',
    body: { kind: 'capture_photo' },
  });
  const captured = await waitFor(
    'the photo command done',
    async () => {
      const command = (await api(`/api/nodes/${nodeId}`)).body.commands.find(
        (c: { id: number }) => c.id === capture.body.command.id,
      );
      return command.state === 'done' || command.state === 'failed' ? command : undefined;
    },
    30_000,
  );
  assert.equal(captured.state, 'done', captured.detail);
  assert.match(captured.detail, /^photo \d+ of nursery-cam$/);
  const photoId = Number(captured.detail.split(' ')[1]);
  const photo = (await api(`/api/photos/${photoId}`)).body.photo;
  assert.equal(photo.cameraId, 'nursery-cam');
  assert.equal(photo.wakeReason, 'command');

  // The node's NAS goes away: segments go to its spool, the hub hears of none.
  rmSync(mount);
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const spool = path.join(stateDir, 'spool');
  const spooled = await waitFor(
    'segments in the node’s spool',
    () => {
      const files = existsSync(spool)
        ? (readdirSync(spool, { recursive: true }) as string[]).filter((f) => f.endsWith('.mp4'))
        : [];
      return files.length >= 1 ? files : undefined;
    },
    30_000,
  );
  const whileAway = (await segmentsAtHub()).length;
  symlinkSync(nas, mount);
  const after = await waitFor(
    'the spooled segments at the hub',
    async () => {
      const found = await segmentsAtHub();
      return found.length >= whileAway + spooled.length ? found : undefined;
    },
    60_000,
  );
  const ids = after.map((segment) => segment.relPath);
  assert.equal(new Set(ids).size, ids.length, 'each segment indexed once');
  await node.stop('SIGTERM');
});

test('dead-man: with the hub stopped, one node tells the household’s webhook once, and once more when the hub is back', async () => {
  // Only this test's node runs: the hub picks the lowest-numbered node in touch to speak for the house.
  for (const cleanup of cleanups.splice(0)) await cleanup();
  const notices: { kind: string; title: string; id: string }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      notices.push(JSON.parse(body));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    receiver.closeAllConnections();
    return new Promise((resolve) => receiver.close(resolve));
  });
  const hookPort = (receiver.address() as net.AddressInfo).port;
  const saved = await api('/api/notify/channels', {
    method: 'PUT',
    body: {
      channels: [
        {
          id: 'ha',
          name: 'Home Assistant',
          type: 'webhook',
          enabled: true,
          url: `http://127.0.0.1:${hookPort}/hook`,
        },
      ],
    },
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));

  const { stateDir } = await enrolNode('Watcher');
  const node = run(stateDir);
  const order = () => {
    try {
      return JSON.parse(readFileSync(path.join(stateDir, 'deadman.json'), 'utf8')).order;
    } catch {
      return undefined;
    }
  };
  await waitFor(
    'the hub’s dead-man order',
    () => (order()?.sender && order().channels.length ? true : undefined),
    20_000,
    100,
  );

  await hub.stop();
  const away = await waitFor('the hub-unreachable notice', () => notices[0], 20_000, 50);
  assert.deepEqual([away.kind, away.title], ['hub_unreachable', 'Hearth hub unreachable']);
  await startHub();
  const back = await waitFor('the hub-back notice', () => notices[1], 20_000, 50);
  assert.deepEqual([back.kind, back.title], ['hub_back', 'Hearth hub back']);
  assert.deepEqual(
    notices.map((n) => n.kind),
    ['hub_unreachable', 'hub_back'],
    'one notice each way, however many heartbeats failed',
  );
  await node.stop('SIGTERM');
});
