import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { photos } from './photos.schema.js';
import { startVirtualCamera, type VirtualCameraEvent } from './virtual-camera.js';

let t: TestHub;
const nas = path.join(tempDir('hearth-nas-'), 'nas');

before(async () => {
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  t = await startTestHub({
    nasDir: nas,
    storage: { requireNasMount: false },
    photos: { uploadsPerMinute: 0 },
    jobs: { pollIntervalMs: 50 },
  });
});
after(async () => {
  await t?.stop();
  rmSync(path.dirname(nas), { recursive: true, force: true });
});

test('the virtual camera uploads real bursts, picks up settings and a command in the compact reply, and acknowledges it', async () => {
  const { device, token } = t.hub.devices.create({ name: 'Virtual pet cam', kind: 'camera' });
  t.hub.cameras.create({
    id: 'pet',
    name: 'Pet',
    kind: 'esp32',
    deviceId: device.id,
    sourceUrl: 'http://127.0.0.1:9/',
  });
  const events: VirtualCameraEvent[] = [];
  const camera = startVirtualCamera({
    hubUrl: t.url,
    token,
    label: 'Pet (virtual)',
    intervalSeconds: 3600,
    onEvent: (event) => events.push(event),
  });
  try {
    const first = await waitFor('the first burst processed with a best shot', () => {
      const rows = t.hub.db.select().from(photos).where(eq(photos.deviceId, device.id)).all();
      return rows.length === 3 && rows.every((r) => r.state === 'completed') && rows.some((r) => r.best)
        ? rows
        : undefined;
    });
    assert.deepEqual([first[0]!.width, first[0]!.height], [640, 480]);
    assert.equal(first[0]!.wakeReason, 'timer');

    const owner = await t.owner();
    await owner.patch(`/api/devices/${device.id}/camera`, { frameSize: 'QVGA', burstLength: 2 });
    const command = (await owner.post(`/api/devices/${device.id}/commands`, { kind: 'capture_now' })).body
      .command;
    await camera.trigger(); // the PIR fires: this upload's reply carries the change and the command
    await waitFor('the capture_now burst at the new settings', () => {
      const rows = t.hub.db.select().from(photos).where(eq(photos.wakeReason, 'command')).all();
      return rows.length === 2 ? rows : undefined;
    });
    const small = t.hub.db.select().from(photos).where(eq(photos.wakeReason, 'command')).all();
    assert.deepEqual([small[0]!.width, small[0]!.height], [320, 240]);
    assert.equal(camera.settings().frameSize, 'QVGA');
    await waitFor('the command acknowledged', async () =>
      (await owner.get(`/api/devices/${device.id}/camera`)).body.pendingCommands.length === 0
        ? true
        : undefined,
    );
    assert.equal(
      events.filter((e) => e.kind === 'command').length,
      1,
      `delivered once: ${JSON.stringify(events)}`,
    );
    assert.equal((events.find((e) => e.kind === 'command')!.detail as { id: number }).id, command.id);
  } finally {
    await camera.stop();
  }
});

test('with the hub unreachable the camera keeps its burst and retries with backoff; once it is back the burst is stored exactly once', async () => {
  const { device, token } = t.hub.devices.create({ name: 'Door cam', kind: 'camera' });
  // A battery ESP32-CAM has no stream: no source URL is needed (a mains one still needs it).
  assert.throws(
    () =>
      t.hub.cameras.create({
        id: 'door',
        name: 'Door',
        kind: 'esp32',
        deviceId: device.id,
        powerProfile: 'mains',
        record: false,
      }),
    (error: { details?: { issues?: { path: string }[] } }) =>
      error.details?.issues?.[0]?.path === 'sourceUrl',
  );
  t.hub.cameras.create({ id: 'door', name: 'Door', kind: 'esp32', deviceId: device.id });
  // A loopback port with nothing behind it yet; later a plain TCP relay to the hub opens on it.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const events: VirtualCameraEvent[] = [];
  const camera = startVirtualCamera({
    hubUrl: `http://127.0.0.1:${port}`,
    token,
    intervalSeconds: 3600,
    onEvent: (e) => events.push(e),
  });
  const hubPort = Number(new URL(t.url).port);
  const relay = net.createServer((socket) => {
    const upstream = net.connect(hubPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  try {
    await waitFor('two refused attempts', () =>
      events.filter((e) => e.kind === 'retrying').length >= 2 ? true : undefined,
    );
    await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    await waitFor('the burst uploaded through the relay', () =>
      events.some((e) => e.kind === 'uploaded') ? true : undefined,
    );
    const ids = new Set(events.map((e) => (e.detail as { burstId: string }).burstId));
    assert.equal(ids.size, 1, 'the same burst every time');
    const rows = t.hub.db.select().from(photos).where(eq(photos.deviceId, device.id)).all();
    assert.equal(rows.length, 3, 'stored exactly once');
  } finally {
    await camera.stop();
    relay.close();
  }
});
