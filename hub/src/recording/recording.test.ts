import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ffprobeSeconds } from '../testing/ffprobe.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let viewer: TestClient;
before(async () => {
  t = await startTestHub({ demo: true });
  viewer = await t.userWithRole('viewer');
});
after(() => t.stop());

const today = () => new Date().toISOString().slice(0, 10);

test('demo cameras record: segments land on the NAS in the BRIEF layout and in the day listing', async () => {
  await t.hub.settings.update({ timeZone: 'UTC' });
  const cameras = (await viewer.get('/api/cameras')).body.cameras;
  assert.deepEqual(cameras.map((camera: { id: string }) => camera.id).sort(), [
    'demo-front-door',
    'demo-living-room',
  ]);

  const listing = await waitFor('a finished segment in the day listing', async () => {
    const response = await viewer.get(`/api/cameras/demo-living-room/segments?day=${today()}`);
    return response.body.segments?.length > 0 ? response.body : undefined;
  });
  const [segment] = listing.segments;
  assert.equal(segment.location, 'nas');
  assert.match(
    segment.relPath,
    /^videos\/demo-living-room\/\d{4}-\d{2}-\d{2}\/demo-living-room_\d{8}_\d{6}\.mp4$/,
  );
  assert.equal(segment.codec, 'h264');
  assert.ok(segment.durationMs >= 9000 && segment.durationMs <= 11_000, `duration ${segment.durationMs}`);
  assert.ok(segment.initBytes > 0 && segment.initBytes < segment.bytes);
  const file = path.join(t.hub.recording.segmentFile(segment));
  assert.ok(file.startsWith(path.join(t.dataDir, 'nas')));
  assert.ok(existsSync(file));
  const probed = ffprobeSeconds(file);
  assert.ok(Math.abs(probed * 1000 - segment.durationMs) < 500, `ffprobe says ${probed}s`);

  const state = cameras.find((camera: { id: string }) => camera.id === 'demo-living-room').recorder;
  assert.ok(['starting', 'recording'].includes(state.state));
});

test('a segment file is served with HTTP Range: 200, 206 and 416', async () => {
  const listing = (await viewer.get(`/api/cameras/demo-front-door/segments?day=${today()}`)).body;
  const segment = await waitFor('a front-door segment', async () => {
    const body = (await viewer.get(`/api/cameras/demo-front-door/segments?day=${today()}`)).body;
    return body.segments[0];
  });
  assert.ok(listing);
  const whole = await fetch(`${t.url}/api/segments/${segment.id}/file`, {
    headers: { cookie: viewer.cookie },
  });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'video/mp4');
  assert.equal((await whole.arrayBuffer()).byteLength, segment.bytes);

  const init = await fetch(`${t.url}/api/segments/${segment.id}/file`, {
    headers: { cookie: viewer.cookie, range: `bytes=0-${segment.initBytes - 1}` },
  });
  assert.equal(init.status, 206);
  assert.equal(init.headers.get('content-range'), `bytes 0-${segment.initBytes - 1}/${segment.bytes}`);
  const head = Buffer.from(await init.arrayBuffer());
  assert.equal(head.length, segment.initBytes);
  assert.equal(head.subarray(4, 8).toString(), 'ftyp');

  const beyond = await fetch(`${t.url}/api/segments/${segment.id}/file`, {
    headers: { cookie: viewer.cookie, range: `bytes=${segment.bytes + 10}-` },
  });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${segment.bytes}`);
  assert.equal((await t.client().get(`/api/segments/${segment.id}/file`)).status, 401);
  assert.equal((await viewer.get('/api/segments/999999/file')).status, 404);
});

test('bad listing input is refused with the field named', async () => {
  assert.equal((await viewer.get('/api/cameras/demo-front-door/segments?day=2026-13-45')).status, 400);
  assert.equal((await viewer.get('/api/cameras/demo-front-door/segments')).status, 400);
  assert.equal((await viewer.get(`/api/cameras/no-such-cam/segments?day=${today()}`)).status, 404);
  assert.equal((await viewer.get(`/api/cameras/..%2f..%2fetc/segments?day=${today()}`)).status, 400);
});
