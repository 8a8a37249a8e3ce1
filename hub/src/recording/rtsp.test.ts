import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeRtspCamera, startFakeRtspCamera } from '../testing/fake-rtsp-camera.js';
import { ffprobeSeconds } from '../testing/ffprobe.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let member: TestClient;
let camera: FakeRtspCamera;
const PASSWORD = 'p@ss word!';
const today = () => new Date().toISOString().slice(0, 10);

before(async () => {
  t = await startTestHub({ recording: { restartBackoffBaseMs: 300, restartBackoffMaxMs: 2000 } });
  await t.hub.settings.update({ timeZone: 'UTC' });
  member = await t.userWithRole('member');
  camera = await startFakeRtspCamera({ credentials: { user: 'admin', password: PASSWORD } });
});
after(async () => {
  await t.stop();
  await camera.close();
});

test('an RTSP camera with a password is recorded by stream copy and watched live over a second session', async () => {
  const created = await member.post('/api/cameras', {
    id: 'driveway',
    name: 'Driveway',
    kind: 'rtsp',
    sourceUrl: camera.urlWith('admin', PASSWORD),
    segmentSeconds: 10,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.ok(
    !JSON.stringify(created.body).includes(encodeURIComponent(PASSWORD)),
    'the password is not echoed',
  );

  const segment = await waitFor('a finished driveway segment', async () => {
    const listing = await member.get(`/api/cameras/driveway/segments?day=${today()}`);
    return listing.body.segments[0];
  });
  // Copied, never re-encoded: the camera's own H.264 at its own size.
  assert.equal(segment.codec, 'h264');
  assert.deepEqual([segment.width, segment.height], [640, 480]);
  const file = await fetch(`${t.url}/api/segments/${segment.id}/file`, {
    headers: { cookie: member.cookie },
  });
  assert.equal(file.status, 200);
  const local = path.join(tempDir(), 'segment.mp4');
  writeFileSync(local, Buffer.from(await file.arrayBuffer()));
  const seconds = ffprobeSeconds(local);
  assert.ok(
    Math.abs(seconds * 1000 - segment.durationMs) < 500,
    `plays its indexed ${segment.durationMs} ms`,
  );
  assert.ok(seconds >= 9 && seconds <= 12, `about one 10-s segment: ${seconds}`);

  const live = await member.get('/api/cameras/driveway/live');
  assert.equal(live.status, 200, JSON.stringify(live.body));
  assert.equal(live.body.kind, 'mp4');
  assert.match(live.body.codec, /^avc1\.42/, 'the camera’s baseline profile');
  const abort = new AbortController();
  const stream = await fetch(`${t.url}${live.body.url}`, {
    headers: { cookie: member.cookie },
    signal: abort.signal,
  });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  let head = Buffer.alloc(0);
  while (head.length < 16) head = Buffer.concat([head, Buffer.from((await reader.read()).value!)]);
  assert.equal(head.subarray(4, 8).toString(), 'ftyp');
  assert.equal(camera.maxPlaying(), 2, 'the recorder and the live view each hold one RTSP session');
  abort.abort();
  assert.deepEqual(
    [...new Set(camera.log.filter((line) => line.startsWith('SETUP') || line.startsWith('PLAY')))],
    ['SETUP 200', 'PLAY 200'],
    'TCP interleaved from the first SETUP: no UDP attempt, no refused request',
  );
});

test('a wrong RTSP password shows reconnecting with the camera’s 401, never the password', async () => {
  const created = await member.post('/api/cameras', {
    id: 'gate',
    name: 'Gate',
    kind: 'rtsp',
    sourceUrl: camera.urlWith('admin', 'not-the-password'),
  });
  assert.equal(created.status, 201);
  const recorder = await waitFor('reconnecting with an error', async () => {
    const state = (await member.get('/api/cameras/gate')).body.camera.recorder;
    return state.state === 'reconnecting' && state.lastError ? state : undefined;
  });
  assert.match(recorder.lastError, /401|unauthori[sz]ed|authori[sz]ation/i);
  const everything = JSON.stringify([recorder, t.hub.systemEvents.list({ limit: 100 })]);
  assert.ok(!everything.includes('not-the-password'));
  assert.ok(camera.log.includes('DESCRIBE 401'));
  await member.patch('/api/cameras/gate', { enabled: false });
});
