/**
 * `/api/cameras/:id/detection` against a real test hub with camera events on: the configuration file's entry as
 * the baseline, saved settings winning over it, a change reaching the running detector at once (frames from a
 * real MJPEG camera through the hub's fan-out), a reset going back to the file's entry just as live, refused
 * input leaving nothing written, and the settings going with their camera. The inference service stays off: the motion gate's verdict is what is observed.
 *
 *   node --import tsx --conditions=development --test hub/src/ai/detections/detection-settings.test.ts
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { type FakeMjpegCamera, startFakeMjpegCamera } from '../../testing/fake-mjpeg-camera.js';
import { startTestHub, type TestClient, type TestHub } from '../../testing/test-hub.js';
import { waitFor } from '../../testing/wait.js';
import { cameraDetectionSettings } from './detection-settings.schema.js';

let t: TestHub;
let camera: FakeMjpegCamera;
let owner: TestClient;
let viewer: TestClient;

const PATH_ZONE = { name: 'path', shape: { rect: [0, 0.5, 1, 0.5] as [number, number, number, number] } };

before(async () => {
  camera = await startFakeMjpegCamera({ fps: 10, size: '320x240' });
  t = await startTestHub({
    ai: {
      detections: {
        enabled: true,
        sampler: { fps: 5 },
        cameras: { porch: { minScore: { person: 0.7 }, zones: [PATH_ZONE] } },
      },
    },
  });
  owner = await t.owner();
  viewer = await t.userWithRole('viewer');
  for (const body of [
    { id: 'porch', name: 'Porch', kind: 'mjpeg', sourceUrl: camera.streamUrl, record: false },
    // A demo camera is not watched unless asked; it is never turned on here (no generated stream needed).
    { id: 'hall', name: 'Hall', kind: 'demo', record: false },
  ])
    assert.equal((await owner.post('/api/cameras', body)).status, 201);
});
after(async () => {
  await t?.stop();
  await camera?.close();
});

interface CameraStats {
  cameraId: string;
  sampled: number;
  gated: number;
}
const stats = async (id: string) =>
  ((await viewer.get('/api/ai/health')).body.cameras as CameraStats[]).find((c) => c.cameraId === id);
/**
 * Refused from its Content-Length before it is read: the hub answers and drops the connection, so this goes on
 * a connection of its own rather than one the next request would reuse.
 */
function putOnItsOwn(path: string, json: unknown) {
  const body = JSON.stringify(json);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(
      `${t.url}${path}`,
      {
        method: 'PUT',
        agent: false,
        headers: {
          cookie: owner.cookie,
          origin: t.url,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
const storedRow = (id: string) =>
  t.hub.db.select().from(cameraDetectionSettings).where(eq(cameraDetectionSettings.cameraId, id)).get();

/** What porch runs with from the configuration file alone. */
const PORCH_FROM_FILE = {
  cameraId: 'porch',
  source: 'config',
  updatedAt: null,
  settings: {
    enabled: true,
    mask: [],
    zones: [PATH_ZONE],
    minScore: { person: 0.7, pet: 0.4, vehicle: 0.5 },
  },
  hubEnabled: true,
};

test('the configuration file is the baseline; saved settings replace its entry as a whole', async () => {
  const porch = await viewer.get('/api/cameras/porch/detection');
  assert.equal(porch.status, 200);
  assert.deepEqual(porch.body, PORCH_FROM_FILE);
  const hall = await viewer.get('/api/cameras/hall/detection');
  assert.equal(hall.body.source, 'default');
  assert.equal(hall.body.settings.enabled, false, 'demo cameras are off unless asked');

  const drawn = {
    enabled: false,
    mask: [
      { rect: [0.1, 0.2, 0.3, 0.4] },
      {
        polygon: [
          [0, 0],
          [0.5, 0],
          [0.25, 0.5],
        ],
      },
    ],
    zones: [{ name: 'sofa', shape: { rect: [0.5, 0.5, 0.5, 0.5] } }],
    minScore: { pet: 0.6 },
  };
  const saved = await owner.put('/api/cameras/hall/detection', drawn);
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.equal(saved.body.source, 'stored');
  assert.equal(typeof saved.body.updatedAt, 'number');
  const expected = { ...drawn, minScore: { person: 0.4, pet: 0.6, vehicle: 0.5 } };
  assert.deepEqual(saved.body.settings, expected);
  assert.deepEqual((await viewer.get('/api/cameras/hall/detection')).body, saved.body, 'read back as saved');
});

test('a change reaches the running detector at once: a mask, off, on again', async () => {
  // The baseline watches porch: the test pattern moves, so frames pass the motion gate.
  const baseline = await waitFor('porch frames passing the motion gate', async () => {
    const s = await stats('porch');
    return s && s.gated >= 2 ? s : undefined;
  });
  assert.ok(baseline.sampled >= baseline.gated);

  // A mask over the whole picture: frames keep coming, none reaches the detector.
  const masked = await owner.put('/api/cameras/porch/detection', {
    enabled: true,
    mask: [{ rect: [0, 0, 1, 1] }],
  });
  assert.equal(masked.status, 200);
  assert.deepEqual(masked.body.settings.zones, [], "the file's zones no longer apply");
  const atMask = (await stats('porch'))!;
  const later = await waitFor('more porch frames after the mask', async () => {
    const s = await stats('porch');
    return s && s.sampled >= atMask.sampled + 4 ? s : undefined;
  });
  assert.equal(later.gated, atMask.gated, 'no frame passed the gate under a full mask');

  // Off: its sampler stops.
  assert.equal((await owner.put('/api/cameras/porch/detection', { enabled: false })).status, 200);
  assert.equal(await stats('porch'), undefined, 'porch no longer watched');

  // On again without the mask: a new sampler, and motion passes once more.
  assert.equal((await owner.put('/api/cameras/porch/detection', { enabled: true })).status, 200);
  await waitFor('porch watched again with frames passing the gate', async () => {
    const s = await stats('porch');
    return s && s.gated >= 2 ? true : undefined;
  });
});

test("a reset brings back the configuration file's entry, and the running detector follows", async () => {
  // Saved off: porch's sampler stops.
  assert.equal((await owner.put('/api/cameras/porch/detection', { enabled: false })).status, 200);
  assert.equal(await stats('porch'), undefined);
  const saved = storedRow('porch');
  assert.ok(saved);

  // Members too (the route table checks every role below the owner).
  assert.equal((await viewer.delete('/api/cameras/porch/detection')).status, 403);
  assert.deepEqual(storedRow('porch'), saved);
  assert.equal((await owner.delete('/api/cameras/nowhere/detection')).status, 404);
  assert.equal((await owner.delete('/api/cameras/Not_An_Id!/detection')).status, 400);

  const reset = await owner.delete('/api/cameras/porch/detection');
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.deepEqual(reset.body, PORCH_FROM_FILE);
  assert.equal(storedRow('porch'), undefined);
  assert.deepEqual((await viewer.get('/api/cameras/porch/detection')).body, PORCH_FROM_FILE);
  // The file's entry is on and masks nothing: porch is watched again and its motion passes the gate.
  await waitFor('porch watched again after the reset, frames passing the gate', async () => {
    const s = await stats('porch');
    return s && s.gated >= 2 ? true : undefined;
  });

  // Nothing saved any more: a second reset answers the same.
  const again = await owner.delete('/api/cameras/porch/detection');
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, PORCH_FROM_FILE);
});

test('bad settings are refused with 4xx and nothing is written', async () => {
  const before = await viewer.get('/api/cameras/hall/detection');
  const rowBefore = storedRow('hall');
  const rect = (r: unknown) => ({ mask: [{ rect: r }] });
  const point = [0.5, 0.5];
  const refused: [string, unknown, number][] = [
    ['a coordinate past the picture', rect([0.5, 0.5, 1.5, 0.2]), 400],
    ['a negative coordinate', rect([-0.1, 0, 0.2, 0.2]), 400],
    ['a rectangle of three numbers', rect([0, 0, 1]), 400],
    ['a polygon of two points', { zones: [{ name: 'z', shape: { polygon: [point, point] } }] }, 400],
    ['a polygon of 65 points', { mask: [{ polygon: Array(65).fill(point) }] }, 400],
    ['33 masks', { mask: Array(33).fill({ rect: [0, 0, 0.1, 0.1] }) }, 400],
    ['a zone without a name', { zones: [{ name: '', shape: { rect: [0, 0, 1, 1] } }] }, 400],
    ['enabled as text', { enabled: 'yes' }, 400],
    ['a score above 1', { minScore: { person: 2 } }, 400],
    ['an unknown field', { enabled: true, colour: 'red' }, 400],
    ['not an object', [1, 2, 3], 400],
  ];
  for (const [what, body, status] of refused) {
    const response = await owner.put('/api/cameras/hall/detection', body);
    assert.equal(response.status, status, `${what}: ${JSON.stringify(response.body).slice(0, 200)}`);
  }
  const malformed = await owner.request('PUT', '/api/cameras/hall/detection', {
    body: '{"enabled": tru',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(malformed.status, 400, 'malformed JSON');
  const oversized = await putOnItsOwn('/api/cameras/hall/detection', {
    zones: [{ name: 'x'.repeat(300_000), shape: { rect: [0, 0, 1, 1] } }],
  });
  assert.equal(oversized.status, 413, oversized.body);

  assert.deepEqual((await viewer.get('/api/cameras/hall/detection')).body, before.body);
  assert.deepEqual(storedRow('hall'), rowBefore);

  assert.equal((await owner.put('/api/cameras/nowhere/detection', { enabled: true })).status, 404);
  assert.equal((await viewer.get('/api/cameras/nowhere/detection')).status, 404);
  assert.equal(storedRow('nowhere'), undefined);
  assert.equal((await viewer.get('/api/cameras/Not_An_Id!/detection')).status, 400);

  // Members too (the route table checks every role below the owner).
  assert.equal((await viewer.put('/api/cameras/hall/detection', { enabled: true })).status, 403);
  assert.deepEqual(storedRow('hall'), rowBefore);
});

test('a deleted camera takes its settings along', async () => {
  assert.ok(storedRow('hall'));
  assert.equal((await owner.delete('/api/cameras/hall')).status, 204);
  assert.equal(storedRow('hall'), undefined);
  // The same id again starts from the defaults, not from the old camera's drawing.
  assert.equal(
    (await owner.post('/api/cameras', { id: 'hall', name: 'Hall', kind: 'demo', record: false })).status,
    201,
  );
  const fresh = await viewer.get('/api/cameras/hall/detection');
  assert.equal(fresh.body.source, 'default');
  assert.deepEqual(fresh.body.settings.mask, []);
});
