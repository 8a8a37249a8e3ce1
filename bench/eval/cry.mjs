#!/usr/bin/env node
// Cry evaluation: runs the default cry detector (compiled hub) over a labelled folder — `positive/` and
// `negative/`, any audio ffmpeg can read, decoded to 16 kHz mono s16le as the node's microphone gives it —
// and prints each clip's decision, then precision, recall, false alarms per hour of negative audio and the
// detector's cost in ms per second of audio (decoding excluded).
// A clip counts as "crying" when the detector starts at least one episode in it; every episode started in a
// negative clip is one false alarm.
// Without --set it generates a seeded set into a temporary folder (bench/eval/generate-cry-set.mjs, sox and
// espeak-ng) and removes it afterwards: that set tests the pipeline, not real-world accuracy. A household
// points --set at its own clips.
// Run: npm run eval:cry [-- --set DIR] [-- --seed N --positives N --negatives N --seconds S]
//      (run `npm run build` first)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCrySet } from './generate-cry-set.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { analyseCry } = await import(path.join(root, 'hub/dist/ai/audio/cry-detector.js'));
const { pcmFromS16le, SAMPLE_RATE } = await import(path.join(root, 'hub/dist/ai/audio/features.js'));

const { values } = parseArgs({
  options: {
    set: { type: 'string' },
    seed: { type: 'string', default: '13' },
    positives: { type: 'string', default: '30' },
    negatives: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    quiet: { type: 'boolean', default: false },
  },
});

let set = values.set;
let generated = null;
if (!set) {
  generated = mkdtempSync(path.join(os.tmpdir(), 'hearth-eval-cry-'));
  set = generated;
  const t0 = performance.now();
  generateCrySet({
    out: set,
    seed: Number(values.seed),
    positives: Number(values.positives),
    negatives: Number(values.negatives),
    seconds: Number(values.seconds),
  });
  console.error(`generated set (seed ${values.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function decode(file) {
  const run = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(SAMPLE_RATE), '-'],
    { maxBuffer: 1 << 30 },
  );
  if (run.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${run.stderr}`);
  return pcmFromS16le(run.stdout);
}

const clips = ['positive', 'negative'].flatMap((label) => {
  let names = [];
  try {
    names = readdirSync(path.join(set, label)).sort();
  } catch {}
  return names
    .filter((name) => !name.startsWith('.'))
    .map((name) => ({ label, file: path.join(set, label, name) }));
});
if (!clips.some((c) => c.label === 'positive') || !clips.some((c) => c.label === 'negative')) {
  console.error(`${set} needs clips in both positive/ and negative/`);
  process.exit(2);
}

const tally = {
  positive: { clips: 0, hits: 0, seconds: 0 },
  negative: { clips: 0, hits: 0, seconds: 0, alarms: 0 },
};
let analysisMs = 0;
for (const clip of clips) {
  const samples = decode(clip.file);
  const t0 = performance.now();
  const result = analyseCry(samples);
  analysisMs += performance.now() - t0;
  const seconds = samples.length / SAMPLE_RATE;
  const detected = result.episodes.length > 0;
  const row = tally[clip.label];
  row.clips++;
  row.seconds += seconds;
  if (detected) row.hits++;
  if (clip.label === 'negative') row.alarms += result.episodes.length;
  const correct = detected === (clip.label === 'positive');
  if (!values.quiet || !correct)
    console.log(
      [
        correct ? 'ok  ' : 'MISS',
        clip.label.padEnd(8),
        (detected ? 'crying' : 'quiet').padEnd(6),
        `max p ${Math.max(0, ...result.windows.map((w) => w.probability)).toFixed(2)}`,
        `episodes ${result.episodes.length}`,
        path.relative(set, clip.file),
      ].join('  '),
    );
}

const { positive, negative } = tally;
const totalSeconds = positive.seconds + negative.seconds;
const round = (n, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const summary = {
  set: generated ? `generated (seed ${values.seed}, removed afterwards)` : set,
  positives: positive.clips,
  negatives: negative.clips,
  truePositives: positive.hits,
  falsePositiveClips: negative.hits,
  precision: round(positive.hits / (positive.hits + negative.hits)),
  recall: round(positive.hits / positive.clips),
  falseAlarms: negative.alarms,
  negativeHours: round(negative.seconds / 3600, 4),
  falseAlarmsPerHour: round(negative.alarms / (negative.seconds / 3600), 1),
  audioSeconds: round(totalSeconds, 1),
  msPerSecondOfAudio: round(analysisMs / totalSeconds, 2),
};
if (generated) rmSync(generated, { recursive: true, force: true });
console.log(JSON.stringify(summary, null, 2));
