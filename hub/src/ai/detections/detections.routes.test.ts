/**
 * `/api/detections` against a real test hub: rows, segment links and snapshot files are put in place directly
 * (the detector is not needed to read them back).
 *
 *   node --import tsx --conditions=development --test hub/src/ai/detections/detections.routes.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LiveEvent } from '../../events/bus.js';
import { startTestHub, type TestClient, type TestHub } from '../../testing/test-hub.js';
import { detectionEventSegments, detectionEvents } from './detections.schema.js';

let t: TestHub;
let owner: TestClient;
let member: TestClient;
let viewer: TestClient;
let jpeg: Buffer;
const published: LiveEvent[] = [];

// 2026-12-02 in Seoul (UTC+9) runs from 2026-12-01T15:00Z to 2026-12-02T15:00Z.
const SEOUL_DAY_START = Date.UTC(2026, 11, 1, 15);
const at = (hours: number) => SEOUL_DAY_START + hours * 3600_000;
const ids: Record<string, number> = {};

function addEvent(
  name: string,
  row: { cameraId: string; label: 'person' | 'pet' | 'vehicle'; startAt: number; snapshot?: string | null },
) {
  const inserted = t.hub.db
    .insert(detectionEvents)
    .values({
      endAt: row.startAt + 12_000,
      score: 0.8,
      hits: 5,
      snapshot: null,
      snapshotAt: row.snapshot ? row.startAt + 3000 : null,
      createdAt: row.startAt,
      ...row,
    })
    .returning()
    .get();
  ids[name] = inserted.id;
}

function addSegment(cameraId: string, startAt: number): number {
  return t.hub.segments.insert({
    cameraId,
    startAt,
    endAt: startAt + 10_000,
    durationMs: 10_000,
    bytes: 1000,
    codec: 'h264',
    width: 640,
    height: 480,
    initBytes: 100,
    location: 'nas',
    relPath: `videos/${cameraId}/${startAt}.mp4`,
    protected: false,
    createdAt: startAt,
  }).id;
}

const snapshots = () => path.join(t.dataDir, 'snapshots');

before(async () => {
  t = await startTestHub({ storage: { requireNasMount: false } });
  await t.hub.loops.stop();
  t.hub.settings.update({ timeZone: 'Asia/Seoul' });
  t.hub.cameras.create({ id: 'porch', name: 'Porch', kind: 'demo', record: false });
  t.hub.cameras.create({ id: 'garden', name: 'Garden', kind: 'demo', record: false });
  t.hub.bus.subscribe((event) => {
    if (event.topic === 'detections') published.push(event);
  });

  jpeg = execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1'],
    ...['-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'],
  ]);
  mkdirSync(path.join(snapshots(), 'porch/2026-12-02'), { recursive: true });
  writeFileSync(path.join(snapshots(), 'porch/2026-12-02/a.jpg'), jpeg);
  // A file outside the snapshots folder that a forged row points at.
  writeFileSync(path.join(t.dataDir, 'secret.jpg'), 'not for viewers');

  // Just before the Seoul day (the previous day there, though the same UTC day as `morning`).
  addEvent('lateYesterday', { cameraId: 'porch', label: 'person', startAt: at(-0.5) });
  addEvent('morning', {
    cameraId: 'porch',
    label: 'person',
    startAt: at(8),
    snapshot: 'porch/2026-12-02/a.jpg',
  });
  addEvent('cat', { cameraId: 'garden', label: 'pet', startAt: at(9) });
  // Two events in the same millisecond: paging must not lose one.
  addEvent('tieA', { cameraId: 'porch', label: 'vehicle', startAt: at(10) });
  addEvent('tieB', { cameraId: 'garden', label: 'person', startAt: at(10) });
  addEvent('forged', { cameraId: 'porch', label: 'person', startAt: at(11), snapshot: '../secret.jpg' });
  addEvent('absolute', { cameraId: 'porch', label: 'person', startAt: at(11.5), snapshot: '/etc/hostname' });
  addEvent('missingFile', { cameraId: 'porch', label: 'pet', startAt: at(12), snapshot: 'porch/gone.jpg' });
  addEvent('tomorrow', { cameraId: 'porch', label: 'person', startAt: at(24) });

  const first = addSegment('porch', at(8) - 5000);
  const second = addSegment('porch', at(8) + 5000);
  addSegment('porch', at(8) + 15_000); // after the event: not linked
  t.hub.db
    .insert(detectionEventSegments)
    .values([
      { eventId: ids.morning!, segmentId: second },
      { eventId: ids.morning!, segmentId: first },
    ])
    .run();

  owner = await t.owner();
  member = await t.userWithRole('member');
  viewer = await t.userWithRole('viewer');
});
after(() => t?.stop());

const idsOf = (body: { events: { id: number }[] }) => body.events.map((event) => event.id);
const named = (...names: string[]) => names.map((name) => ids[name]);

test('the list: newest first, by camera, label, household day and range, with the event shape', async () => {
  const all = await viewer.get('/api/detections');
  assert.equal(all.status, 200);
  assert.deepEqual(
    idsOf(all.body),
    named('tomorrow', 'missingFile', 'absolute', 'forged', 'tieB', 'tieA', 'cat', 'morning', 'lateYesterday'),
  );
  const morning = all.body.events.find((event: { id: number }) => event.id === ids.morning);
  assert.deepEqual(morning, {
    id: ids.morning,
    cameraId: 'porch',
    label: 'person',
    startAt: at(8),
    endAt: at(8) + 12_000,
    score: 0.8,
    hits: 5,
    zone: null,
    snapshotUrl: `/api/detections/${ids.morning}/snapshot?v=${at(8) + 3000}`,
  });
  assert.equal(all.body.events.find((event: { id: number }) => event.id === ids.cat).snapshotUrl, null);

  // The day is Seoul's: the event at 23:30 the evening before and the one at midnight after stay out.
  const day = await viewer.get('/api/detections?day=2026-12-02');
  assert.deepEqual(
    idsOf(day.body),
    named('missingFile', 'absolute', 'forged', 'tieB', 'tieA', 'cat', 'morning'),
  );
  const pets = await viewer.get('/api/detections?day=2026-12-02&label=pet');
  assert.deepEqual(idsOf(pets.body), named('missingFile', 'cat'));
  const garden = await viewer.get('/api/detections?cameraId=garden');
  assert.deepEqual(idsOf(garden.body), named('tieB', 'cat'));
  const range = await viewer.get(`/api/detections?from=${at(9)}&to=${at(11)}`);
  assert.deepEqual(idsOf(range.body), named('tieB', 'tieA', 'cat'), 'from inclusive, to exclusive');
});

test('paging with before and limit walks the whole list once, ties included', async () => {
  const whole = idsOf((await viewer.get('/api/detections')).body);
  // Limits 1 and 3 split the two events of the same millisecond across pages.
  for (const limit of [1, 2, 3]) {
    const seen: number[] = [];
    let before = '';
    for (;;) {
      const page = await viewer.get(`/api/detections?limit=${limit}${before}`);
      assert.equal(page.status, 200);
      if (!page.body.events.length) break;
      assert.ok(page.body.events.length <= limit);
      seen.push(...idsOf(page.body));
      before = `&before=${seen[seen.length - 1]}`;
    }
    assert.deepEqual(seen, whole, `limit ${limit}`);
  }
});

test('bad query values are 400 with the field named', async () => {
  for (const [query, field] of [
    ['label=cat', 'label'],
    ['day=2026-13-01', 'day'],
    ['day=yesterday', 'day'],
    ['day=2026-12-02&from=0', 'day'],
    [`from=${at(2)}&to=${at(1)}`, 'to'],
    ['from=-1', 'from'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['cameraId=../x', 'cameraId'],
    ['before=abc', 'before'],
    ['colour=red', ''],
  ] as const) {
    const response = await viewer.get(`/api/detections?${query}`);
    assert.equal(response.status, 400, query);
    assert.equal(response.body.error.code, 'invalid_input', query);
    assert.ok(
      response.body.error.details.issues.some((issue: { path: string }) => issue.path === field),
      `${query}: ${JSON.stringify(response.body.error.details.issues)}`,
    );
  }
  const gone = await viewer.get('/api/detections?before=999999');
  assert.equal(gone.status, 400);
  assert.equal((await viewer.get('/api/detections/abc')).status, 400);
});

test('one event with the segments it covers; unknown is 404', async () => {
  const { status, body } = await viewer.get(`/api/detections/${ids.morning}`);
  assert.equal(status, 200);
  assert.equal(body.event.label, 'person');
  assert.deepEqual(body.event.segments, [
    { id: body.event.segments[0].id, startAt: at(8) - 5000, endAt: at(8) + 5000 },
    { id: body.event.segments[1].id, startAt: at(8) + 5000, endAt: at(8) + 15_000 },
  ]);
  assert.deepEqual((await viewer.get(`/api/detections/${ids.cat}`)).body.event.segments, []);
  assert.equal((await viewer.get('/api/detections/999999')).status, 404);
});

test('the snapshot: the JPEG with an immutable cache header; 404 without one, for a missing file, or a path leaving the folder', async () => {
  const response = await fetch(`${t.url}/api/detections/${ids.morning}/snapshot?v=1`, {
    headers: { cookie: viewer.cookie },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'image/jpeg');
  assert.equal(response.headers.get('cache-control'), 'private, max-age=86400, immutable');
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), jpeg);

  for (const name of ['cat', 'missingFile', 'forged', 'absolute']) {
    const answer = await viewer.get(`/api/detections/${ids[name]}/snapshot`);
    assert.equal(answer.status, 404, name);
    assert.equal(answer.body.error.message, 'Snapshot not found.', name);
  }
  assert.equal((await viewer.get(`/api/detections/${ids.morning}/snapshot?w=5`)).status, 400);
});

test('DELETE: owners only; the row, its segment links and its snapshot go, the footage stays; `deleted` is published', async () => {
  const url = `/api/detections/${ids.morning}`;
  assert.equal((await viewer.delete(url)).status, 403);
  assert.equal((await member.delete(url)).status, 403);
  const sqlite = t.hub.db.$client;
  const links = () =>
    (
      sqlite
        .prepare('select count(*) as n from detection_event_segments where event_id = ?')
        .get(ids.morning) as {
        n: number;
      }
    ).n;
  assert.equal(links(), 2);
  const segmentsBefore = (sqlite.prepare('select count(*) as n from segments').get() as { n: number }).n;

  assert.equal((await owner.delete(url)).status, 204);
  assert.equal((await viewer.get(url)).status, 404);
  assert.equal(links(), 0, 'the links that kept the footage are gone');
  assert.equal(
    (sqlite.prepare('select count(*) as n from segments').get() as { n: number }).n,
    segmentsBefore,
  );
  assert.equal(existsSync(path.join(snapshots(), 'porch/2026-12-02/a.jpg')), false, 'snapshot removed');
  const message = published.at(-1)?.data as { change: string; event: { id: number; snapshotUrl: string } };
  assert.equal(message.change, 'deleted');
  assert.equal(message.event.id, ids.morning);
  assert.equal((await owner.delete(url)).status, 404);

  // A forged path is never followed when deleting either.
  assert.equal((await owner.delete(`/api/detections/${ids.forged}`)).status, 204);
  assert.equal(readFileSync(path.join(t.dataDir, 'secret.jpg'), 'utf8'), 'not for viewers');
});
