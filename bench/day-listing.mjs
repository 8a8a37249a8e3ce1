#!/usr/bin/env node
// Day listing of one camera over an index of 1,000,000 segments (goal p99 <= 20 ms), through the
// hub's own repository, against the same range query as a bare prepared statement in the same run.
// Run: npm run bench:day-listing   (builds nothing: run `npm run build` first)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openDatabase } = await import(path.join(root, 'hub/dist/db/client.js'));
const { createSegmentRepo } = await import(path.join(root, 'hub/dist/recording/segments.repo.js'));
const { dayBounds } = await import(path.join(root, 'hub/dist/settings/time-zone.js'));

const TOTAL = Number(process.env.SEGMENTS ?? 1_000_000);
const CAMERAS = 10;
const SEGMENT_MS = 60_000;
const QUERIES = 2000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-index-'));
const db = openDatabase(path.join(dir, 'hearth.db'));
const sqlite = db.$client;

const now = Date.now();
const insertCamera = sqlite.prepare(
  "insert into cameras (id, name, kind, record, enabled, segment_seconds, created_at, updated_at) values (?, ?, 'demo', 0, 0, 60, ?, ?)",
);
for (let c = 0; c < CAMERAS; c++) insertCamera.run(`cam-${c}`, `Camera ${c}`, now, now);
const perCamera = TOTAL / CAMERAS;
const start = Date.UTC(2025, 0, 1);
const insert = sqlite.prepare(
  `insert into segments (camera_id, start_at, end_at, duration_ms, bytes, codec, width, height, init_bytes, location, rel_path, clock_suspect, protected, created_at)
   values (?, ?, ?, 60000, 2000000, 'h264', 1280, 720, 800, 'nas', ?, 0, 0, ?)`,
);
const loadStarted = performance.now();
sqlite.transaction(() => {
  for (let c = 0; c < CAMERAS; c++)
    for (let i = 0; i < perCamera; i++) {
      const at = start + i * SEGMENT_MS;
      insert.run(`cam-${c}`, at, at + SEGMENT_MS, `videos/cam-${c}/${i}.mp4`, now);
    }
})();
const loadSeconds = (performance.now() - loadStarted) / 1000;
sqlite.pragma('optimize');

const repo = createSegmentRepo(db);
const bare = sqlite.prepare(
  'select * from segments where camera_id = ? and start_at >= ? and start_at < ? order by start_at',
);
const days = (perCamera * SEGMENT_MS) / 86_400_000;
function randomDay() {
  const d = new Date(start + Math.floor(1 + Math.random() * (days - 2)) * 86_400_000);
  return d.toISOString().slice(0, 10);
}
function measure(fn) {
  const times = [];
  for (let i = 0; i < QUERIES; i++) {
    const camera = `cam-${i % CAMERAS}`;
    const { start: from, end: to } = dayBounds(randomDay(), 'Asia/Seoul');
    const t0 = performance.now();
    const rows = fn(camera, from, to);
    times.push(performance.now() - t0);
    if (rows.length < 1000) throw new Error(`expected a full day, got ${rows.length} rows`);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(QUERIES * 0.5)], p99: times[Math.floor(QUERIES * 0.99)] };
}
measure((c, f, t) => repo.listRange(c, f, t)); // warm-up
const hub = measure((c, f, t) => repo.listRange(c, f, t));
const raw = measure((c, f, t) => bare.all(c, f, t));
db.$client.close();
rmSync(dir, { recursive: true, force: true });

const round = (n) => Number(n.toFixed(2));
console.log(
  JSON.stringify(
    {
      segments: TOTAL,
      rowsPerDay: 1440,
      loadSeconds: round(loadSeconds),
      hubListP50Ms: round(hub.p50),
      hubListP99Ms: round(hub.p99),
      bareSqlP50Ms: round(raw.p50),
      bareSqlP99Ms: round(raw.p99),
      p99Ratio: round(hub.p99 / raw.p99),
    },
    null,
    2,
  ),
);
console.log(`goal: p99 <= 20 ms (${hub.p99 <= 20 ? 'met' : 'MISSED'})`);
