#!/usr/bin/env node
// Photo ingest through the compiled hub as a separate process (real HTTP on 127.0.0.1, real multipart,
// JPEG checks, fsynced placement, SQLite commit, and the processing job running alongside): durable
// acknowledgements per second with 1 and 8 concurrent cameras, against a baseline in the same run that
// only writes and fsyncs the same bytes (file and folder) to the same disk at the same concurrency
// (goal: ratio >= 0.5). Then the hub's RSS over a 1,000-upload run.
// Run: npm run bench:photo-ingest   (run `npm run build` first; UPLOADS=200 for a quick look)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UPLOADS = Number(process.env.UPLOADS ?? 400);
const RSS_UPLOADS = Number(process.env.RSS_UPLOADS ?? 1000);
const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-photos-'));
const dataDir = path.join(work, 'data');
const nas = path.join(work, 'nas');
mkdirSync(nas, { recursive: true });
writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
const config = path.join(work, 'hearth.json');
writeFileSync(
  config,
  JSON.stringify({ storage: { requireNasMount: false }, photos: { uploadsPerMinute: 0 } }),
);
const env = {
  ...process.env,
  HEARTH_DATA_DIR: dataDir,
  HEARTH_NAS_DIR: nas,
  HEARTH_CONFIG: config,
  HEARTH_PORT: '0',
  HEARTH_HOST: '127.0.0.1',
  HEARTH_DEMO: '0',
};

// About 100 KB: noise compresses badly, as sensor noise does.
const jpeg = await sharp(randomBytes(420 * 315 * 3), { raw: { width: 420, height: 315, channels: 3 } })
  .jpeg({ quality: 85 })
  .toBuffer();

const added = spawnSync(
  process.execPath,
  [path.join(root, 'hub/bin/hearth.js'), 'device', 'add', 'bench-cam', '--kind', 'camera'],
  { env, encoding: 'utf8' },
);
if (added.status !== 0) throw new Error(added.stderr);
const token = added.stdout.trim().split('\n').at(-1).trim();
const db = new Database(path.join(dataDir, 'hearth.db'));
const deviceId = db.prepare("select id from devices where name = 'bench-cam'").get().id;
db.prepare(
  "insert into cameras (id, name, kind, device_id, power_profile, record, segment_seconds, enabled, priority, created_at, updated_at) values ('bench', 'Bench', 'esp32', ?, 'battery', 0, 60, 1, 'normal', 0, 0)",
).run(deviceId);
db.close();

const hub = spawn(process.execPath, ['--max-semi-space-size=2', path.join(root, 'hub/dist/main.js')], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  createInterface({ input: hub.stdout }).on('line', (line) => {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'listening') resolve(entry.url);
    } catch {}
  });
  hub.once('exit', () => reject(new Error('hub exited')));
});

let counter = 0;
async function upload() {
  const form = new FormData();
  form.append('photo', new Blob([jpeg], { type: 'image/jpeg' }), 'p.jpg');
  form.append(
    'meta',
    JSON.stringify({ burstId: `b${++counter}`, seq: 0, capturedAt: Date.now(), wakeReason: 'timer' }),
  );
  const response = await fetch(`${url}/api/device/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`upload answered ${response.status}`);
}

let written = 0;
async function durableWrite() {
  const dir = path.join(nas, 'baseline', String(written % 20));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${++written}.jpg`);
  const handle = await open(file, 'wx');
  await handle.writeFile(jpeg);
  await handle.sync();
  await handle.close();
  const folder = await open(dir, 'r');
  await folder.sync();
  await folder.close();
}

async function rate(operation, total, concurrency) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await operation();
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** User + system CPU seconds of a process and its threads (/proc/<pid>/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

const round = (n) => Number(n.toFixed(2));
await rate(upload, 20, 2); // warm-up
const results = {};
for (const concurrency of [1, 8]) {
  const baseline = await rate(durableWrite, UPLOADS, concurrency);
  const hubCpuBefore = cpuSeconds(hub.pid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  const ingest = await rate(upload, UPLOADS, concurrency);
  const wall = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientCpuBefore);
  results[`concurrency${concurrency}`] = {
    uploadsPerSecond: round(ingest),
    baselineWritesPerSecond: round(baseline),
    ratio: round(ingest / baseline),
    // Where the cores went during the uploads (1.0 = one core busy the whole time).
    hubCores: round((cpuSeconds(hub.pid) - hubCpuBefore) / wall),
    clientCores: round((client.user + client.system) / 1e6 / wall),
  };
}
let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssMb(hub.pid));
}, 100);
const before = rssMb(hub.pid);
await rate(upload, RSS_UPLOADS, 8);
clearInterval(sampler);
const after = rssMb(hub.pid);
hub.kill('SIGTERM');
await new Promise((resolve) => hub.once('exit', resolve));
rmSync(work, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      jpegBytes: jpeg.length,
      uploads: UPLOADS,
      ...results,
      rss: { uploads: RSS_UPLOADS, beforeMb: round(before), peakMb: round(peak), afterMb: round(after) },
    },
    null,
    2,
  ),
);
const ok = results.concurrency1.ratio >= 0.5 && results.concurrency8.ratio >= 0.5;
console.log(`goal: ingest >= 0.5 x the bare durable write (${ok ? 'met' : 'MISSED'})`);
