#!/usr/bin/env node
// Person-detection evaluation: the hub's camera-event pipeline (compiled hub) over a labelled folder of videos —
// `positive/` (a person appears) and `negative/` (nobody does), any video ffmpeg reads — and prints each
// scene's outcome, then precision, recall, false alarms per hour of negative video and latency.
//
// What runs is the hub's own code: frames sampled as the sampler does (ffmpeg `fps=2`, area-scaled to at most
// 640 px, the grey thumbnail for motion), the real motion gate with the hub's default settings, the real
// inference service (worker thread, wasm, centernet) and the real detection service (its tracker opens an
// event after `minHits` (2) frames above the minimum score, writes the snapshot and the event row into a
// throwaway SQLite database). Two differences from a live camera, both on purpose: frames are stamped with
// the video's own time (so a scene is evaluated faster than real time), and each frame waits for its answer
// (nothing is dropped: this measures the detector and the rules, `bench:ai` measures throughput). The gate's
// rule that an event in progress keeps the detector on is the service's, reproduced here in one line
// because the sampler that applies it is not in this loop.
//
// A scene counts as "person" when at least one person event opens in it; every person event opened in a
// negative scene is one false alarm. Latency: from the second the person enters (labels.json) to the frame
// that opened the event, in video seconds; plus the detector's ms per frame it analysed.
// Without --set it generates a seeded set into a temporary folder (bench/eval/generate-scenes.mjs, ffmpeg)
// and removes it afterwards: that set tests the pipeline, not real-world accuracy. A household points --set
// at its own clips (labels.json with {"scenes": {"positive/x.mp4": {"enter": s}}} is optional: latency only).
// Run: npm run eval:detect [-- --set DIR] [-- --seed N --positives N --negatives N --seconds S]
//      (run `npm run build` first)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateScenes } from './generate-scenes.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (file) => import(path.join(root, 'hub/dist', file));
const { aiConfigSchema } = await dist('ai/ai.config.js');
const { createMotionGate, greyThumbnail } = await dist('ai/frames/motion.js');
const { createInferencePool } = await dist('ai/inference/pool.js');
const { householdLabel } = await dist('ai/inference/labels.js');
const { createDetectionService } = await dist('ai/detections/detections.service.js');
const { PnmStreamParser } = await dist('media/frame-decoder.js');
const { openDatabase, closeDatabase } = await dist('db/client.js');
const { EventBus } = await dist('events/bus.js');
const { createLogger } = await dist('log/logger.js');
const { systemClock } = await dist('clock.js');

const { values } = parseArgs({
  options: {
    set: { type: 'string' },
    seed: { type: 'string', default: '21' },
    positives: { type: 'string', default: '8' },
    negatives: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '16' },
    quiet: { type: 'boolean', default: false },
  },
});

const round = (n, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-eval-detect-'));
let set = values.set;
if (!set) {
  set = path.join(work, 'set');
  const t0 = performance.now();
  generateScenes({
    out: set,
    seed: Number(values.seed),
    positives: Number(values.positives),
    negatives: Number(values.negatives),
    seconds: Number(values.seconds),
  });
  console.error(`generated set (seed ${values.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const labelsFile = path.join(set, 'labels.json');
const labels = existsSync(labelsFile) ? JSON.parse(readFileSync(labelsFile, 'utf8')).scenes : {};

const scenes = ['positive', 'negative'].flatMap((label) => {
  let names = [];
  try {
    names = readdirSync(path.join(set, label)).sort();
  } catch {}
  return names
    .filter((name) => !name.startsWith('.'))
    .map((name) => ({ label, name: `${label}/${name}`, file: path.join(set, label, name) }));
});
if (!scenes.some((s) => s.label === 'positive') || !scenes.some((s) => s.label === 'negative')) {
  console.error(`${set} needs videos in both positive/ and negative/`);
  process.exit(2);
}

// The hub's defaults, as a fresh installation has them.
const config = aiConfigSchema.parse({}).detections;
const SAMPLE_MS = 1000 / config.sampler.fps;

/** The scene's frames as the sampler would hand them over: RGB at the sampling rate, ≤ maxWidth wide. */
async function* sampledFrames(file) {
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-v', 'error', '-nostdin', '-i', file, '-an'],
      ...['-vf', `fps=${config.sampler.fps},scale='min(${config.sampler.maxWidth},iw)':-2:flags=area`],
      ...['-pix_fmt', 'rgb24', '-vcodec', 'ppm', '-f', 'image2pipe', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => ffmpeg.once('close', resolve));
  const parser = new PnmStreamParser(16 << 20);
  for await (const chunk of ffmpeg.stdout) for (const frame of parser.push(chunk)) yield frame;
  if ((await exited) !== 0) throw new Error(`ffmpeg could not decode ${file}: ${stderr}`);
}

const db = openDatabase(path.join(work, 'hub.db'));
const log = createLogger('silent');
/** Per camera (one per scene): the answer the scene is waiting for. */
const waiting = new Map();
const pool = createInferencePool({
  config: { backend: 'wasm', workers: 2 },
  models: ['objects'],
  clock: systemClock,
  log,
  onResult: (result) => waiting.get(result.job.cameraId)?.(result),
});
await pool.start();
const health = pool.health();
if (health.state !== 'ready') {
  console.error(`the inference service did not start: ${health.error}`);
  process.exit(1);
}

let detectorMs = 0;
let detectorFrames = 0;

async function evaluate(scene, index) {
  const cameraId = `scene-${index}`;
  const now = Date.now();
  db.$client
    .prepare(
      'insert into cameras (id, name, kind, source_url, created_at, updated_at) values (?, ?, ?, ?, ?, ?)',
    )
    .run(cameraId, scene.name, 'rtsp', `file://${scene.file}`, now, now);
  const camera = {
    id: cameraId,
    name: scene.name,
    kind: 'rtsp',
    sourceUrl: `file://${scene.file}`,
    record: true,
    enabled: true,
  };
  // The service's clock is the video's: its idle rule (closeAfterSeconds) runs on the scene's own time.
  let videoAt = 0;
  const opened = [];
  let lastPersonAt = null;
  const service = createDetectionService({
    db,
    clock: { now: () => videoAt },
    bus: new EventBus(systemClock, 100),
    log,
    dataDir: work,
    config,
    pool: { submit: () => {} },
    cameras: {
      listForRecording: () => [camera],
      onChange: () => () => {},
    },
    // Frames come from this loop, not from a live fan-out: the service's sampler is given none.
    frameSource: () => ({ kind: 'h264', subscribe: () => ({ unsubscribe() {}, gop: [] }), init: () => null }),
    signal: (_camera, signal) => opened.push({ kind: signal.kind, score: signal.value, openedAt: videoAt }),
  });
  service.start();
  const gate = createMotionGate(config.motion);
  let sampled = 0;
  let gated = 0;
  let seq = 0;
  for await (const frame of sampledFrames(scene.file)) {
    videoAt = seq * SAMPLE_MS;
    seq += 1;
    sampled += 1;
    service.tick();
    const motion = gate.push(greyThumbnail(frame, config.sampler.greyWidth), videoAt);
    // detections.service: "an open (or confirming) event keeps the detector on" until closeAfterSeconds.
    const tracking = lastPersonAt !== null && videoAt - lastPersonAt <= config.closeAfterSeconds * 1000;
    if (!motion.motion && !tracking) continue;
    gated += 1;
    const image = { width: frame.width, height: frame.height, pixels: frame.pixels };
    const result = await new Promise((resolve) => {
      waiting.set(cameraId, resolve);
      pool.submit({ cameraId, at: Date.now(), model: 'objects', image });
    });
    detectorMs += result.ms;
    detectorFrames += 1;
    const at = videoAt;
    if (
      result.output.objects.some((o) => {
        const label = householdLabel(o.label);
        return label !== null && o.score >= config.minScore[label];
      })
    )
      lastPersonAt = at;
    service.onResult({ ...result, job: { ...result.job, at } });
  }
  waiting.delete(cameraId);
  service.stop();
  const seconds = seq * (SAMPLE_MS / 1000);
  const people = opened.filter((e) => e.kind === 'person');
  const enter = labels[scene.name]?.enter;
  return {
    ...scene,
    seconds,
    sampled,
    gated,
    people: people.length,
    others: opened.filter((e) => e.kind !== 'person').map((e) => e.kind),
    bestScore: Math.max(0, ...people.map((e) => e.score)),
    latency: people.length > 0 && enter !== undefined ? people[0].openedAt / 1000 - enter : null,
  };
}

const started = performance.now();
// Two scenes at a time, one per worker; each scene's frames in order.
const results = new Array(scenes.length);
let next = 0;
await Promise.all(
  [0, 1].map(async () => {
    while (next < scenes.length) {
      const index = next++;
      results[index] = await evaluate(scenes[index], index);
      const r = results[index];
      const correct = r.people > 0 === (r.label === 'positive');
      if (!values.quiet || !correct)
        console.log(
          [
            correct ? 'ok  ' : 'MISS',
            r.label.padEnd(8),
            `${r.people} person event(s)`.padEnd(19),
            r.people ? `score ${r.bestScore.toFixed(2)}` : '          ',
            r.latency !== null ? `after ${r.latency.toFixed(1)} s` : '             ',
            `gated ${r.gated}/${r.sampled}`.padEnd(12),
            r.others.length ? `other events: ${r.others.join(',')}` : '',
            r.name,
          ].join('  '),
        );
    }
  }),
);
const wallSeconds = (performance.now() - started) / 1000;
await pool.close();
closeDatabase(db);

const positives = results.filter((r) => r.label === 'positive');
const negatives = results.filter((r) => r.label === 'negative');
const truePositives = positives.filter((r) => r.people > 0).length;
const falsePositiveScenes = negatives.filter((r) => r.people > 0).length;
const falseAlarms = negatives.reduce((n, r) => n + r.people, 0);
const negativeSeconds = negatives.reduce((n, r) => n + r.seconds, 0);
const latencies = positives.map((r) => r.latency).filter((l) => l !== null);
const gatedShare = (list) =>
  round(list.reduce((n, r) => n + r.gated, 0) / list.reduce((n, r) => n + r.sampled, 0));
const byKind = {};
for (const r of negatives) {
  const kind = labels[r.name]?.kind ?? 'unlabelled';
  byKind[kind] ??= { scenes: 0, falseAlarms: 0, gated: 0, sampled: 0 };
  byKind[kind].scenes += 1;
  byKind[kind].falseAlarms += r.people;
  byKind[kind].gated += r.gated;
  byKind[kind].sampled += r.sampled;
}
const summary = {
  set: values.set ? set : `generated (seed ${values.seed}, removed afterwards)`,
  pipeline: {
    backend: health.backend,
    sampleFps: config.sampler.fps,
    minHits: config.minHits,
    minScorePerson: config.minScore.person,
    motion: {
      pixelThreshold: config.motion.pixelThreshold,
      minChangedFraction: config.motion.minChangedFraction,
    },
  },
  positives: positives.length,
  negatives: negatives.length,
  truePositives,
  falsePositiveScenes,
  precision: round(truePositives / (truePositives + falsePositiveScenes)),
  recall: round(truePositives / positives.length),
  falseAlarms,
  negativeHours: round(negativeSeconds / 3600, 4),
  falseAlarmsPerHour: round(falseAlarms / (negativeSeconds / 3600), 1),
  latencySeconds: latencies.length
    ? {
        mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 2),
        max: round(Math.max(...latencies), 2),
      }
    : null,
  gatedShare: { positive: gatedShare(positives), negative: gatedShare(negatives) },
  negativesByKind: byKind,
  detectorMsPerFrame: round(detectorMs / detectorFrames, 1),
  framesAnalysed: detectorFrames,
  wallSeconds: round(wallSeconds, 1),
};
rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify(summary, null, 2));
