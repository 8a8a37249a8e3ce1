#!/usr/bin/env node
// Cry evaluation: runs the default cry detector (compiled hub) over a labelled folder — `positive/` and
// `negative/`, any audio ffmpeg can read, decoded to 16 kHz mono s16le as the node's microphone gives it —
// and prints each clip's decision, then precision, recall, false alarms per hour of negative audio and the
// detector's cost in ms per second of audio (decoding excluded).
// A clip counts as "crying" when the detector starts at least one episode in it; every episode started in a
// negative clip is one false alarm.
// Beside it, the household-trained classifier (hub/src/ai/cry/classifier.ts, the code the hub trains with):
// trained on a second set (another seed, or --train-set DIR), then scored on the evaluation set with the
// threshold it picked from its training set, as the node scores a stream (hub/src/ai/cry/stream.ts, shared
// with node/src/audio): the last 3 s every second, crying after two hops in a row at the threshold. A clip
// counts as "crying" when that starts an episode in it; every episode started in a negative clip is one
// false alarm.
// Without --set it generates seeded sets into a temporary folder (bench/eval/generate-cry-set.mjs, sox and
// espeak-ng) and removes them afterwards: those sets test the pipeline, not real-world accuracy. A household
// points --set (and --train-set, for the classifier) at its own clips.
// Run: npm run eval:cry [-- --set DIR [--train-set DIR]] [-- --seed N --train-seed N --positives N --negatives N --seconds S]
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
const { windowFeatures, trainClassifier, hopProbabilities } = await import(
  path.join(root, 'hub/dist/ai/cry/classifier.js')
);
const { episodes } = await import(path.join(root, 'hub/dist/ai/cry/stream.js'));

const { values } = parseArgs({
  options: {
    set: { type: 'string' },
    'train-set': { type: 'string' },
    seed: { type: 'string', default: '13' },
    'train-seed': { type: 'string', default: '14' },
    positives: { type: 'string', default: '30' },
    negatives: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    quiet: { type: 'boolean', default: false },
  },
});

const round = (n, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const generated = [];
function generate(seed) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'hearth-eval-cry-'));
  generated.push(out);
  const t0 = performance.now();
  generateCrySet({
    out,
    seed: Number(seed),
    positives: Number(values.positives),
    negatives: Number(values.negatives),
    seconds: Number(values.seconds),
  });
  console.error(`generated set (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}
const set = values.set ?? generate(values.seed);
// The classifier learns from a set of its own; a household's --set alone gives only the detector's figures.
const trainSet = values['train-set'] ?? (values.set ? null : generate(values['train-seed']));

function decode(file) {
  const run = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(SAMPLE_RATE), '-'],
    { maxBuffer: 1 << 30 },
  );
  if (run.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${run.stderr}`);
  return pcmFromS16le(run.stdout);
}

function listClips(dir) {
  const clips = ['positive', 'negative'].flatMap((label) => {
    let names = [];
    try {
      names = readdirSync(path.join(dir, label)).sort();
    } catch {}
    return names
      .filter((name) => !name.startsWith('.'))
      .map((name) => ({ label, file: path.join(dir, label, name) }));
  });
  if (!clips.some((c) => c.label === 'positive') || !clips.some((c) => c.label === 'negative')) {
    console.error(`${dir} needs clips in both positive/ and negative/`);
    process.exit(2);
  }
  return clips;
}
const clips = listClips(set);

let classifier = null;
if (trainSet) {
  const t0 = performance.now();
  const training = listClips(trainSet).map((clip) => ({
    crying: clip.label === 'positive',
    features: windowFeatures(decode(clip.file)),
  }));
  const featuresMs = performance.now() - t0;
  const t1 = performance.now();
  const model = await trainClassifier(training);
  classifier = {
    model,
    trainClips: training.length,
    trainSeconds: round((featuresMs + performance.now() - t1) / 1000, 1),
    tally: {
      positive: { clips: 0, hits: 0, seconds: 0 },
      negative: { clips: 0, hits: 0, seconds: 0, alarms: 0 },
    },
    ms: 0,
  };
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
  let modelSays = '';
  let modelWrong = false;
  if (classifier) {
    const t1 = performance.now();
    const hops = hopProbabilities(classifier.model, windowFeatures(samples));
    classifier.ms += performance.now() - t1;
    const runs = episodes(hops, classifier.model.threshold);
    const row = classifier.tally[clip.label];
    row.clips++;
    row.seconds += seconds;
    if (runs > 0) row.hits++;
    if (clip.label === 'negative') row.alarms += runs;
    modelWrong = runs > 0 !== (clip.label === 'positive');
    modelSays = `model p ${Math.max(0, ...hops).toFixed(2)}${modelWrong ? ' (model wrong)' : ''}`;
  }
  const detected = result.episodes.length > 0;
  const row = tally[clip.label];
  row.clips++;
  row.seconds += seconds;
  if (detected) row.hits++;
  if (clip.label === 'negative') row.alarms += result.episodes.length;
  const correct = detected === (clip.label === 'positive');
  if (!values.quiet || !correct || modelWrong)
    console.log(
      [
        correct ? 'ok  ' : 'MISS',
        clip.label.padEnd(8),
        (detected ? 'crying' : 'quiet').padEnd(6),
        `max p ${Math.max(0, ...result.windows.map((w) => w.probability)).toFixed(2)}`,
        `episodes ${result.episodes.length}`,
        modelSays,
        path.relative(set, clip.file),
      ].join('  '),
    );
}

function figures({ positive, negative }, ms) {
  const totalSeconds = positive.seconds + negative.seconds;
  return {
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
    msPerSecondOfAudio: round(ms / totalSeconds, 2),
  };
}
const summary = {
  set: values.set ? set : `generated (seed ${values.seed}, removed afterwards)`,
  defaultDetector: figures(tally, analysisMs),
  householdClassifier: classifier
    ? {
        trainedOn: values['train-set'] ?? `generated (seed ${values['train-seed']}, removed afterwards)`,
        kind: classifier.model.kind,
        trainClips: classifier.trainClips,
        trainSeconds: classifier.trainSeconds,
        threshold: classifier.model.threshold,
        ...figures(classifier.tally, classifier.ms),
      }
    : 'not trained: give --train-set DIR (positive/, negative/) to train it',
};
for (const dir of generated) rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(summary, null, 2));
