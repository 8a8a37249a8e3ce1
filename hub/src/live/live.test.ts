import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { boundaryFromContentType, MjpegParser } from '../media/index.js';
import { type FakeMjpegCamera, startFakeMjpegCamera } from '../testing/fake-mjpeg-camera.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let viewer: TestClient;
let camera: FakeMjpegCamera;

before(async () => {
  t = await startTestHub({ live: { maxViewersPerCamera: 3 } });
  viewer = await t.userWithRole('viewer');
  camera = await startFakeMjpegCamera({ fps: 10 });
  const owner = await t.owner();
  const created = await owner.post('/api/cameras', {
    id: 'cot',
    name: 'Cot',
    kind: 'mjpeg',
    sourceUrl: camera.streamUrl,
    record: false,
  });
  assert.equal(created.status, 201);
});
after(async () => {
  await t.stop();
  await camera.close();
});

/** A live view that counts whole frames; `paused` stops reading (a phone on a bad link). */
async function watch() {
  const controller = new AbortController();
  const response = await fetch(`${t.url}/api/cameras/cot/live.mjpeg`, {
    headers: { cookie: viewer.cookie },
    signal: controller.signal,
  });
  const state = { frames: 0, paused: false, response };
  if (response.status !== 200) return { ...state, close: async () => {} };
  const parser = new MjpegParser(boundaryFromContentType(response.headers.get('content-type'))!);
  const reader = response.body!.getReader();
  const loop = (async () => {
    try {
      while (true) {
        while (state.paused && !controller.signal.aborted)
          await new Promise((resolve) => setTimeout(resolve, 50));
        const { done, value } = await reader.read();
        if (done) return;
        state.frames += parser.push(Buffer.from(value)).length;
      }
    } catch {
      // aborted
    }
  })();
  return Object.assign(state, {
    close: async () => {
      controller.abort();
      await loop;
    },
  });
}

test('any number of viewers share the hub’s one connection; a slow one never slows the others', {
  timeout: 40_000,
}, async () => {
  const fast = await watch();
  const other = await watch();
  const slow = await watch();
  slow.paused = true;
  await waitFor(
    'frames for both readers',
    () => (fast.frames > 5 && other.frames > 5 ? true : undefined),
    10_000,
  );
  const before = fast.frames;
  const ticks = camera.stats.ticks;
  await waitFor('2 s of camera frames', () => (camera.stats.ticks - ticks >= 20 ? true : undefined), 10_000);
  assert.ok(
    fast.frames - before >= 15,
    `the fast viewer got ${fast.frames - before} of ~20 frames while another viewer stalled`,
  );
  assert.equal(camera.stats.maxOpenClients, 1, 'the camera saw one client');
  assert.equal(camera.stats.totalClients, 1);

  const fourth = await watch();
  assert.equal(fourth.response.status, 503, 'viewers are capped per camera');
  await Promise.all([fast.close(), other.close(), slow.close()]);
  // The upstream closes after the last viewer leaves (after a grace period).
  await waitFor(
    'the camera connection closed',
    () => (camera.stats.openClients === 0 ? true : undefined),
    15_000,
  );
  const again = await watch();
  assert.equal(again.response.status, 200, 'slots are freed when viewers leave');
  await waitFor('a frame', () => (again.frames > 0 ? true : undefined), 10_000);
  await again.close();
});

test('a snapshot is the latest JPEG, not cached; cameras without a stream say why', {
  timeout: 20_000,
}, async () => {
  const response = await fetch(`${t.url}/api/cameras/cot/snapshot.jpg`, {
    headers: { cookie: viewer.cookie },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'image/jpeg');
  assert.match(response.headers.get('cache-control') ?? '', /no-cache/);
  const jpeg = Buffer.from(await response.arrayBuffer());
  assert.equal(jpeg.readUInt16BE(0), 0xffd8);
  assert.equal(jpeg.readUInt16BE(jpeg.length - 2), 0xffd9);

  await t.hub.cameras.create({ id: 'yard', name: 'Yard', kind: 'demo', record: false });
  assert.equal((await viewer.get('/api/cameras/yard/live.mjpeg')).status, 409);
  assert.equal((await viewer.get('/api/cameras/nobody/snapshot.jpg')).status, 404);
  assert.equal((await t.client().get('/api/cameras/cot/snapshot.jpg')).status, 401);
});
