#!/usr/bin/env node
// Recorded playback start over a 1-hour range, against opening one segment file, in the same run (the ratio is
// what to compare across machines):
//   playback: GET playback.m3u8 (1 h: 360 segments of 10 s) → GET the first EXT-X-MAP range → GET the first
//             media range → first frame decoded by ffmpeg from init+media, as a player's first step;
//   baseline: GET /api/segments/<id>/file (the whole first file) → the same first-frame decode.
// Both go through the real compiled hub (HTTP, session cookie, NAS reads through the fs worker). The index
// holds 360 rows pointing at hard links of 6 real ffmpeg segments, so the database and files are real
// without encoding an hour of video.
// Run: npm run build -w hub && npm run bench:playback
import { execFile, spawn } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => import(path.join(root, 'hub/dist', file));
const { loadConfig } = await dist('config/load.js');
const { createHub } = await dist('hub.js');
const { createLogger } = await dist('log/logger.js');
const { probeSegment } = await dist('media/index.js');
const { MARKER_NAME } = await dist('storage/index.js');
const { parseSegmentName, segmentRelPath } = await dist('recording/segment-names.js');
const { segmentFromProbe } = await dist('recording/segments.repo.js');

const run = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 30);
const SEGMENT_S = 10; // the demo cameras' length: the most rows an hour can have
const ROWS = 3600 / SEGMENT_S;
const REAL_FILES = 6;
const CAMERA = 'bench';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-playback-'));
const dataDir = path.join(dir, 'data');
const nasDir = path.join(dataDir, 'nas');
const made = path.join(dir, 'made');
mkdirSync(made, { recursive: true });
mkdirSync(nasDir, { recursive: true });
// A plain folder stands in for the NAS; the marker is what the guard checks before calling it healthy.
writeFileSync(path.join(nasDir, MARKER_NAME), '');

// 1. Real segments, in the recorder's format (fragmented MP4, 1 s GOP, timestamps reset per file), 640x480 @
//    10 fps as the demo cameras record.
const t0 = performance.now();
await run('ffmpeg', [
  ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=10'],
  ...[
    '-t',
    String(REAL_FILES * SEGMENT_S),
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
  ],
  ...['-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-f', 'segment', '-segment_format', 'mp4'],
  ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'],
  ...['-segment_time', String(SEGMENT_S), '-reset_timestamps', '1', path.join(made, 'seg_%03d.mp4')],
]);
const files = readdirSync(made)
  .sort()
  .map((name) => path.join(made, name));
const probes = await Promise.all(files.map((file) => probeSegment(file)));

// 2. A hub on this data folder, one camera, one hour of rows (hard links into the NAS layout), one viewer.
const config = loadConfig(
  {},
  {
    dataDir,
    nasDir,
    demo: false,
    storage: { requireNasMount: false },
    server: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
  },
);
const hub = createHub({ config, log: createLogger('silent') });
hub.cameras.create({ id: CAMERA, name: 'Bench', kind: 'demo', record: false });
const hourStart = Date.UTC(2026, 5, 1, 12);
for (let i = 0; i < ROWS; i++) {
  const startAt = hourStart + i * SEGMENT_S * 1000;
  const stamp = new Date(startAt).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  const fileName = `${CAMERA}_${stamp}.mp4`;
  const name = parseSegmentName(fileName);
  const relPath = segmentRelPath(fileName, name);
  mkdirSync(path.dirname(path.join(nasDir, relPath)), { recursive: true });
  linkSync(files[i % files.length], path.join(nasDir, relPath));
  hub.segments.insert(
    segmentFromProbe(name, probes[i % files.length], { location: 'nas', relPath }, Date.now()),
  );
}
const { url } = await hub.start();
await hub.users.create({ username: 'bench-viewer', password: 'bench-password-1', role: 'viewer' });
const login = await fetch(`${url}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: url },
  body: JSON.stringify({ username: 'bench-viewer', password: 'bench-password-1' }),
});
if (login.status !== 200) throw new Error(`login: ${login.status}`);
const cookie = login.headers.getSetCookie()[0].split(';')[0];
const firstId = hub.segments.listOverlapping(CAMERA, hourStart, hourStart + 1, 0)[0].id;
// The NAS guard's first check runs at start; file reads answer 503 until it has called the NAS healthy.
for (let i = 0; i < 100; i++) {
  const probe = await fetch(`${url}/api/segments/${firstId}/file`, {
    headers: { cookie, range: 'bytes=0-0' },
  });
  await probe.arrayBuffer();
  if (probe.status === 206) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const setupMs = performance.now() - t0;

async function get(pathname, range) {
  const response = await fetch(`${url}${pathname}`, { headers: range ? { cookie, range } : { cookie } });
  if (response.status !== (range ? 206 : 200))
    throw new Error(`${pathname} ${range ?? ''}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** ffmpeg decodes the first video frame from these bytes (piped, as a player holds them in memory). */
function firstFrameDecodes(bytes) {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-frames:v', '1', '-f', 'null', '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // ffmpeg exits after one frame, before reading all its input: EPIPE here is expected.
    child.stdin.on('error', () => {});
    child.stdin.end(bytes);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 && !stderr ? resolve() : reject(new Error(`ffmpeg ${code}: ${stderr}`)),
    );
  });
}

const from = hourStart;
const to = hourStart + 3600_000;
const playlistPath = `/api/cameras/${CAMERA}/playback.m3u8?from=${from}&to=${to}`;
let playlistBytes = 0;
let playlistEntries = 0;

/** Milliseconds from the first request until the bytes are in hand, and until a frame is decoded from them. */
async function playbackStart() {
  const started = performance.now();
  const text = (await get(playlistPath)).toString();
  playlistBytes = text.length;
  playlistEntries = text.split('\n').filter((line) => line.startsWith('/api/')).length;
  const [, mapUri, mapLength, mapOffset] = /^#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"$/m.exec(text);
  const [, length, offset, uri] = /^#EXT-X-BYTERANGE:(\d+)@(\d+)\n(.+)$/m.exec(text);
  const init = await get(mapUri, `bytes=${mapOffset}-${Number(mapOffset) + Number(mapLength) - 1}`);
  const media = await get(uri, `bytes=${offset}-${Number(offset) + Number(length) - 1}`);
  const bytesMs = performance.now() - started;
  await firstFrameDecodes(Buffer.concat([init, media]));
  return { bytesMs, frameMs: performance.now() - started };
}

async function openOneFile() {
  const started = performance.now();
  const file = await get(`/api/segments/${firstId}/file`);
  const bytesMs = performance.now() - started;
  await firstFrameDecodes(file);
  return { bytesMs, frameMs: performance.now() - started };
}

async function playlistOnly() {
  const started = performance.now();
  await get(playlistPath);
  return performance.now() - started;
}

const samples = { playback: [], baseline: [], playlist: [] };
for (let i = 0; i < 3; i++) {
  // Warm-up: the fs worker, ffmpeg's first start and the page cache, for both sides.
  await playbackStart();
  await openOneFile();
}
for (let i = 0; i < RUNS; i++) {
  // Alternating, so machine noise lands on both sides alike.
  samples.playback.push(await playbackStart());
  samples.baseline.push(await openOneFile());
  samples.playlist.push(await playlistOnly());
}
await hub.stop();
rmSync(dir, { recursive: true, force: true });

const quantile = (values, q) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))];
const round = (n) => Number(n.toFixed(1));
const p50 = (values) => quantile(values, 0.5);
const p90 = (values) => quantile(values, 0.9);
const frame = (side) => samples[side].map((sample) => sample.frameMs);
const bytes = (side) => samples[side].map((sample) => sample.bytesMs);
const result = {
  rangeHours: 1,
  segments: ROWS,
  playlistEntries,
  playlistKiB: round(playlistBytes / 1024),
  segmentMiB: round(probes[0].bytes / 1024 / 1024),
  runs: RUNS,
  setupSeconds: round(setupMs / 1000),
  playlistOnlyP50Ms: round(p50(samples.playlist)),
  // The headline: request to first decoded frame.
  playbackStartP50Ms: round(p50(frame('playback'))),
  playbackStartP90Ms: round(p90(frame('playback'))),
  openOneFileP50Ms: round(p50(frame('baseline'))),
  openOneFileP90Ms: round(p90(frame('baseline'))),
  ratioP50: Number((p50(frame('playback')) / p50(frame('baseline'))).toFixed(2)),
  // The same without the decode (one ffmpeg start, the same on both sides, is most of the figures above).
  playbackBytesP50Ms: round(p50(bytes('playback'))),
  openOneFileBytesP50Ms: round(p50(bytes('baseline'))),
  bytesRatioP50: Number((p50(bytes('playback')) / p50(bytes('baseline'))).toFixed(2)),
};
if (result.playlistEntries !== ROWS)
  throw new Error(`the playlist lists ${result.playlistEntries} of ${ROWS}`);
console.log(JSON.stringify(result, null, 2));
