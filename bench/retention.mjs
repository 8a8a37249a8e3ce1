#!/usr/bin/env node
// Retention, through the hub's own service on real files and a real SQLite file:
//  1. the deleter removing DELETE old segments (rows + files) by max days, in seconds, and the p99 of
//     concurrent day-listing queries while it runs against the same queries before it (a ratio);
//  2. the forecast (GET /api/storage's usage aggregate) over SEGMENTS rows, against a bare
//     `count(*), sum(bytes)` over the same table in the same run (a ratio).
// Run: npm run bench:retention   (run `npm run build` first; DELETE=10000 SEGMENTS=100000 for a quick look)
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => import(path.join(root, 'hub/dist', file));
const { openDatabase, closeDatabase } = await dist('db/client.js');
const { createSegmentRepo } = await dist('recording/segments.repo.js');
const { segmentRelPath } = await dist('recording/segment-names.js');
const { createRetentionService } = await dist('retention/retention.service.js');
const { createFsWorker } = await dist('storage/index.js');
const { createSystemEvents } = await dist('events/system-events.service.js');
const { EventBus } = await dist('events/bus.js');
const { createLogger } = await dist('log/logger.js');

const DELETE = Number(process.env.DELETE ?? 100_000);
const SEGMENTS = Number(process.env.SEGMENTS ?? 1_000_000);
const KEEP = 20_000;
const CAMERAS = 10;
const DAY = 86_400_000;
const now = Date.now();
const round = (n) => Number(n.toFixed(2));
const clock = { now: () => Date.now() };

function stamp(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function createDb(dir) {
  const db = openDatabase(path.join(dir, 'hearth.db'));
  const insertCamera = db.$client.prepare(
    "insert into cameras (id, name, kind, record, enabled, segment_seconds, created_at, updated_at) values (?, ?, 'demo', 0, 0, 60, ?, ?)",
  );
  for (let c = 0; c < CAMERAS; c++) insertCamera.run(`cam-${c}`, `Camera ${c}`, now, now);
  const insert = db.$client.prepare(
    `insert into segments (camera_id, start_at, end_at, duration_ms, bytes, codec, width, height, init_bytes, location, rel_path, protected, created_at)
     values (?, ?, ?, 60000, ?, 'h264', 1280, 720, 800, 'nas', ?, 0, ?)`,
  );
  return { db, insert };
}

// 1. The deleter.
const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-retention-'));
const nas = path.join(work, 'nas');
const { db, insert } = createDb(work);
const oldFrom = now - 60 * DAY;
const recentFrom = now - 2 * DAY;
const made = performance.now();
const folders = new Set();
function makeOld() {
  db.$client.transaction(() => {
    for (let i = 0; i < DELETE; i++) {
      const cameraId = `cam-${i % CAMERAS}`;
      const startAt = oldFrom + Math.floor(i / CAMERAS) * 1000;
      const relPath = segmentRelPath(`${cameraId}_${stamp(startAt)}-${i}.mp4`, { cameraId, startAt });
      const folder = path.dirname(path.join(nas, relPath));
      if (!folders.has(folder)) {
        mkdirSync(folder, { recursive: true });
        folders.add(folder);
      }
      writeFileSync(path.join(nas, relPath), 'x');
      insert.run(cameraId, startAt, startAt + 60_000, 1, relPath, now);
    }
  })();
}
makeOld();
db.$client.transaction(() => {
  for (let i = 0; i < KEEP; i++) {
    const cameraId = `cam-${i % CAMERAS}`;
    const startAt = recentFrom + Math.floor(i / CAMERAS) * 60_000;
    insert.run(cameraId, startAt, startAt + 60_000, 1, `videos/${cameraId}/recent/${i}.mp4`, now);
  }
})();
db.$client.pragma('optimize');
console.error(
  `made ${DELETE} files and ${DELETE + KEEP} rows in ${round((performance.now() - made) / 1000)} s`,
);

const fs = createFsWorker({ timeoutMs: 30_000 });
const bus = new EventBus(clock, 100);
const log = createLogger('silent');
const retention = createRetentionService({
  db,
  clock,
  fs,
  guard: {
    current: () => ({
      healthy: true,
      reason: null,
      checkedAt: Date.now(),
      freeBytes: 2 ** 50,
      totalBytes: 2 ** 51,
    }),
  },
  nasRoot: nas,
  config: { maxBytes: 0, minFreePercent: 0, minFreeBytes: 0, maxDays: 30, minDays: 0, intervalSeconds: 300 },
  demo: false,
  systemEvents: createSystemEvents({ db, clock, bus }),
  log,
});
const repo = createSegmentRepo(db);

/**
 * Day listings of recent footage, one every QUERY_EVERY_MS (a busy UI: 100 a second), until `done()`
 * says stop or `count` ran.
 */
const QUERY_EVERY_MS = 10;
async function queries(count, done = () => false) {
  const times = [];
  for (let i = 0; (count === undefined || i < count) && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, QUERY_EVERY_MS));
    const from = recentFrom + (i % 24) * 3600_000;
    const t0 = performance.now();
    const rows = repo.listRange(`cam-${i % CAMERAS}`, from, from + DAY);
    times.push(performance.now() - t0);
    if (rows.length === 0) throw new Error('a listing found nothing');
  }
  return times.sort((a, b) => a - b);
}

await queries(200); // warm-up
// The deleter alone first, then again on a fresh copy of the old footage with queries running.
const aloneStarted = performance.now();
const alone = await retention.runRetention();
const aloneSeconds = (performance.now() - aloneStarted) / 1000;
if (alone.deleted !== DELETE) throw new Error(`deleted ${alone.deleted} of ${DELETE}`);
makeOld();
let finished = false;
const started = performance.now();
const run = retention.runRetention().then((report) => {
  finished = true;
  return report;
});
const during = await queries(undefined, () => finished);
const report = await run;
const deleteSeconds = (performance.now() - started) / 1000;
const before = await queries(Math.min(during.length, 3000));

const leftFiles = readdirSync(path.join(nas, 'videos'), { recursive: true }).filter((name) =>
  String(name).endsWith('.mp4'),
).length;
const leftRows = db.$client.prepare('select count(*) as n from segments').get().n;
const ok = report.deleted === DELETE && leftFiles === 0 && leftRows === KEEP;
await fs.close();
closeDatabase(db);
rmSync(work, { recursive: true, force: true });

// 2. The forecast.
const work2 = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-forecast-'));
const second = createDb(work2);
second.db.$client.transaction(() => {
  for (let i = 0; i < SEGMENTS; i++) {
    const cameraId = `cam-${i % CAMERAS}`;
    // Each camera's minute-long segments end now, so the last 3 days give every camera a rate.
    const startAt = now - (SEGMENTS / CAMERAS - Math.floor(i / CAMERAS)) * 60_000;
    second.insert.run(cameraId, startAt, startAt + 60_000, 2_000_000, `videos/${cameraId}/${i}.mp4`, now);
  }
})();
second.db.$client.pragma('optimize');
const forecaster = createRetentionService({
  db: second.db,
  clock,
  fs: null,
  guard: {
    current: () => ({
      healthy: true,
      reason: null,
      checkedAt: Date.now(),
      freeBytes: 2 ** 42,
      totalBytes: 2 ** 43,
    }),
  },
  nasRoot: work2,
  config: { maxBytes: 0, minFreePercent: 5, minFreeBytes: 0, maxDays: 0, minDays: 0, intervalSeconds: 300 },
  demo: false,
  systemEvents: { record() {} },
  log,
});
const bare = second.db.$client.prepare('select count(*) as n, sum(bytes) as b from segments');
function time(fn, runs = 20) {
  fn();
  fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { mean: times.reduce((a, b) => a + b, 0) / runs, p99: percentile(times, 0.99) };
}
const forecast = time(() => {
  const { cameras } = forecaster.usage();
  if (cameras.length !== CAMERAS || cameras.some((c) => c.forecastDays === null))
    throw new Error('no forecast');
});
const baseline = time(() => bare.get());
closeDatabase(second.db);
rmSync(work2, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      deleter: {
        segments: DELETE,
        aloneSeconds: round(aloneSeconds),
        alonePerSecond: Math.round(DELETE / aloneSeconds),
        withQueriesSeconds: round(deleteSeconds),
        withQueriesPerSecond: Math.round(DELETE / deleteSeconds),
        deleted: report.deleted,
        leftFiles,
        leftRows,
      },
      concurrentDayListing: {
        queries: during.length,
        beforeP50Ms: round(percentile(before, 0.5)),
        beforeP99Ms: round(percentile(before, 0.99)),
        duringP50Ms: round(percentile(during, 0.5)),
        duringP99Ms: round(percentile(during, 0.99)),
        p99Ratio: round(percentile(during, 0.99) / percentile(before, 0.99)),
      },
      forecast: {
        segments: SEGMENTS,
        meanMs: round(forecast.mean),
        p99Ms: round(forecast.p99),
        bareCountSumMeanMs: round(baseline.mean),
        ratio: round(forecast.mean / baseline.mean),
      },
    },
    null,
    2,
  ),
);
console.log(ok ? 'deleter: OK (every old file and row gone, recent rows kept)' : 'deleter: FAIL');
if (!ok) process.exitCode = 1;
