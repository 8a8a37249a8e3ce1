import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { redactUrl } from './source-url.js';

let t: TestHub;
let member: TestClient;
before(async () => {
  t = await startTestHub();
  member = await t.userWithRole('member');
});
after(() => t.stop());

test('a camera source password is stored but never returned', async () => {
  const created = await member.post('/api/cameras', {
    id: 'porch',
    name: 'Porch',
    kind: 'rtsp',
    sourceUrl: 'rtsp://admin:s3cret-pass@127.0.0.1:9/stream1',
    record: false,
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.camera.sourceUrl, 'rtsp://admin:***@127.0.0.1:9/stream1');
  const listed = JSON.stringify((await member.get('/api/cameras')).body);
  assert.ok(!listed.includes('s3cret-pass'));
  assert.equal(
    t.hub.cameras.getForRecording('porch').sourceUrl,
    'rtsp://admin:s3cret-pass@127.0.0.1:9/stream1',
  );

  // Sending the redacted URL back (a form saved unchanged) keeps the real one.
  const renamed = await member.patch('/api/cameras/porch', {
    name: 'Front porch',
    sourceUrl: created.body.camera.sourceUrl,
  });
  assert.equal(renamed.status, 200);
  assert.equal(
    t.hub.cameras.getForRecording('porch').sourceUrl,
    'rtsp://admin:s3cret-pass@127.0.0.1:9/stream1',
  );
});

test('ids are slugs, unique, and name the NAS folder', async () => {
  for (const id of ['Front Door', '../etc', 'a_b', '-x', 'x-', 'a'.repeat(33), '']) {
    const response = await member.post('/api/cameras', { id, name: 'x', kind: 'demo' });
    assert.equal(response.status, 400, id);
    assert.equal(response.body.error.details.issues[0].path, 'id');
  }
  assert.equal(
    (await member.post('/api/cameras', { id: 'garden', name: 'Garden', kind: 'demo', record: false })).status,
    201,
  );
  assert.equal(
    (await member.post('/api/cameras', { id: 'garden', name: 'Again', kind: 'demo' })).status,
    409,
  );
  assert.equal(
    (await member.patch('/api/cameras/garden', { id: 'renamed' })).status,
    400,
    'the id cannot change',
  );
});

test('what each kind needs is checked, and battery cameras are never recorded continuously', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ id: 'c1', name: 'x', kind: 'rtsp' }, 'sourceUrl'],
    [{ id: 'c2', name: 'x', kind: 'rtsp', sourceUrl: 'http://127.0.0.1/stream' }, 'sourceUrl'],
    [{ id: 'c3', name: 'x', kind: 'mjpeg', sourceUrl: 'not a url' }, 'sourceUrl'],
    [{ id: 'c4', name: 'x', kind: 'demo', sourceUrl: 'rtsp://127.0.0.1/x' }, 'sourceUrl'],
    [{ id: 'c5', name: 'x', kind: 'node' }, 'deviceId'],
    [
      { id: 'c6', name: 'x', kind: 'esp32', sourceUrl: 'http://127.0.0.1:81/stream', deviceId: 9999 },
      'deviceId',
    ],
    [{ id: 'c7', name: 'x', kind: 'demo', powerProfile: 'battery', record: true }, 'record'],
    [{ id: 'c8', name: 'x', kind: 'demo', segmentSeconds: 5 }, 'segmentSeconds'],
    [{ id: 'c9', name: 'x', kind: 'demo', segmentSeconds: 301 }, 'segmentSeconds'],
  ];
  for (const [body, field] of cases) {
    const response = await member.post('/api/cameras', body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.details.issues[0].path, field, JSON.stringify(body));
  }
  const { device } = t.hub.devices.create({ name: 'cat cam', kind: 'camera' });
  const esp = await member.post('/api/cameras', {
    id: 'cat',
    name: 'Cat',
    kind: 'esp32',
    sourceUrl: 'http://127.0.0.1:81/stream',
    deviceId: device.id,
  });
  assert.equal(esp.status, 201);
  assert.equal(esp.body.camera.powerProfile, 'battery', 'ESP32 cameras default to battery');
  assert.equal(esp.body.camera.record, false);
  assert.equal(esp.body.camera.recorder.state, 'disabled');
  assert.equal((await member.patch('/api/cameras/cat', { record: true })).status, 400);
  assert.equal(
    t.hub.cameras.list().some((camera) => camera.id.startsWith('c') && camera.id.length === 2),
    false,
    'nothing half-written',
  );
});

test('a camera with footage cannot be deleted, only disabled; viewers cannot change cameras', async () => {
  const viewer = await t.userWithRole('viewer');
  assert.equal((await viewer.post('/api/cameras', { id: 'nope', name: 'x', kind: 'demo' })).status, 403);
  await member.post('/api/cameras', { id: 'shed', name: 'Shed', kind: 'demo', record: false });
  t.hub.segments.insert({
    cameraId: 'shed',
    startAt: Date.now() - 20_000,
    endAt: Date.now() - 10_000,
    durationMs: 10_000,
    bytes: 1,
    codec: 'h264',
    width: 1,
    height: 1,
    initBytes: 1,
    location: 'nas',
    relPath: 'videos/shed/2026-01-01/shed_20260101_000000.mp4',
    protected: false,
    createdAt: Date.now(),
  });
  assert.equal((await member.delete('/api/cameras/shed')).status, 409);
  assert.equal((await member.patch('/api/cameras/shed', { enabled: false })).body.camera.enabled, false);
  assert.equal((await member.delete('/api/cameras/garden')).status, 204);
});

test('redactUrl hides passwords in any URL and keeps URLs without credentials', () => {
  assert.equal(redactUrl('http://u:p@h:81/stream'), 'http://u:***@h:81/stream');
  assert.equal(redactUrl('rtsp://:p@h/x'), 'rtsp://:***@h/x');
  assert.equal(redactUrl('http://h/x'), 'http://h/x');
  assert.equal(redactUrl(null), null);
});
