import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';

const DAY = 24 * 3600_000;
const MiB = 1024 * 1024;
let t: TestHub;
let owner: TestClient;
let member: TestClient;
let viewer: TestClient;
const nas = path.join(tempDir('hearth-nas-'), 'nas');

before(async () => {
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  t = await startTestHub({ nasDir: nas, storage: { requireNasMount: false } });
  // The start-up reconcile may be walking the NAS: let it finish before rows are added.
  await t.hub.loops.stop();
  t.hub.cameras.create({ id: 'porch', name: 'Porch', kind: 'demo', record: false });
  t.hub.cameras.create({ id: 'attic', name: 'Attic', kind: 'demo', record: false });
  // Three days of porch footage at 100 MiB a day (rows only: usage and forecast read the index).
  const now = Date.now();
  for (let i = 0; i < 72; i++) {
    const startAt = now - 3 * DAY + i * 3600_000;
    mkdirSync(path.join(nas, 'videos/porch/x'), { recursive: true });
    writeFileSync(path.join(nas, `videos/porch/x/${i}.mp4`), 'x');
    t.hub.segments.insert({
      cameraId: 'porch',
      startAt,
      endAt: startAt + 3600_000,
      durationMs: 3600_000,
      bytes: (100 * MiB) / 24,
      codec: 'h264',
      width: 640,
      height: 480,
      initBytes: 100,
      location: 'nas',
      relPath: `videos/porch/x/${i}.mp4`,
      protected: i === 0,
      createdAt: now,
    });
  }
  owner = await t.owner();
  member = await t.userWithRole('member');
  viewer = await t.userWithRole('viewer');
});
after(async () => {
  await t?.stop();
  rmSync(path.dirname(nas), { recursive: true, force: true });
});

test('GET /api/storage: NAS, spool, limits, categories and per-camera usage with a forecast that follows from the limits', async () => {
  const { status, body } = await viewer.get('/api/storage');
  assert.equal(status, 200);
  assert.equal(body.nas.healthy, true);
  assert.equal(typeof body.spool.quotaBytes, 'number');
  assert.equal(body.limits.maxDays, undefined);
  assert.equal(body.limits.defaults.maxDays, 30);
  assert.deepEqual(
    body.categories.map((c: { name: string }) => c.name),
    ['exports', 'photos'],
  );
  const porch = body.cameras.find((c: { cameraId: string }) => c.cameraId === 'porch');
  assert.equal(porch.segments, 72);
  assert.equal(Math.round(porch.usedBytes / MiB), 300);
  assert.equal(Math.round(porch.protectedBytes), Math.round((100 * MiB) / 24));
  assert.equal(Math.round(porch.dailyBytes / MiB), 100);
  assert.equal(porch.recordingPaused, false);
  const attic = body.cameras.find((c: { cameraId: string }) => c.cameraId === 'attic');
  assert.deepEqual([attic.usedBytes, attic.oldest, attic.forecastDays], [0, null, null]);
  // Capacity by disk: footage already there + free − the floor; the forecast shares it by rate, up to max days.
  assert.equal(
    body.limits.capacityBytes,
    porch.usedBytes + body.nas.freeBytes - body.limits.minFreeEffectiveBytes,
  );
  const even = Math.max(0, body.limits.capacityBytes - porch.protectedBytes) / porch.dailyBytes;
  assert.equal(porch.forecastDays, even >= 30 ? 30 : Math.round(even * 10) / 10);

  // A global cap gives a capacity without the NAS: (cap − protected) / rate, bounded by max days (30).
  const put = await owner.request('PUT', '/api/retention', {
    json: { ...(await owner.get('/api/retention')).body, maxBytes: 1000 * MiB },
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const capped = (await viewer.get('/api/storage')).body;
  const withCap = capped.cameras.find((c: { cameraId: string }) => c.cameraId === 'porch');
  const expected = (1000 * MiB - withCap.protectedBytes) / withCap.dailyBytes;
  assert.equal(withCap.forecastDays, Math.round(expected * 10) / 10);
  assert.equal(withCap.forecastDays, 10, '(1000 MiB − 4.2 MiB protected) / 100 MiB a day');
});

test('PUT /api/retention: owner only, strict, and a minimum that cannot fit is refused with the reason', async () => {
  const current = (await owner.get('/api/retention')).body;
  const valid = {
    ...current,
    maxBytes: 0,
    defaults: { maxDays: 14, minDays: 2 },
    cameras: { porch: { minDays: 7 } },
  };
  assert.equal((await member.request('PUT', '/api/retention', { json: valid })).status, 403);
  assert.equal((await viewer.request('PUT', '/api/retention', { json: valid })).status, 403);

  for (const bad of [
    { ...valid, surprise: 1 },
    { ...valid, maxBytes: -1 },
    { ...valid, defaults: { maxDays: '7', minDays: 0 } },
    { ...valid, cameras: { '../etc': { minDays: 1 } } },
    { ...valid, categories: { Exports: { maxBytes: 1 } } },
    { ...valid, minFreePercent: 90 },
    { maxBytes: 0 },
  ]) {
    const response = await owner.request('PUT', '/api/retention', { json: bad });
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.equal(response.body.error.code, 'invalid_input');
  }

  const ok = await owner.request('PUT', '/api/retention', { json: valid });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.cameras, { porch: { minDays: 7 } });

  // 100 MiB a day for 3650 days does not fit under a 1 GiB cap.
  const refused = await owner.request('PUT', '/api/retention', {
    json: { ...valid, maxBytes: 1024 * MiB, defaults: { maxDays: 0, minDays: 3650 }, cameras: {} },
  });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, 'retention_refused');
  assert.match(refused.body.error.message, /porch 3650 d × 100\.0 MiB\/day/);
  const minAboveMax = await owner.request('PUT', '/api/retention', {
    json: { ...valid, cameras: { porch: { minDays: 20, maxDays: 10 } } },
  });
  assert.equal(minAboveMax.status, 422);
  assert.match(minAboveMax.body.error.message, /porch: minimum 20 days is above the maximum of 10 days/);
  assert.deepEqual(
    (await viewer.get('/api/retention')).body,
    ok.body,
    'nothing of a refused budget was stored',
  );
});

test('GET /api/retention/deletions: newest first, with a bounded limit', async () => {
  await owner.request('PUT', '/api/retention', {
    json: { ...(await owner.get('/api/retention')).body, defaults: { maxDays: 2, minDays: 0 }, cameras: {} },
  });
  const report = await t.hub.retention.runRetention();
  assert.ok(
    report.deleted >= 23 && report.deleted <= 25,
    `a day of hourly rows past 2 days: ${report.deleted}`,
  );
  for (const query of ['limit=0', 'limit=501', 'limit=abc', 'other=1']) {
    const response = await viewer.get(`/api/retention/deletions?${query}`);
    assert.equal(response.status, 400, query);
  }
  const { body } = await viewer.get('/api/retention/deletions?limit=3');
  assert.equal(body.deletions.length, 3);
  assert.ok(body.deletions[0].id > body.deletions[1].id && body.deletions[1].id > body.deletions[2].id);
  assert.deepEqual(Object.keys(body.deletions[0]).sort(), [
    'at',
    'bytes',
    'cameraId',
    'category',
    'id',
    'reason',
    'relPath',
    'startAt',
  ]);
  assert.equal(body.deletions[0].reason, 'max_days');
  assert.equal((await viewer.get('/api/retention/deletions')).body.deletions.length, report.deleted);
});
