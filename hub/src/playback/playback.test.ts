import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LiveEvent } from '../events/bus.js';
import type { SegmentLocation } from '../recording/recording.schema.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { CLOCK_SUSPECT_LINE } from './playlist.js';

// Rows in a real database behind the real HTTP stack; the files behind them are not needed here
// (playback.hls.test.ts plays real recorded files).
let t: TestHub;
let viewer: TestClient;
let member: TestClient;
const base = Date.UTC(2026, 5, 1, 12);
const ids: Record<string, number> = {};

function addSegment(
  cameraId: string,
  name: string,
  startAt: number,
  durationMs: number,
  location: SegmentLocation,
) {
  const row = t.hub.segments.insert({
    cameraId,
    startAt,
    endAt: startAt + durationMs,
    durationMs,
    bytes: 100_000 + Object.keys(ids).length * 1000, // distinct per row, so a swapped range shows
    codec: 'h264',
    width: 640,
    height: 480,
    initBytes: 812,
    location,
    relPath: `videos/${cameraId}/${name}.mp4`,
    protected: false,
    createdAt: base,
  });
  ids[name] = row.id;
  return row;
}

before(async () => {
  t = await startTestHub();
  viewer = await t.userWithRole('viewer');
  member = await t.userWithRole('member');
  for (const id of ['porch', 'yard', 'empty']) {
    const created = await member.post('/api/cameras', { id, name: id, kind: 'demo', record: false });
    assert.equal(created.status, 201);
  }
  addSegment('porch', 'a', base, 10_000, 'nas');
  addSegment('porch', 'b', base + 10_400, 10_000, 'spool'); // a 400 ms seam: not a gap
  addSegment('porch', 'c', base + 30_000, 10_000, 'nas');
  const d = addSegment('porch', 'd', base + 35_000, 10_000, 'nas'); // overlaps c: the clock jumped back
  assert.equal(d.clockSuspect, true);
  addSegment('porch', 'e', base + 60_000, 10_000, 'staging'); // not yet placed
  // A 5-minute segment that began long before the range asked for below and runs into it.
  addSegment('yard', 'long', base - 290_000, 300_000, 'nas');
});
after(() => t.stop());

const range = `from=${base + 5000}&to=${base + 70_000}`;

test('the timeline lists overlapping placed segments oldest first, with coverage and gaps', async () => {
  const response = await viewer.get(`/api/cameras/porch/timeline?${range}`);
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, {
    cameraId: 'porch',
    from: base + 5000,
    to: base + 70_000,
    segments: [
      {
        id: ids.a,
        startAt: base,
        endAt: base + 10_000,
        durationMs: 10_000,
        location: 'nas',
        clockSuspect: false,
        protected: false,
      },
      {
        id: ids.b,
        startAt: base + 10_400,
        endAt: base + 20_400,
        durationMs: 10_000,
        location: 'spool',
        clockSuspect: false,
        protected: false,
      },
      {
        id: ids.c,
        startAt: base + 30_000,
        endAt: base + 40_000,
        durationMs: 10_000,
        location: 'nas',
        clockSuspect: false,
        protected: false,
      },
      {
        id: ids.d,
        startAt: base + 35_000,
        endAt: base + 45_000,
        durationMs: 10_000,
        location: 'nas',
        clockSuspect: true,
        protected: false,
      },
    ],
    coverage: [
      { from: base + 5000, to: base + 20_400 },
      { from: base + 30_000, to: base + 45_000 },
    ],
    gaps: [
      { from: base + 20_400, to: base + 30_000 },
      { from: base + 45_000, to: base + 70_000 },
    ],
  });

  // ISO instants, with or without an offset, mean the same range.
  const iso = (ms: number, offset: string) => {
    const shifted = new Date(ms + (offset === 'Z' ? 0 : 9 * 3600_000)).toISOString().slice(0, 23);
    return encodeURIComponent(`${shifted}${offset}`);
  };
  const byIso = await viewer.get(
    `/api/cameras/porch/timeline?from=${iso(base + 5000, 'Z')}&to=${iso(base + 70_000, '+09:00')}`,
  );
  assert.equal(byIso.status, 200);
  assert.deepEqual(byIso.body, response.body);
});

test('a segment that started up to 5 minutes before the range is in it; an ended one is not', async () => {
  const inside = (await viewer.get(`/api/cameras/yard/timeline?from=${base}&to=${base + 60_000}`)).body;
  assert.deepEqual(
    inside.segments.map((segment: { id: number }) => segment.id),
    [ids.long],
  );
  assert.deepEqual(inside.coverage, [{ from: base, to: base + 10_000 }]);
  assert.deepEqual(inside.gaps, [{ from: base + 10_000, to: base + 60_000 }]);

  const after = (await viewer.get(`/api/cameras/yard/timeline?from=${base + 12_000}&to=${base + 60_000}`))
    .body;
  assert.deepEqual(after.segments, []);
  assert.deepEqual(after.coverage, []);
  assert.deepEqual(after.gaps, [{ from: base + 12_000, to: base + 60_000 }]);
});

test('the playlist covers exactly the timeline segments, in order, with byte ranges and discontinuities', async () => {
  const response = await viewer.get(`/api/cameras/porch/playback.m3u8?${range}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const text: string = response.body;
  const lines = text.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 6), [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-TARGETDURATION:10',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ]);
  assert.equal(lines.at(-1), '#EXT-X-ENDLIST');

  const timeline = (await viewer.get(`/api/cameras/porch/timeline?${range}`)).body;
  const uris = lines.filter((line) => !line.startsWith('#'));
  assert.deepEqual(
    uris,
    timeline.segments.map((segment: { id: number }) => `/api/segments/${segment.id}/file`),
  );
  assert.equal(lines.filter((line) => line === '#EXT-X-DISCONTINUITY').length, uris.length - 1);
  // The clock-suspect comment sits in d's block only, before its date.
  const suspect = lines.indexOf(CLOCK_SUSPECT_LINE);
  assert.equal(lines.lastIndexOf(CLOCK_SUSPECT_LINE), suspect);
  assert.equal(lines[suspect + 1], `#EXT-X-PROGRAM-DATE-TIME:${new Date(base + 35_000).toISOString()}`);
  assert.equal(lines[suspect + 5], `/api/segments/${ids.d}/file`);

  const c = t.hub.segments.get(ids.c!)!;
  const block = lines.slice(
    lines.indexOf(`/api/segments/${ids.c}/file`) - 4,
    lines.indexOf(`/api/segments/${ids.c}/file`) + 1,
  );
  assert.deepEqual(block, [
    `#EXT-X-PROGRAM-DATE-TIME:${new Date(base + 30_000).toISOString()}`,
    `#EXT-X-MAP:URI="/api/segments/${ids.c}/file",BYTERANGE="812@0"`,
    '#EXTINF:10.000,',
    `#EXT-X-BYTERANGE:${c.bytes - 812}@812`,
    `/api/segments/${ids.c}/file`,
  ]);
});

test('no footage, unknown cameras and bad ranges are refused with the field named', async () => {
  const noFootage = await viewer.get(`/api/cameras/empty/playback.m3u8?${range}`);
  assert.equal(noFootage.status, 404);
  assert.equal(noFootage.body.error.code, 'no_footage');
  const emptyTimeline = await viewer.get(`/api/cameras/empty/timeline?${range}`);
  assert.equal(emptyTimeline.status, 200);
  assert.deepEqual(emptyTimeline.body.gaps, [{ from: base + 5000, to: base + 70_000 }]);
  // Only staging footage is no footage either.
  const stagingOnly = await viewer.get(
    `/api/cameras/porch/playback.m3u8?from=${base + 59_000}&to=${base + 70_000}`,
  );
  assert.equal(stagingOnly.status, 404);

  for (const route of ['timeline', 'playback.m3u8']) {
    const unknown = await viewer.get(`/api/cameras/no-such-cam/${route}?${range}`);
    assert.equal(unknown.status, 404, route);
    assert.equal(unknown.body.error.code, 'not_found');
    assert.equal((await viewer.get(`/api/cameras/..%2fetc/${route}?${range}`)).status, 400);

    const week = 7 * 24 * 3600_000;
    const cases: [string, string][] = [
      [`to=${base}`, 'from'],
      [`from=${base}`, 'to'],
      [`from=yesterday&to=${base}`, 'from'],
      [`from=${base}&to=12.5`, 'to'],
      [`from=-5&to=${base}`, 'from'],
      [`from=2026-06-01T12:00:00&to=${base + 1000}`, 'from'], // no zone: whose clock?
      [`from=${base}&to=${'9'.repeat(20)}`, 'to'],
      [`from=${base}&to=${base}`, 'to'],
      [`from=${base}&to=${base - 1}`, 'to'],
      [`from=${base}&to=${base + week + 1}`, 'to'],
      [`from=${base}&to=${base + 1000}&extra=1`, ''],
    ];
    for (const [query, field] of cases) {
      const response = await viewer.get(`/api/cameras/porch/${route}?${query}`);
      assert.equal(response.status, 400, `${route}?${query}`);
      assert.equal(response.body.error.code, 'invalid_input');
      const paths = response.body.error.details.issues.map((issue: { path: string }) => issue.path);
      assert.ok(paths.includes(field), `${route}?${query}: ${JSON.stringify(paths)}`);
    }
    assert.equal(
      (await viewer.get(`/api/cameras/porch/${route}?from=${base}&to=${base + week}`)).status,
      200,
    );
    assert.equal((await t.client().get(`/api/cameras/porch/${route}?${range}`)).status, 401);
  }
});

test('PATCH /api/segments/:id protects a segment: member or owner, strict body, a live event', async () => {
  const events: LiveEvent[] = [];
  const unsubscribe = t.hub.bus.subscribe((event) => events.push(event));
  try {
    const forbidden = await viewer.patch(`/api/segments/${ids.a}`, { protected: true });
    assert.equal(forbidden.status, 403);
    assert.equal(t.hub.segments.get(ids.a!)!.protected, false);

    const response = await member.patch(`/api/segments/${ids.a}`, { protected: true });
    assert.equal(response.status, 200);
    assert.equal(response.body.segment.id, ids.a);
    assert.equal(response.body.segment.protected, true);
    assert.equal(t.hub.segments.get(ids.a!)!.protected, true);
    const published = events.filter((event) => event.topic === 'recording');
    assert.equal(published.length, 1);
    assert.deepEqual(published[0]!.data, { change: 'segment-updated', segment: response.body.segment });

    const timeline = (await viewer.get(`/api/cameras/porch/timeline?${range}`)).body;
    assert.equal(timeline.segments[0].protected, true);

    const owner = await t.owner();
    const released = await owner.patch(`/api/segments/${ids.a}`, { protected: false });
    assert.equal(released.status, 200);
    assert.equal(t.hub.segments.get(ids.a!)!.protected, false);

    assert.equal((await member.patch('/api/segments/999999', { protected: true })).status, 404);
    for (const body of [{ protected: 'yes' }, { protected: 1 }, {}, { protected: true, bytes: 1 }, null]) {
      const bad = await member.patch(`/api/segments/${ids.b}`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    assert.equal((await member.patch('/api/segments/abc', { protected: true })).status, 400);
    assert.equal((await member.patch('/api/segments/0', { protected: true })).status, 400);
    assert.equal(t.hub.segments.get(ids.b!)!.protected, false, 'refused bodies change nothing');
    assert.equal(events.filter((event) => event.topic === 'recording').length, 2);
  } finally {
    unsubscribe();
  }
});

test('the routes are in the OpenAPI document', async () => {
  const paths = (await viewer.get('/api/openapi.json')).body.paths;
  assert.ok(paths['/api/cameras/{id}/timeline']?.get);
  assert.ok(paths['/api/cameras/{id}/playback.m3u8']?.get);
  assert.ok(paths['/api/segments/{id}']?.patch);
});
