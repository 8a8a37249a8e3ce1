/**
 * The household-trained cry classifier: per-window summary features of the log-mel spectrogram and the
 * pitch track (features.ts), z-scored on the training set, and a small dense network (logistic regression,
 * or one hidden layer) trained with TensorFlow.js on the cpu backend. A clip's probability is the best
 * mean of two neighbouring windows (1.5 s of audio): one cry burst is enough, one odd window is not.
 *
 * Training is deterministic (seeded initialisation, full-batch Adam for a fixed number of epochs), so the
 * same clips give the same file. Only the training uses tfjs; scoring is a plain forward pass over the
 * stored weights, so the reading path needs no backend and a model file is all a score depends on.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import {
  defaultMel,
  energyDb,
  estimatePitch,
  FRAME_LENGTH,
  frameAt,
  frameCount,
  HOP_LENGTH,
  logMelSpectrogram,
  SAMPLE_RATE,
} from '../audio/features.js';

/** What this hub computes as a model's input; a model file must name exactly this to be used. */
export const FEATURE_SPEC = {
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
export type FeatureSpec = typeof FEATURE_SPEC;

const FRAMES_PER_WINDOW = FEATURE_SPEC.windowMs / 10;
const FRAMES_PER_HOP = FEATURE_SPEC.windowHopMs / 10;

/** One feature vector per 1 s window, every 0.5 s; a clip shorter than a window gives none. */
export function windowFeatures(samples: Float32Array): number[][] {
  const mels = logMelSpectrogram(samples);
  const count = Math.min(mels.length, frameCount(samples.length));
  const voiced: (number | null)[] = new Array(count).fill(null);
  const clarity: number[] = new Array(count).fill(0);
  for (let i = 0; i < count; i += FEATURE_SPEC.pitchEveryFrames) {
    const frame = frameAt(samples, i);
    if (energyDb(frame) < FEATURE_SPEC.pitchMinLevelDb) continue;
    const pitch = estimatePitch(frame);
    if (!pitch) continue;
    clarity[i] = pitch.clarity;
    if (pitch.clarity >= FEATURE_SPEC.voicedClarity) voiced[i] = Math.log2(pitch.hz / 440);
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
    for (let f = start; f < start + FRAMES_PER_WINDOW; f += FEATURE_SPEC.pitchEveryFrames) {
      analysed++;
      const p = voiced[f];
      if (p === null || p === undefined) continue;
      pitches.push(p);
      clear += clarity[f]!;
    }
    const mean = pitches.length ? pitches.reduce((a, b) => a + b, 0) / pitches.length : 0;
    const spread = pitches.length
      ? Math.sqrt(pitches.reduce((a, b) => a + (b - mean) ** 2, 0) / pitches.length)
      : 0;
    row.push(pitches.length / analysed, mean, spread, pitches.length ? clear / pitches.length : 0);
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

export interface TrainedClassifier {
  kind: string;
  normalisation: { mean: number[]; std: number[] };
  layers: DenseLayer[];
  /** A clip at or above this probability counts as crying. */
  threshold: number;
}

/** Per step of 0.5 s, the mean of two neighbouring windows' probabilities (a one-window clip: that window). */
export function smoothedProbabilities(model: TrainedClassifier, features: number[][]): number[] {
  const p = features.map((row) => forward(model, row));
  if (p.length <= 1) return p;
  return p.slice(1).map((value, i) => (p[i]! + value) / 2);
}

/** The best of the smoothed probabilities: one cry burst is enough, one odd window is not. */
export function clipProbability(model: TrainedClassifier, features: number[][]): number {
  return Math.max(0, ...smoothedProbabilities(model, features));
}

function forward(model: TrainedClassifier, row: number[]): number {
  const { mean, std } = model.normalisation;
  let x = row.map((v, i) => (v - mean[i]!) / std[i]!);
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

export interface TrainingClip {
  features: number[][];
  crying: boolean;
}

export interface TrainOptions {
  /** Units of the one hidden layer; 0 is logistic regression. */
  hidden: number;
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
}
export const defaultTrainOptions: TrainOptions = {
  hidden: 0,
  epochs: 300,
  learningRate: 0.03,
  l2: 1e-3,
  seed: 1,
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
 * Fits the network to every window of the training clips (each window labelled as its clip), each label
 * weighing half the loss whatever the counts, then picks the clip threshold that best separates the
 * training clips (balanced accuracy). Gradients are written out by hand: the node build of tfjs-core
 * registers no gradient functions (they live in its ES module tree, which Node cannot load), and for a
 * dense network they are a few lines; Adam itself is tfjs's.
 */
export async function trainClassifier(
  clips: TrainingClip[],
  input: Partial<TrainOptions> = {},
): Promise<TrainedClassifier & { loss: number; windows: number }> {
  const options = { ...defaultTrainOptions, ...input };
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
    const model: TrainedClassifier = {
      kind: options.hidden > 0 ? `mlp${options.hidden}-mel40` : 'logistic-mel40',
      normalisation: { mean, std },
      layers,
      threshold: 0.5,
    };
    model.threshold = pickThreshold(
      clips.map((clip) => ({ probability: clipProbability(model, clip.features), crying: clip.crying })),
    );
    return { ...model, loss, windows: rows.length };
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

/** The cut between sorted clip probabilities with the best balanced accuracy (the lowest such cut on ties). */
export function pickThreshold(scored: { probability: number; crying: boolean }[]): number {
  const values = [...new Set(scored.map((s) => s.probability))].sort((a, b) => a - b);
  const cuts = [0.5, ...values.slice(1).map((v, i) => (v + values[i]!) / 2)];
  const positives = scored.filter((s) => s.crying).length;
  const negatives = scored.length - positives;
  let best = { cut: 0.5, score: -1 };
  for (const cut of cuts) {
    const tp = scored.filter((s) => s.crying && s.probability >= cut).length;
    const tn = scored.filter((s) => !s.crying && s.probability < cut).length;
    const score = tp / Math.max(1, positives) + tn / Math.max(1, negatives);
    if (score > best.score + 1e-12 || (Math.abs(score - best.score) <= 1e-12 && cut < best.cut))
      best = { cut, score };
  }
  return Number(best.cut.toFixed(6));
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
