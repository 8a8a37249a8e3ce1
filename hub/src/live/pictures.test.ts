import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let viewer: TestClient;
let owner: TestClient;
let segment: any;

before(async () => {
  t = await startTestHub();
  viewer = await t.userWithRole('viewer');
  owner = await t.owner();
  await t.hub.settings.update({ timeZone: 'UTC' });
  const created = await owner.post('/api/cameras', {
    id: 'yard',
    name: 'Yard',
    kind: 'demo',
    record: true,
    segmentSeconds: 10,
  });
  assert.equal(created.status, 201);
});
after(async () => {
  await t.stop();
});

/** A binary GET with the viewer's session. */
async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}${url}`, { headers: { cookie: viewer.cookie, ...headers } });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

function jpegSize(jpeg: Buffer): { width: number; height: number } {
  assert.equal(jpeg.readUInt16BE(0), 0xffd8, 'a JPEG');
  const file = path.join(t.dataDir, `probe-${Math.random().toString(36).slice(2)}.jpg`);
  writeFileSync(file, jpeg);
  const [stream] = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', file]).toString(),
  ).streams;
  return { width: stream.width, height: stream.height };
}

const today = () => new Date().toISOString().slice(0, 10);

test('no picture yet: 404 no_picture with a clear message', async () => {
  await owner.post('/api/cameras', { id: 'porch', name: 'Porch', kind: 'demo', record: false });
  const response = await viewer.get('/api/cameras/porch/snapshot.jpg');
  assert.equal(response.status, 404);
  assert.equal(response.body.error.code, 'no_picture');
  assert.match(response.body.error.message, /no live stream running, no recording and no photo/);
  assert.equal((await viewer.get('/api/cameras/nobody/snapshot.jpg')).status, 404);
  assert.equal((await viewer.get('/api/cameras/nobody/snapshot.jpg')).body.error.code, 'not_found');
});

test('a snapshot of an H.264 camera is its newest segment’s last keyframe, cached on disk, revalidated with 304', {
  timeout: 60_000,
}, async () => {
  segment = await waitFor('a recorded segment', async () => {
    const body = (await viewer.get(`/api/cameras/yard/segments?day=${today()}`)).body;
    return body.segments?.[0];
  });
  const first = await get('/api/cameras/yard/snapshot.jpg');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'image/jpeg');
  assert.equal(first.headers.get('cache-control'), 'no-cache');
  const etag = first.headers.get('etag')!;
  const newest = t.hub.segments.listRange('yard', 0, Date.now() + 60_000).at(-1)!;
  assert.equal(etag, `"seg-${newest.id}-${newest.startAt}"`, 'from the newest segment');
  assert.equal(first.headers.get('last-modified'), new Date(newest.endAt).toUTCString());
  assert.deepEqual(jpegSize(first.body), { width: 640, height: 480 });
  assert.deepEqual(readdirSync(path.join(t.dataDir, 'cache', 'snapshots')), [
    `${newest.id}-yard-${newest.startAt}.jpg`,
  ]);

  const again = await get('/api/cameras/yard/snapshot.jpg', { 'if-none-match': etag });
  if (again.headers.get('etag') === etag) {
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  } else {
    // A newer segment arrived between the two requests: a new picture, not a 304.
    assert.equal(again.status, 200);
  }
  assert.equal(
    (await get('/api/cameras/yard/snapshot.jpg', { 'if-none-match': '"other", W/"x"' })).status,
    200,
  );
});

test('while a live stream runs, the snapshot is its newest keyframe', { timeout: 60_000 }, async () => {
  const controller = new AbortController();
  const live = await fetch(`${t.url}/api/cameras/yard/live.mp4`, {
    headers: { cookie: viewer.cookie },
    signal: controller.signal,
  });
  assert.equal(live.status, 200);
  const reader = live.body!.getReader();
  const reading = (async () => {
    try {
      while (!(await reader.read()).done) {}
    } catch {}
  })();
  try {
    await waitFor('a keyframe in the live stream', () =>
      t.hub.live.status('yard')!.fragments > 0 ? true : undefined,
    );
    const shot = await get('/api/cameras/yard/snapshot.jpg');
    assert.equal(shot.status, 200);
    const etag = shot.headers.get('etag')!;
    assert.match(etag, /^"live-yard-\d+-\d+"$/);
    assert.deepEqual(jpegSize(shot.body), { width: 640, height: 480 });
    const again = await get('/api/cameras/yard/snapshot.jpg', { 'if-none-match': etag });
    // Keyframes come every second: the same one (304) or a newer picture.
    assert.ok(
      again.status === 304 || (again.status === 200 && again.headers.get('etag') !== etag),
      String(again.status),
    );
  } finally {
    controller.abort();
    await reading;
  }
});

test('a thumbnail is the segment’s first keyframe at width w, cached on disk and in the browser', {
  timeout: 60_000,
}, async () => {
  const url = `/api/segments/${segment.id}/thumbnail.jpg`;
  const standard = await get(url);
  assert.equal(standard.status, 200);
  assert.equal(standard.headers.get('content-type'), 'image/jpeg');
  assert.equal(standard.headers.get('cache-control'), 'private, max-age=86400, immutable');
  assert.deepEqual(jpegSize(standard.body), { width: 320, height: 240 });
  const small = await get(`${url}?w=160`);
  assert.deepEqual(jpegSize(small.body), { width: 160, height: 120 });
  assert.deepEqual(readdirSync(path.join(t.dataDir, 'cache', 'thumbs')).sort(), [
    `${segment.id}-yard-${segment.startAt}-w160.jpg`,
    `${segment.id}-yard-${segment.startAt}-w320.jpg`,
  ]);
  const cached = await get(`${url}?w=160`);
  assert.ok(cached.body.equals(small.body), 'the same picture from the cache');
  const revalidated = await get(`${url}?w=160`, { 'if-none-match': small.headers.get('etag')! });
  assert.equal(revalidated.status, 304);

  for (const bad of ['?w=100', '?w=641', '?w=abc', '?w=', '?w=320&x=1', '?w=320.5'])
    assert.equal((await viewer.get(`${url}${bad}`)).status, 400, bad);
  assert.equal((await viewer.get('/api/segments/999999/thumbnail.jpg')).status, 404);
  assert.equal((await viewer.get('/api/segments/x/thumbnail.jpg')).status, 400);
  assert.equal((await t.client().get(url)).status, 401);
});

test('a segment on a NAS that is down: 503 nas_down, and the hub answers at once', async () => {
  assert.equal(t.hub.recording.nasHealth().healthy, false, 'the test hub has no NAS mounted');
  const onNas = t.hub.segments.insert({
    cameraId: 'yard',
    startAt: segment.startAt - 3_600_000,
    endAt: segment.startAt - 3_590_000,
    durationMs: 10_000,
    bytes: 1000,
    codec: 'h264',
    width: 640,
    height: 480,
    initBytes: 800,
    location: 'nas',
    relPath: 'videos/yard/elsewhere/yard_20260101_000000.mp4',
    protected: false,
    createdAt: Date.now(),
  });
  const started = performance.now();
  const response = await viewer.get(`/api/segments/${onNas.id}/thumbnail.jpg`);
  assert.equal(response.status, 503);
  assert.equal(response.body.error.code, 'nas_down');
  assert.ok(performance.now() - started < 1000);
});

test('a node camera’s snapshot comes from the newest segment its node reported; live is refused', {
  timeout: 30_000,
}, async () => {
  const { device } = t.hub.devices.create({ name: 'Edge', kind: 'node' });
  assert.equal(
    (await owner.post('/api/cameras', { id: 'attic', name: 'Attic', kind: 'node', deviceId: device.id }))
      .status,
    201,
  );
  assert.equal((await viewer.get('/api/cameras/attic/snapshot.jpg')).body.error.code, 'no_picture');
  // As a node would report it: a segment file in the spool, then its row.
  const source = t.hub.recording.segmentFile(segment);
  const relPath = 'videos/attic/node/attic_20260102_000000.mp4';
  const target = t.hub.recording.segmentFile({ location: 'spool', relPath });
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(source, target);
  t.hub.segments.insert({ ...segment, id: undefined, cameraId: 'attic', relPath, createdAt: Date.now() });
  const shot = await get('/api/cameras/attic/snapshot.jpg');
  assert.equal(shot.status, 200);
  assert.deepEqual(jpegSize(shot.body), { width: 640, height: 480 });
  assert.equal((await viewer.get('/api/cameras/attic/live')).body.error.code, 'no_live');
});
