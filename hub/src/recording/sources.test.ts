import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeMjpegCamera, startFakeMjpegCamera } from '../testing/fake-mjpeg-camera.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let member: TestClient;
let camera: FakeMjpegCamera;
const today = () => new Date().toISOString().slice(0, 10);

before(async () => {
  t = await startTestHub({
    recording: { stallSeconds: 4, restartBackoffBaseMs: 300, restartBackoffMaxMs: 2000 },
  });
  await t.hub.settings.update({ timeZone: 'UTC' });
  member = await t.userWithRole('member');
  camera = await startFakeMjpegCamera({ fps: 10 });
});
after(async () => {
  await t.stop();
  await camera.close();
});

test('an ESP32-style MJPEG camera is recorded over one connection; torn frames and garbage are counted, not fatal', async () => {
  const created = await member.post('/api/cameras', {
    id: 'nursery',
    name: 'Nursery',
    kind: 'mjpeg',
    sourceUrl: camera.streamUrl,
    record: true,
    segmentSeconds: 10,
  });
  assert.equal(created.status, 201);
  // Garbage first: an oversized part swallows whatever follows it up to the next boundary.
  for (const kind of ['garbage', 'torn', 'badLength', 'notJpeg', 'oversized'] as const)
    camera.injectDamage(kind, 2);

  const segment = await waitFor('a recorded MJPEG segment', async () => {
    const body = (await member.get(`/api/cameras/nursery/segments?day=${today()}`)).body;
    return body.segments?.[0];
  });
  assert.equal(segment.codec, 'h264');
  assert.equal(segment.width, 640);
  assert.equal(segment.height, 480);
  assert.ok(segment.durationMs > 8000, `duration ${segment.durationMs}`);

  const source = (await member.get('/api/cameras/nursery')).body.camera.source;
  assert.ok(source.frames > 50, `frames ${source.frames}`);
  const dropped = source.dropped;
  assert.ok(dropped.torn + dropped.badLength >= 2, JSON.stringify(dropped));
  assert.ok(
    dropped.garbageBytes > 0 && dropped.notJpeg >= 1 && dropped.oversized >= 1,
    JSON.stringify(dropped),
  );
  assert.equal(camera.stats.maxOpenClients, 1, 'the camera never saw a second client');
  assert.equal((await member.get('/api/health')).status, 200, 'the hub survived');
});

test('a source that stalls without closing is restarted by the watchdog and recovers', async () => {
  await waitFor('recording', async () =>
    (await member.get('/api/cameras/nursery')).body.camera.recorder.state === 'recording' ? true : undefined,
  );
  await camera.setMode('stall');
  const stalled = await waitFor('the watchdog restart', async () => {
    const recorder = (await member.get('/api/cameras/nursery')).body.camera.recorder;
    return recorder.state === 'reconnecting' && /stalled/.test(recorder.lastError) ? recorder : undefined;
  });
  assert.ok(stalled.restarts >= 1);
  assert.ok(t.hub.systemEvents.list({ limit: 50 }).some((event) => event.kind === 'recorder.reconnecting'));
  await camera.setMode('ok');
  await waitFor('recording again', async () =>
    (await member.get('/api/cameras/nursery')).body.camera.recorder.state === 'recording' ? true : undefined,
  );
  assert.equal(camera.stats.maxOpenClients, 1);
});

test('a source that is down is retried with backoff and shows reconnecting with its error, never its password', async () => {
  const created = await member.post('/api/cameras', {
    id: 'garage',
    name: 'Garage',
    kind: 'rtsp',
    sourceUrl: 'rtsp://admin:hunter22@127.0.0.1:1/stream',
  });
  assert.equal(created.status, 201);
  const recorder = await waitFor('reconnecting with an error', async () => {
    const state = (await member.get('/api/cameras/garage')).body.camera.recorder;
    return state.state === 'reconnecting' && state.restarts >= 2 ? state : undefined;
  });
  assert.match(recorder.lastError, /refused|failed|error/i);
  assert.ok(!JSON.stringify(recorder).includes('hunter22'));
  const events = t.hub.systemEvents.list({ limit: 100 }).filter((event) => event.subject === 'camera:garage');
  assert.equal(
    events.filter((event) => event.kind === 'recorder.reconnecting').length,
    1,
    'one event, not one per retry',
  );
  assert.ok(!JSON.stringify(events).includes('hunter22'));
  await member.patch('/api/cameras/garage', { enabled: false });
  await waitFor('disabled', async () =>
    (await member.get('/api/cameras/garage')).body.camera.recorder.state === 'disabled' ? true : undefined,
  );
});
