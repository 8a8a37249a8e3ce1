import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { makeSegments } from '../media/fixtures/segments.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

const nas = path.join(tempDir('hearth-node-nas-'), 'nas');
let t: TestHub;
let owner: TestClient;
let sample = '';
const nodes: Record<string, { token: string; id: number }> = {};

/** Where a node places a segment: the hub's own layout, on the NAS both mount. */
function place(camera: string, stamp: string) {
  const relPath = `videos/${camera}/${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}/${camera}_${stamp}.mp4`;
  mkdirSync(path.dirname(path.join(nas, relPath)), { recursive: true });
  copyFileSync(sample, path.join(nas, relPath));
  return relPath;
}

const report = (node: string, relPath: string) =>
  t.client().request('POST', '/api/device/segments', {
    headers: { authorization: `Bearer ${nodes[node]!.token}` },
    json: { relPath },
    origin: null,
  });

before(async () => {
  mkdirSync(nas, { recursive: true });
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  t = await startTestHub({ nasDir: nas, storage: { requireNasMount: false, nasCheckSeconds: 1 } });
  owner = await t.owner();
  sample = (await makeSegments(tempDir(), { count: 1, seconds: 2 }))[0]!.file;
  for (const name of ['cradle', 'hallway']) {
    const made = t.hub.devices.create({ name, kind: 'node' });
    nodes[name] = { token: made.token, id: made.device.id };
  }
  t.hub.cameras.create({ id: 'cradle-cam', name: 'Cradle', kind: 'node', deviceId: nodes.cradle!.id });
  t.hub.cameras.create({
    id: 'porch',
    name: 'Porch',
    kind: 'esp32',
    deviceId: t.hub.devices.create({ name: 'p', kind: 'camera' }).device.id,
  });
  await waitFor(
    'the NAS healthy',
    async () => ((await owner.get('/api/storage')).body.nas.healthy ? true : undefined),
    10_000,
  );
});
after(() => t?.stop());

test('a segment the node placed on the NAS is read, indexed and playable; a second report changes nothing', async () => {
  const relPath = place('cradle-cam', '20261202_081500');
  const first = await report('cradle', relPath);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.segment.cameraId, 'cradle-cam');
  assert.equal(first.body.segment.startAt, Date.UTC(2026, 11, 2, 8, 15, 0));
  assert.ok(first.body.segment.durationMs >= 1900 && first.body.segment.durationMs <= 2100);
  const file = await owner.request('GET', `/api/segments/${first.body.segment.id}/file`, {
    headers: { range: 'bytes=0-99' },
  });
  assert.equal(file.status, 206);
  const again = await report('cradle', relPath);
  assert.equal(again.status, 200);
  assert.equal(again.body.segment.id, first.body.segment.id);
  const day = await owner.get('/api/cameras/cradle-cam/segments?day=2026-12-02');
  assert.deepEqual(
    day.body.segments.map((s: { relPath: string }) => s.relPath),
    [relPath],
  );
});

test('bad reports get a clear 4xx and index nothing', async () => {
  const mine = place('cradle-cam', '20261202_082000');
  const cases: [string, string, string, number][] = [
    ['a path out of the tree', 'cradle', '../../etc/passwd', 400],
    ['an absolute path', 'cradle', '/etc/passwd', 400],
    [
      'a day that is not the file’s',
      'cradle',
      'videos/cradle-cam/2026-12-03/cradle-cam_20261202_082000.mp4',
      400,
    ],
    ['another node’s camera', 'hallway', mine, 403],
    ['a camera that is not a node’s', 'cradle', 'videos/porch/2026-12-02/porch_20261202_082000.mp4', 409],
    ['an unknown camera', 'cradle', 'videos/attic/2026-12-02/attic_20261202_082000.mp4', 404],
    [
      'a file that is not there',
      'cradle',
      'videos/cradle-cam/2026-12-02/cradle-cam_20261202_090000.mp4',
      404,
    ],
  ];
  for (const [what, node, relPath, status] of cases) {
    const answer = await report(node, relPath);
    assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
  }
  const broken = 'videos/cradle-cam/2026-12-02/cradle-cam_20261202_083000.mp4';
  writeFileSync(path.join(nas, broken), 'not a video');
  assert.equal((await report('cradle', broken)).status, 422);
  const day = await owner.get('/api/cameras/cradle-cam/segments?day=2026-12-02');
  assert.equal(day.body.segments.length, 1, 'only the good one from the first test');
});

test('the NAS away on the hub: 503, so the node keeps the report and sends it again', async () => {
  const relPath = place('cradle-cam', '20261202_084000');
  renameSync(path.join(nas, '.hearth-nas'), path.join(nas, '.hearth-nas.away'));
  await waitFor(
    'the NAS unhealthy',
    async () => ((await owner.get('/api/storage')).body.nas.healthy ? undefined : true),
    10_000,
  );
  const refused = await report('cradle', relPath);
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.code, 'nas_down');
  renameSync(path.join(nas, '.hearth-nas.away'), path.join(nas, '.hearth-nas'));
  await waitFor(
    'the NAS back',
    async () => ((await owner.get('/api/storage')).body.nas.healthy ? true : undefined),
    10_000,
  );
  assert.equal((await report('cradle', relPath)).status, 201);
});
