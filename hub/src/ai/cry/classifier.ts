/**
 * The household-trained cry classifier: per-window summary features of the log-mel spectrogram and the
 * pitch track (features.ts), z-scored on the training set, and a small dense network (one hidden layer of 8
 * by default, or logistic regression) trained with TensorFlow.js on the cpu backend. The probability of some
 * audio is the best mean of two neighbouring windows (1.5 s): one cry burst is enough, one odd window is not.
 * On a stream (stream.ts) the node scores its last 3 s every second and needs two such hops in a row to call
 * crying; the threshold is chosen for exactly that, on clips the model did not learn from.
 *
 * Training is deterministic (seeded initialisation, full-batch Adam for a fixed number of epochs, folds by
 * position), so the same clips give the same file. Only the training uses tfjs; scoring is a plain forward
 * pass over the stored weights, so the reading path needs no backend and a model file is all a score
 * depends on.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { bursts, harmonicity } from '../audio/cry-detector.js';
import {
  defaultMel,
  energyDb,
  estimatePitch,
  FRAME_LENGTH,
  frameAt,
  frameCount,
  HOP_LENGTH,
  hannWindow,
  logMelSpectrogram,
  powerSpectrum,
  SAMPLE_RATE,
} from '../audio/features.js';
import { CRY_STREAM, type CryStream, episodes, sustainedProbability } from './stream.js';

/**
 * The first feature spec: 85 numbers a window. Kept because its models stay usable: they are the first 85
 * of the current spec's numbers, computed exactly as before.
 */
export const FEATURE_SPEC_V1 = {
  name: 'mel40-summary',
  version: 1,
  sampleRate: SAMPLE_RATE,
  frameLength: FRAME_LENGTH,
  hopLength: HOP_LENGTH,
  bands: defaultMel.bands,
  minHz: defaultMel.minHz,
  maxHz: defaultMel.maxHz,
  windowMs: 1_000,
  windowHopMs: 500,
  /** Pitch on every second frame (it is most of the cost), only for frames above `pitchMinLevelDb`. */
  pitchEveryFrames: 2,
  pitchMinLevelDb: -60,
  voicedClarity: 0.7,
  /** 40 band means (minus the frame's mean: gain does not matter), 40 band deviations, level spread, 4 pitch. */
  dims: 85,
} as const;

/**
 * What this hub computes as a model's input: the first spec's 85 numbers, then five that describe a cry's
 * voice rather than its spectrum — how many harmonics the voiced frames carry and how much of their energy
 * lies on them (a whistle is one pure tone), the longest voiced run and the number of runs in the window (a
 * cry is long bursts, a laugh or speech short syllables), and how far the pitch moves from one analysed
 * frame to the next. All of them look only inside their own window, so a window's numbers are the same
 * whether it is computed from a whole clip or from the node's last few seconds.
 */
export const FEATURE_SPEC = {
  ...FEATURE_SPEC_V1,
  version: 2,
  /** Unvoiced gaps bridged inside one voiced run (a crack in the voice is not a new syllable). */
  runBridgeMs: 40,
  dims: 90,
} as const;
export type FeatureSpec = typeof FEATURE_SPEC | typeof FEATURE_SPEC_V1;

const FRAMES_PER_WINDOW = FEATURE_SPEC.windowMs / 10;
const FRAMES_PER_HOP = FEATURE_SPEC.windowHopMs / 10;

/** One feature vector per 1 s window, every 0.5 s; a clip shorter than a window gives none. */
export function windowFeatures(samples: Float32Array): number[][] {
  const mels = logMelSpectrogram(samples);
  const count = Math.min(mels.length, frameCount(samples.length));
  const voiced: (number | null)[] = new Array(count).fill(null);
  const clarity: number[] = new Array(count).fill(0);
  const harmonics: { share: number; count: number }[] = [];
  /** Per 10 ms frame: an analysed frame's verdict stands for the frame after it too. */
  const voicedFrames: boolean[] = new Array(count).fill(false);
  const hann = hannWindow(FRAME_LENGTH);
  for (let i = 0; i < count; i += FEATURE_SPEC.pitchEveryFrames) {
    const frame = frameAt(samples, i);
    if (energyDb(frame) < FEATURE_SPEC.pitchMinLevelDb) continue;
    const pitch = estimatePitch(frame);
    if (!pitch) continue;
    clarity[i] = pitch.clarity;
    if (pitch.clarity < FEATURE_SPEC.voicedClarity) continue;
    voiced[i] = Math.log2(pitch.hz / 440);
    harmonics[i] = harmonicity(powerSpectrum(frame, hann), pitch.hz);
    for (let f = i; f < Math.min(count, i + FEATURE_SPEC.pitchEveryFrames); f++) voicedFrames[f] = true;
  }
  const bands = FEATURE_SPEC.bands;
  const out: number[][] = [];
  for (let start = 0; start + FRAMES_PER_WINDOW <= count; start += FRAMES_PER_HOP) {
    const shape = new Float64Array(bands);
    const sum = new Float64Array(bands);
    const squares = new Float64Array(bands);
    const levels: number[] = [];
    for (let f = start; f < start + FRAMES_PER_WINDOW; f++) {
      const mel = mels[f]!;
      let level = 0;
      for (let b = 0; b < bands; b++) level += mel[b]!;
      level /= bands;
      levels.push(level);
      for (let b = 0; b < bands; b++) {
        shape[b]! += mel[b]! - level;
        sum[b]! += mel[b]!;
        squares[b]! += mel[b]! * mel[b]!;
      }
    }
    const n = FRAMES_PER_WINDOW;
    const row: number[] = [];
    for (let b = 0; b < bands; b++) row.push(shape[b]! / n);
    for (let b = 0; b < bands; b++) row.push(Math.sqrt(Math.max(0, squares[b]! / n - (sum[b]! / n) ** 2)));
    levels.sort((a, b) => a - b);
    row.push(levels[Math.floor(n * 0.9)]! - levels[Math.floor(n * 0.1)]!);
    let analysed = 0;
    const pitches: number[] = [];
    let clear = 0;
    let harmonicCount = 0;
    let harmonicShare = 0;
    let steps = 0;
    let moved = 0;
    for (let f = start; f < start + FRAMES_PER_WINDOW; f += FEATURE_SPEC.pitchEveryFrames) {
      analysed++;
      const p = voiced[f];
      if (p === null || p === undefined) continue;
      pitches.push(p);
      clear += clarity[f]!;
      harmonicCount += harmonics[f]!.count;
      harmonicShare += harmonics[f]!.share;
      const previous = f > start ? voiced[f - FEATURE_SPEC.pitchEveryFrames] : null;
      if (previous !== null && previous !== undefined) {
        steps++;
        moved += Math.abs(p - previous);
      }
    }
    const mean = pitches.length ? pitches.reduce((a, b) => a + b, 0) / pitches.length : 0;
    const spread = pitches.length
      ? Math.sqrt(pitches.reduce((a, b) => a + (b - mean) ** 2, 0) / pitches.length)
      : 0;
    row.push(pitches.length / analysed, mean, spread, pitches.length ? clear / pitches.length : 0);
    const runs = bursts(voicedFrames.slice(start, start + FRAMES_PER_WINDOW), {
      bridgeMs: FEATURE_SPEC.runBridgeMs,
    });
    const per = (total: number) => (pitches.length ? total / pitches.length : 0);
    row.push(
      per(harmonicCount),
      per(harmonicShare),
      Math.max(0, ...runs.map((run) => run.end - run.start)) / n,
      runs.length,
      steps ? moved / steps : 0,
    );
    out.push(row);
  }
  return out;
}

export interface DenseLayer {
  /** [inputs][outputs]. */
  weights: number[][];
  bias: number[];
  activation: 'relu' | 'sigmoid';
}

/**
 * z-scores of the training windows; `min`/`max` (absent from models of the first format) the range those
 * windows spanned. A score clamps each number to it first: a sound unlike any the model learnt from (a
 * whistle far into one band) must not count as ever more crying-like the further it lies outside.
 */
export interface Normalisation {
  mean: number[];
  std: number[];
  min?: number[];
  max?: number[];
}

export interface TrainedClassifier {
  kind: string;
  normalisation: Normalisation;
  layers: DenseLayer[];
  /** Crying after `onHops` hops in a row at or above this probability (stream.ts). */
  threshold: number;
}

/** Per step of 0.5 s, the mean of two neighbouring windows' probabilities (a one-window clip: that window). */
function smoothedProbabilities(model: TrainedClassifier, features: number[][]): number[] {
  const p = features.map((row) => forward(model, row));
  if (p.length <= 1) return p;
  return p.slice(1).map((value, i) => (p[i]! + value) / 2);
}

/** The best of the smoothed probabilities: one cry burst is enough, one odd window is not. */
export function clipProbability(model: TrainedClassifier, features: number[][]): number {
  return Math.max(0, ...smoothedProbabilities(model, features));
}

/** A model of an earlier spec reads the first of the numbers (each spec extends the one before). */
function forward(model: TrainedClassifier, row: number[]): number {
  const { mean, std, min, max } = model.normalisation;
  let x = mean.map((m, i) => {
    const value = min && max ? Math.min(max[i]!, Math.max(min[i]!, row[i]!)) : row[i]!;
    return (value - m) / std[i]!;
  });
  for (const layer of model.layers) {
    const y = layer.bias.slice();
    for (let i = 0; i < x.length; i++) {
      const w = layer.weights[i]!;
      for (let j = 0; j < y.length; j++) y[j]! += x[i]! * w[j]!;
    }
    x = layer.activation === 'relu' ? y.map((v) => Math.max(0, v)) : y.map((v) => 1 / (1 + Math.exp(-v)));
  }
  return x[0]!;
}

/** Windows the node's context holds. */
function contextWindows(contextMs: number): number {
  const frames = frameCount((contextMs * SAMPLE_RATE) / 1000);
  return frames < FRAMES_PER_WINDOW ? 0 : Math.floor((frames - FRAMES_PER_WINDOW) / FRAMES_PER_HOP) + 1;
}

/**
 * The probability the node gives at each hop of a clip, from the clip's windows: the hop ending at t scores
 * the windows of [t − contextMs, t), which are exactly the windows the node computes from those seconds
 * (every window's numbers come from its own frames). A clip shorter than one context is one hop.
 */
export function hopProbabilities(
  model: TrainedClassifier,
  windows: number[][],
  stream: CryStream = CRY_STREAM,
): number[] {
  const { windowHopMs } = FEATURE_SPEC;
  if (stream.hopMs % windowHopMs !== 0 || stream.contextMs % windowHopMs !== 0)
    throw new Error(`the hop and the context must be whole multiples of ${windowHopMs} ms`);
  const span = contextWindows(stream.contextMs);
  if (span === 0 || windows.length < span) return windows.length ? [clipProbability(model, windows)] : [];
  const out: number[] = [];
  for (let end = Math.max(stream.contextMs, stream.hopMs); ; end += stream.hopMs) {
    const from = (end - stream.contextMs) / windowHopMs;
    if (from + span > windows.length) return out;
    out.push(clipProbability(model, windows.slice(from, from + span)));
  }
}

/** Crying, for a threshold, when the node would start an episode in it: see `sustainedProbability`. */
export const streamProbability = (model: TrainedClassifier, windows: number[][]) =>
  sustainedProbability(hopProbabilities(model, windows));

export interface TrainingClip {
  features: number[][];
  crying: boolean;
}

export interface TrainOptions {
  /**
   * Units of the one hidden layer; 0 is logistic regression. A hidden layer, because a sum of evidence cannot
   * say "energy where a cry's harmonics lie counts only when the voice has harmonics": a kettle's whistle
   * in that band outweighed its single harmonic in a logistic regression.
   */
  hidden: number;
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
  /** The threshold comes from this many models, each scoring the clips it did not learn from. */
  folds: number;
  /** The budget the threshold keeps on those clips: false alarms per hour of "not crying" audio. */
  falseAlarmsPerHour: number;
}
export const defaultTrainOptions: TrainOptions = {
  hidden: 8,
  epochs: 300,
  learningRate: 0.03,
  l2: 1e-3,
  seed: 1,
  folds: 4,
  falseAlarmsPerHour: 2,
};

/** mulberry32: the seeded initial weights. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

let backendReady: Promise<typeof TfCore> | undefined;
/** Loaded on the first training only: scoring (the hub's readings, the node's microphone) never needs tfjs. */
function cpuBackend(): Promise<typeof TfCore> {
  backendReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    // PROD: no "install tfjs-node" banner and no debug checks; the data is tiny, so cpu is enough.
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    return tf;
  })();
  return backendReady;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** tfjs variables live in one global registry by name: two trainings at once need distinct names. */
let trainings = 0;

/**
 * Trains on every clip, and picks the threshold from `folds` more models, each trained without one stretch
 * of each label's clips (in the order given: recording order, so snippets of one evening stay together) and
 * scoring that stretch as the node would (hops, the switch); the threshold keeps the false-alarm budget on
 * those scores (chooseThreshold). A threshold picked on the clips a model learnt from sits just above
 * negatives it fits too well; on clips it has not seen it is where a new evening's sounds will land.
 * Stretches rather than every n-th clip: clips that come in a repeating order would otherwise leave a fold
 * without any of one kind of sound. With fewer than two clips of a label there are no folds, and the
 * training clips' own scores decide.
 */
export async function trainClassifier(
  clips: TrainingClip[],
  input: Partial<TrainOptions> = {},
): Promise<TrainedClassifier & { normalisation: Required<Normalisation>; loss: number; windows: number }> {
  const options = { ...defaultTrainOptions, ...input };
  const fitted = await fit(clips, options);
  const folds = Math.min(
    options.folds,
    ...[true, false].map((crying) => clips.filter((clip) => clip.crying === crying).length),
  );
  const scored: ScoredClip[] = [];
  if (folds < 2) for (const clip of clips) scored.push(scoredClip(fitted.model, clip));
  else {
    const fold = new Map<TrainingClip, number>();
    for (const crying of [true, false]) {
      const ofLabel = clips.filter((clip) => clip.crying === crying);
      for (const [index, clip] of ofLabel.entries())
        fold.set(clip, Math.floor((index * folds) / ofLabel.length));
    }
    for (let k = 0; k < folds; k++) {
      const { model } = await fit(
        clips.filter((clip) => fold.get(clip) !== k),
        options,
      );
      for (const clip of clips) if (fold.get(clip) === k) scored.push(scoredClip(model, clip));
    }
  }
  return {
    ...fitted.model,
    threshold: chooseThreshold(scored, options.falseAlarmsPerHour),
    loss: fitted.loss,
    windows: fitted.windows,
  };
}

export interface ScoredClip {
  hops: number[];
  crying: boolean;
  seconds: number;
}

const scoredClip = (model: TrainedClassifier, clip: TrainingClip): ScoredClip => ({
  hops: hopProbabilities(model, clip.features),
  crying: clip.crying,
  // The audio its windows cover: windows of 1 s every 0.5 s.
  seconds: clip.features.length
    ? ((clip.features.length - 1) * FEATURE_SPEC.windowHopMs + FEATURE_SPEC.windowMs) / 1000
    : 0,
});

/**
 * Fits the network to every window of the clips (each window labelled as its clip), each label weighing half
 * the loss whatever the counts. Gradients are written out by hand: the node build of tfjs-core registers no
 * gradient functions (they live in its ES module tree, which Node cannot load), and for a dense network they
 * are a few lines; Adam itself is tfjs's.
 */
async function fit(
  clips: TrainingClip[],
  options: TrainOptions,
): Promise<{
  model: TrainedClassifier & { normalisation: Required<Normalisation> };
  loss: number;
  windows: number;
}> {
  const tf = await cpuBackend();
  const rows = clips.flatMap((clip) => clip.features);
  const labels = clips.flatMap((clip) => clip.features.map(() => (clip.crying ? 1 : 0)));
  const dims = rows[0]?.length ?? 0;
  if (rows.length === 0 || dims === 0) throw new Error('no training windows');
  const mean = Array.from({ length: dims }, (_, d) => rows.reduce((s, r) => s + r[d]!, 0) / rows.length);
  const std = mean.map((m, d) => {
    const sd = Math.sqrt(rows.reduce((s, r) => s + (r[d]! - m) ** 2, 0) / rows.length);
    return sd > 1e-6 ? sd : 1;
  });
  const positives = labels.filter((l) => l === 1).length;
  const negatives = labels.length - positives;
  const weights = labels.map((l) => (l === 1 ? 0.5 / Math.max(1, positives) : 0.5 / Math.max(1, negatives)));
  const random = seeded(options.seed);
  const glorot = (inputs: number, outputs: number) => {
    const limit = Math.sqrt(6 / (inputs + outputs));
    return Array.from({ length: inputs * outputs }, () => (random() * 2 - 1) * limit);
  };
  const prefix = `cry${++trainings}`;
  const sizes = options.hidden > 0 ? [dims, options.hidden, 1] : [dims, 1];
  const vars: { w: TfCore.Variable; b: TfCore.Variable }[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [inputs, outputs] = [sizes[l]!, sizes[l + 1]!];
    // The last layer starts at zero: a logistic regression's loss is convex, and a hidden layer's output
    // needs no symmetry breaking.
    const init = l + 2 < sizes.length ? glorot(inputs, outputs) : new Array(inputs * outputs).fill(0);
    vars.push({
      w: tf.variable(tf.tensor2d(init, [inputs, outputs]), true, `${prefix}w${l}`),
      b: tf.variable(tf.zeros([outputs]), true, `${prefix}b${l}`),
    });
  }
  const x = tf.tensor2d(rows.map((r) => r.map((v, d) => (v - mean[d]!) / std[d]!)));
  const y = tf.tensor2d(labels, [labels.length, 1]);
  const sw = tf.tensor2d(weights, [weights.length, 1]);
  const optimizer = tf.train.adam(options.learningRate);
  let loss = Number.NaN;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const step = tf.tidy(() => {
        const activations: TfCore.Tensor2D[] = [x];
        const pre: TfCore.Tensor2D[] = [];
        vars.forEach((v, l) => {
          const z = tf.add(tf.matMul(activations[l]!, v.w as TfCore.Tensor2D), v.b) as TfCore.Tensor2D;
          pre.push(z);
          activations.push(l + 1 < vars.length ? tf.relu(z) : tf.sigmoid(z));
        });
        const p = activations[activations.length - 1]!;
        const clipped = tf.clipByValue(p, 1e-7, 1 - 1e-7);
        const bce = tf.neg(
          tf.add(tf.mul(y, tf.log(clipped)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, clipped)))),
        );
        const value = tf.sum(tf.mul(bce, sw));
        // d(weighted BCE)/dz of the sigmoid output is (p − y)·weight.
        let delta: TfCore.Tensor2D = tf.mul(tf.sub(p, y), sw);
        const grads: { name: string; tensor: TfCore.Tensor }[] = [];
        for (let l = vars.length - 1; l >= 0; l--) {
          const v = vars[l]!;
          grads.push(
            {
              name: v.w.name,
              tensor: tf.add(tf.matMul(activations[l]!, delta, true, false), tf.mul(options.l2, v.w)),
            },
            { name: v.b.name, tensor: tf.sum(delta, 0) },
          );
          if (l > 0)
            delta = tf.mul(
              tf.matMul(delta, v.w as TfCore.Tensor2D, false, true),
              tf.cast(tf.greater(pre[l - 1]!, 0), 'float32'),
            );
        }
        optimizer.applyGradients(grads);
        return value;
      });
      if (epoch === options.epochs - 1) loss = (await step.data())[0]!;
      step.dispose();
      // A few ms per epoch: give the hub's event loop a turn now and then.
      if (epoch % 25 === 24) await yieldToLoop();
    }
    const layers: DenseLayer[] = [];
    for (const [l, v] of vars.entries()) {
      const w = (await v.w.array()) as number[][];
      const b = (await v.b.array()) as number[];
      layers.push({ weights: w, bias: b, activation: l + 1 < vars.length ? 'relu' : 'sigmoid' });
    }
    const model = {
      kind: options.hidden > 0 ? `mlp${options.hidden}-mel40` : 'logistic-mel40',
      normalisation: {
        mean,
        std,
        min: mean.map((_, d) => rows.reduce((low, r) => Math.min(low, r[d]!), Number.POSITIVE_INFINITY)),
        max: mean.map((_, d) => rows.reduce((high, r) => Math.max(high, r[d]!), Number.NEGATIVE_INFINITY)),
      },
      layers,
      threshold: 0.5,
    };
    return { model, loss, windows: rows.length };
  } finally {
    x.dispose();
    y.dispose();
    sw.dispose();
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    optimizer.dispose();
  }
}

/**
 * The threshold for scored clips: among the cuts whose episodes on the "not crying" clips stay within
 * `falseAlarmsPerHour` of their audio, those that call the most "crying" clips; of those, the middle of
 * the widest stretch of equally good cuts, so that neither side's nearest clip decides it alone (on few
 * clips that budget allows no episode at all). Widths and middles are on the log-odds, the scale the model
 * is linear in: its probabilities crowd against 0 and 1, where a middle by probability would hug one side.
 */
export function chooseThreshold(scored: ScoredClip[], falseAlarmsPerHour: number): number {
  const negatives = scored.filter((clip) => !clip.crying);
  const positives = scored.filter((clip) => clip.crying);
  const hours = negatives.reduce((sum, clip) => sum + clip.seconds, 0) / 3600;
  const allowed = Math.floor(falseAlarmsPerHour * hours + 1e-9);
  // Decisions only change at a hop's value: each stretch between two neighbouring values is one choice.
  const values = [...new Set([0, 1, ...scored.flatMap((clip) => clip.hops)])].sort((a, b) => a - b);
  const sustained = positives.map((clip) => sustainedProbability(clip.hops));
  // Log-odds, kept finite at the ends of the scale.
  const logit = (p: number) => {
    const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
    return Math.log(q / (1 - q));
  };
  let best = { detected: -1, from: 0, to: 0 };
  let run = null as typeof best | null;
  for (let i = 0; i + 1 < values.length; i++) {
    const [from, to] = [values[i]!, values[i + 1]!];
    const alarms = negatives.reduce((sum, clip) => sum + episodes(clip.hops, to), 0);
    if (alarms > allowed) {
      run = null;
      continue;
    }
    const detected = sustained.filter((p) => p >= to).length;
    run =
      run?.detected === detected ? { ...run, to: logit(to) } : { detected, from: logit(from), to: logit(to) };
    if (
      run.detected > best.detected ||
      (run.detected === best.detected && run.to - run.from > best.to - best.from)
    )
      best = run;
  }
  return 1 / (1 + Math.exp(-(best.from + best.to) / 2));
}

export interface Figures {
  threshold: number;
  positives: number;
  negatives: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
  /** Null when the model called no clip crying. */
  precision: number | null;
  recall: number | null;
  accuracy: number | null;
}

export function figures(scored: { probability: number; crying: boolean }[], threshold: number): Figures {
  const count = (crying: boolean, called: boolean) =>
    scored.filter((s) => s.crying === crying && s.probability >= threshold === called).length;
  const [tp, fp, tn, fn] = [count(true, true), count(false, true), count(false, false), count(true, false)];
  const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(4)) : null);
  return {
    threshold,
    positives: tp + fn,
    negatives: tn + fp,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    accuracy: ratio(tp + tn, scored.length),
  };
}
