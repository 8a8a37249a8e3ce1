import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock } from '../clock.js';
import { startTestHub } from '../testing/test-hub.js';
import { babyWithCradle } from './fixtures/cradle.js';
import { chooseStep } from './history.js';

const DAY_START = Date.UTC(2026, 2, 10);
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** mulberry32: a small seeded generator, so a failing day can be replayed from the seed in the message. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sent {
  at: number;
  kind: string;
  value?: number;
  state?: string;
}

/** What the rollups must say, computed here from what was sent (not from the hub's tables). */
function expected(readings: Sent[], size: number) {
  const buckets = new Map<
    string,
    { count: number; values: number[]; last: { at: number; state: string | null } }
  >();
  for (const r of readings) {
    const key = `${r.kind}|${Math.floor(r.at / size) * size}`;
    const bucket = buckets.get(key) ?? { count: 0, values: [], last: { at: -1, state: null } };
    bucket.count += 1;
    if (r.value !== undefined) bucket.values.push(r.value);
    if (r.at >= bucket.last.at) bucket.last = { at: r.at, state: r.state ?? null };
    buckets.set(key, bucket);
  }
  return buckets;
}

test('rollups equal a recomputation from the raw readings of a random day, filled in two passes; history JSON and CSV agree', async (t) => {
  const seed = Number(process.env.HISTORY_SEED ?? Date.now() % 1_000_000);
  const next = random(seed);
  const clock = manualClock(DAY_START + 86_400_000 + HOUR);
  const hub = await startTestHub({}, { clock });
  t.after(() => hub.stop());
  const owner = await hub.owner();
  const cradle = await babyWithCradle(hub, owner);
  const { device, subject } = cradle;

  // A day: temperatures every 20–40 s, crying states now and then, in the order a node sends them.
  const readings: Sent[] = [];
  for (
    let at = DAY_START + Math.floor(next() * 5000);
    at < DAY_START + 86_400_000;
    at += 20_000 + Math.floor(next() * 20_000)
  ) {
    readings.push({ at, kind: 'temperature', value: Math.round((36 + next() * 3) * 100) / 100 });
    if (next() < 0.2) readings.push({ at: at + 1, kind: 'crying', state: next() < 0.5 ? 'crying' : 'quiet' });
  }
  const send = async (batch: Sent[]) => {
    for (let i = 0; i < batch.length; i += 500)
      assert.equal((await cradle.send(batch.slice(i, i + 500))).status, 200);
  };
  // Two passes with a rollup between, split in the middle of a minute and an hour.
  const split = readings.findIndex((r) => r.at > DAY_START + 13.5 * HOUR + 30_000);
  await send(readings.slice(0, split));
  hub.hub.history.rollup();
  await send(readings.slice(split));
  hub.hub.history.rollup();

  const stored = hub.hub.db.$client
    .prepare(
      'SELECT kind, resolution, bucket_start, count, value_count, min, max, sum, last_state FROM reading_rollups WHERE device_id = ?',
    )
    .all(device.id) as {
    kind: string;
    resolution: string;
    bucket_start: number;
    count: number;
    value_count: number;
    min: number | null;
    max: number | null;
    sum: number | null;
    last_state: string | null;
  }[];
  for (const [resolution, size] of [
    ['minute', MINUTE],
    ['hour', HOUR],
  ] as const) {
    const want = expected(readings, size);
    const rows = stored.filter((row) => row.resolution === resolution);
    assert.equal(rows.length, want.size, `${resolution} buckets (seed ${seed})`);
    for (const row of rows) {
      const bucket = want.get(`${row.kind}|${row.bucket_start}`);
      assert.ok(bucket, `a ${resolution} bucket nobody sent (seed ${seed})`);
      assert.equal(row.count, bucket.count);
      assert.equal(row.value_count, bucket.values.length);
      if (bucket.values.length) {
        assert.equal(row.min, Math.min(...bucket.values));
        assert.equal(row.max, Math.max(...bucket.values));
        assert.ok(Math.abs(row.sum! - bucket.values.reduce((a, b) => a + b, 0)) < 1e-9);
      } else assert.equal(row.min, null);
      assert.equal(
        row.last_state,
        bucket.last.state,
        `last state of ${row.kind} at ${row.bucket_start} (seed ${seed})`,
      );
    }
  }

  // The history API at each source, and its CSV, say the same.
  const range = `kind=temperature&from=${DAY_START}&to=${DAY_START + 86_400_000}`;
  for (const [step, source] of [
    [10_000, 'raw'],
    [5 * MINUTE, 'minute'],
    [3 * HOUR, 'hour'],
  ] as const) {
    const json = (await owner.get(`/api/subjects/${subject.id}/history?${range}&step=${step}`)).body;
    assert.equal(json.source, source);
    const want = expected(
      readings.filter((r) => r.kind === 'temperature'),
      step,
    );
    assert.equal(json.points.length, want.size);
    for (const point of json.points) {
      const bucket = want.get(`temperature|${point.t}`)!;
      assert.equal(point.count, bucket.count);
      assert.equal(point.max, Math.max(...bucket.values));
      assert.ok(
        Math.abs(point.mean - bucket.values.reduce((a, b) => a + b, 0) / bucket.values.length) < 1e-9,
      );
    }
    const csv = await owner.get(`/api/subjects/${subject.id}/history?${range}&step=${step}&format=csv`);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(csv.status, 200);
    const lines = (csv.body as unknown as string).trimEnd().split('\n');
    assert.equal(lines[0], 'time,count,min,max,mean,last');
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(',')),
      json.points.map((p: any) => [
        new Date(p.t).toISOString(),
        String(p.count),
        String(p.min),
        String(p.max),
        String(p.mean),
        '',
      ]),
    );
  }
  const crying = (
    await owner.get(
      `/api/subjects/${subject.id}/history?kind=crying&from=${DAY_START}&to=${DAY_START + 86_400_000}&step=${HOUR}`,
    )
  ).body;
  const wantCrying = expected(
    readings.filter((r) => r.kind === 'crying'),
    HOUR,
  );
  for (const point of crying.points)
    assert.equal(point.last, wantCrying.get(`crying|${point.t}`)!.last.state);

  // Past the raw retention: raw readings go, rollups stay, and a fine step falls back to minutes.
  clock.advance(11 * 86_400_000);
  const pruned = hub.hub.history.prune();
  assert.equal(pruned.readings, readings.length);
  assert.equal(pruned.rollups, 0);
  const later = await hub.owner(); // eleven days on, the first session has expired
  const old = (await later.get(`/api/subjects/${subject.id}/history?${range}&step=1000`)).body;
  assert.equal(old.source, 'minute');
  assert.equal(
    old.points.reduce((sum: number, p: any) => sum + p.count, 0),
    readings.filter((r) => r.kind === 'temperature').length,
  );
});

test('history: a step chosen for the points asked for; bad queries refused', async (t) => {
  assert.equal(chooseStep(0, 86_400_000, 500), 5 * MINUTE);
  assert.equal(chooseStep(0, 30 * 86_400_000, 1000), HOUR);
  assert.equal(chooseStep(0, 3_600_000, 500), 10_000);
  const hub = await startTestHub();
  t.after(() => hub.stop());
  const owner = await hub.owner();
  const { device } = hub.hub.devices.create({ name: 'Other', kind: 'node' });
  const subject = (await owner.post('/api/subjects', { name: 'Rex', kind: 'pet' })).body.subject;
  const url = (query: string) => `/api/subjects/${subject.id}/history?${query}`;
  for (const query of [
    'kind=temperature&from=10&to=5',
    'kind=Temp&from=0&to=5',
    'kind=temperature&from=0&to=86400000&step=1',
    `kind=temperature&from=0&to=5&deviceId=${device.id}`,
    'kind=temperature&from=0&to=5&format=xml',
  ])
    assert.equal((await owner.get(url(query))).status, 400, query);
  assert.equal((await owner.get('/api/subjects/999/history?kind=temperature&from=0&to=5')).status, 404);
  assert.deepEqual((await owner.get(url('kind=temperature&from=0&to=86400000'))).body, {
    step: 5 * MINUTE,
    source: 'minute',
    points: [],
  });
});
