import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../db/client.js';
import { dayBounds } from '../settings/time-zone.js';
import { tempDir } from '../testing/spawn-hub.js';
import { parseRelPath, parseSegmentName, segmentRelPath } from './segment-names.js';
import { BUILD_EPOCH, createSegmentRepo } from './segments.repo.js';

function setup() {
  const db = openDatabase(path.join(tempDir(), 'hearth.db'));
  db.$client
    .prepare(
      "insert into cameras (id, name, kind, created_at, updated_at) values ('porch', 'Porch', 'demo', 0, 0)",
    )
    .run();
  const repo = createSegmentRepo(db);
  const add = (startAt: number, durationMs = 10_000, name = String(startAt)) =>
    repo.insert({
      cameraId: 'porch',
      startAt,
      endAt: startAt + durationMs,
      durationMs,
      bytes: 1000,
      codec: 'h264',
      width: 640,
      height: 480,
      initBytes: 700,
      location: 'nas',
      relPath: `videos/porch/x/${name}.mp4`,
      protected: false,
      createdAt: Date.now(),
    });
  return { repo, add };
}

test('segments dated before the build, or starting before the previous one ends, are flagged clock_suspect', () => {
  const { add } = setup();
  const t0 = Date.UTC(2026, 5, 1, 12);
  assert.equal(add(t0).clockSuspect, false);
  assert.equal(add(t0 + 10_000).clockSuspect, false, 'back to back');
  assert.equal(add(t0 + 20_500).clockSuspect, false, 'a gap is fine');
  assert.equal(add(t0 + 25_000).clockSuspect, true, 'overlaps the previous segment');
  assert.equal(add(t0 - 3_600_000).clockSuspect, true, 'the clock jumped back an hour');
  assert.equal(
    add(BUILD_EPOCH - 86_400_000, 10_000, 'old').clockSuspect,
    true,
    'before this build existed (no RTC, no NTP yet)',
  );
});

test('inserting the same file twice keeps one row', () => {
  const { repo, add } = setup();
  const t0 = Date.UTC(2026, 5, 1, 12);
  const first = add(t0);
  const again = add(t0);
  assert.equal(again.id, first.id);
  assert.equal(repo.listRange('porch', t0 - 1, t0 + 1).length, 1);
});

test('names and NAS paths follow the BRIEF layout in UTC, and nothing else parses as footage', () => {
  const name = parseSegmentName('front-door_20261123_235959.mp4');
  assert.deepEqual(name, { cameraId: 'front-door', startAt: Date.UTC(2026, 10, 23, 23, 59, 59) });
  assert.equal(
    segmentRelPath('front-door_20261123_235959.mp4', name!),
    'videos/front-door/2026-11-23/front-door_20261123_235959.mp4',
  );
  assert.deepEqual(
    parseSegmentName('front-door_20261123_235959-1.mp4')?.cameraId,
    'front-door',
    'a collision suffix',
  );
  for (const bad of [
    'x.mp4',
    'Front_20261123_235959.mp4',
    'a_2026112_235959.mp4',
    'a_20261123_235959.mp4.partial-1',
  ]) {
    assert.equal(parseSegmentName(bad), null, bad);
  }
  assert.equal(
    parseRelPath('videos/a/2026-11-24/a_20261123_235959.mp4'),
    null,
    'the folder day must match the name',
  );
  assert.equal(
    parseRelPath('videos/b/2026-11-23/a_20261123_235959.mp4'),
    null,
    'the folder camera must match',
  );
  assert.equal(parseRelPath('../videos/a/2026-11-23/a_20261123_235959.mp4'), null);
});

test("a household day spans the zone's midnights, 23 or 25 hours across DST", () => {
  const seoul = dayBounds('2026-11-23', 'Asia/Seoul');
  assert.equal(new Date(seoul.start).toISOString(), '2026-11-22T15:00:00.000Z');
  assert.equal(seoul.end - seoul.start, 24 * 3600_000);
  const springForward = dayBounds('2026-03-29', 'Europe/Berlin');
  assert.equal(new Date(springForward.start).toISOString(), '2026-03-28T23:00:00.000Z');
  assert.equal(springForward.end - springForward.start, 23 * 3600_000);
  const fallBack = dayBounds('2026-10-25', 'Europe/Berlin');
  assert.equal(fallBack.end - fallBack.start, 25 * 3600_000);
});
