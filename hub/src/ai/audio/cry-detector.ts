/**
 * The default cry detector: no training, only what infant cries are acoustically. A cry is voiced with a
 * high fundamental (~300–600 Hz) and a clear ladder of harmonics; it comes in bursts of roughly 0.3–2 s
 * separated by short inhalation gaps, and it goes on for seconds. Each 10 ms frame is judged "cry-voiced",
 * runs of such frames become bursts, and every second a window over the last few seconds gets a probability
 * from how much of it is covered by bursts of a cry's length and how many of them keep a rhythm. A hysteresis
 * turns the probabilities into a `crying` state so one loud second neither starts nor ends an episode.
 *
 * These parameters are this detector's own: the evaluation generator (bench/eval) chooses its signals
 * independently, so the figures it gives are not a detector scored on its own assumptions.
 */
import { z } from 'zod';
import {
  BIN_HZ,
  bandEnergyDb,
  estimatePitch,
  FRAME_LENGTH,
  frameAt,
  frameCount,
  HOP_LENGTH,
  hannWindow,
  powerSpectrum,
  SAMPLE_RATE,
  SPECTRUM_BINS,
} from './features.js';

const FRAME_MS = (HOP_LENGTH / SAMPLE_RATE) * 1000;

export const cryDetectorOptionsSchema = z
  .object({
    /** Fundamental accepted as a cry's, Hz (a little beyond 300–600 for jitter and excited cries). */
    minF0: z.number().positive().default(280),
    maxF0: z.number().positive().default(750),
    /** Normalised autocorrelation a frame needs to count as voiced. */
    minClarity: z.number().min(0).max(1).default(0.6),
    /** Share of the 100–5000 Hz energy lying on the harmonics of the estimated fundamental. */
    minHarmonicShare: z.number().min(0).max(1).default(0.5),
    /** Of the first six harmonics, how many must each carry ≥ 2 % of the energy (a whistle has one). */
    minHarmonics: z.number().int().min(1).max(6).default(3),
    /** A voiced frame's voice-band level must stand this far above the clip's quiet level (its 10th percentile frame). */
    aboveFloorDb: z.number().default(12),
    /** …and above this absolute level, so a silent room's hum never counts. */
    minLevelDb: z.number().default(-55),
    /** Unvoiced frames bridged inside one burst (a crack in the voice is not an inhalation). */
    bridgeMs: z.number().min(0).default(40),
    minBurstMs: z.number().positive().default(300),
    maxBurstMs: z.number().positive().default(2_500),
    /** Two bursts keep a rhythm when the gap between them is at most this (a breath, not a pause). */
    maxGapMs: z.number().positive().default(1_500),
    hopMs: z.number().int().positive().default(1_000),
    contextMs: z.number().int().positive().default(3_000),
    /** Hysteresis: on after `onWindows` windows at ≥ onAbove in a row, off after `offWindows` below offBelow. */
    onAbove: z.number().min(0).max(1).default(0.6),
    onWindows: z.number().int().min(1).default(2),
    offBelow: z.number().min(0).max(1).default(0.3),
    offWindows: z.number().int().min(1).default(2),
  })
  .strict();
export type CryDetectorOptions = z.infer<typeof cryDetectorOptionsSchema>;

export interface CryFrame {
  /** Voice-band level, dB below full scale. */
  levelDb: number;
  /** Above the clip's quiet level by `aboveFloorDb` and above `minLevelDb`. */
  loud: boolean;
  /** Null when the frame has no periodicity worth naming. */
  f0: number | null;
  clarity: number;
  harmonicShare: number;
  harmonics: number;
}

export interface CryWindow {
  /** End of the window, ms from the start of the audio. */
  at: number;
  probability: number;
  /** The hysteresis state after this window. */
  crying: boolean;
}

export interface CryEpisode {
  from: number;
  /** Null while it is still going at the end of the audio. */
  to: number | null;
}

export interface CryAnalysis {
  windows: CryWindow[];
  episodes: CryEpisode[];
  /** The state at the end of the audio. */
  crying: boolean;
}

interface Burst {
  start: number;
  end: number;
}

/** Energy around each harmonic k·f0 (±1 bin) against the 100–5000 Hz band. */
export function harmonicity(spectrum: Float32Array, f0: number): { share: number; count: number } {
  const lo = Math.round(100 / BIN_HZ);
  const hi = Math.min(SPECTRUM_BINS - 1, Math.round(5_000 / BIN_HZ));
  let total = 0;
  for (let k = lo; k <= hi; k++) total += spectrum[k]!;
  if (total <= 0) return { share: 0, count: 0 };
  let onHarmonics = 0;
  let count = 0;
  for (let h = 1; h * f0 <= 5_000; h++) {
    const centre = Math.round((h * f0) / BIN_HZ);
    let band = 0;
    for (let k = Math.max(lo, centre - 1); k <= Math.min(hi, centre + 1); k++) band += spectrum[k]!;
    onHarmonics += band;
    if (h <= 6 && band >= 0.02 * total) count++;
  }
  return { share: onHarmonics / total, count };
}

/**
 * Per frame: the level in the voice band (250–5000 Hz, so a fan's or a road's rumble below it neither hides a
 * cry nor passes for one), and, only for frames loud enough to matter, pitch and harmonicity — the pitch
 * search is most of the cost, and a quiet room skips it.
 */
export function analyseFrames(samples: Float32Array, input: Partial<CryDetectorOptions> = {}): CryFrame[] {
  const options = cryDetectorOptionsSchema.parse(input);
  const window = hannWindow(FRAME_LENGTH);
  const count = frameCount(samples.length);
  const levels = new Float64Array(count);
  for (let i = 0; i < count; i++)
    levels[i] = bandEnergyDb(powerSpectrum(frameAt(samples, i), window), window, 250, 5_000);
  const sorted = Float64Array.from(levels).sort();
  const floor = sorted[Math.floor(count * 0.1)] ?? -120;
  const threshold = Math.max(options.minLevelDb, floor + options.aboveFloorDb);
  const out: CryFrame[] = [];
  for (let i = 0; i < count; i++) {
    const level = levels[i]!;
    const frame = frameAt(samples, i);
    const pitch = level >= threshold ? estimatePitch(frame) : null;
    if (!pitch) {
      out.push({
        levelDb: level,
        loud: level >= threshold,
        f0: null,
        clarity: 0,
        harmonicShare: 0,
        harmonics: 0,
      });
      continue;
    }
    const { share, count: harmonics } = harmonicity(powerSpectrum(frame, window), pitch.hz);
    out.push({
      levelDb: level,
      loud: true,
      f0: pitch.hz,
      clarity: pitch.clarity,
      harmonicShare: share,
      harmonics,
    });
  }
  return out;
}

function cryVoiced(frames: CryFrame[], options: CryDetectorOptions): boolean[] {
  return frames.map(
    (f) =>
      f.loud &&
      f.f0 !== null &&
      f.f0 >= options.minF0 &&
      f.f0 <= options.maxF0 &&
      f.clarity >= options.minClarity &&
      f.harmonicShare >= options.minHarmonicShare &&
      f.harmonics >= options.minHarmonics,
  );
}

/** Runs of voiced frames (short cracks bridged), in frame indices, end exclusive. */
export function bursts(voiced: boolean[], options: Pick<CryDetectorOptions, 'bridgeMs'>): Burst[] {
  const bridge = Math.round(options.bridgeMs / FRAME_MS);
  const out: Burst[] = [];
  let start = -1;
  let lastVoiced = -1;
  for (let i = 0; i <= voiced.length; i++) {
    if (i < voiced.length && voiced[i]) {
      if (start < 0) start = i;
      lastVoiced = i;
    } else if (start >= 0 && (i === voiced.length || i - lastVoiced > bridge)) {
      out.push({ start, end: lastVoiced + 1 });
      start = -1;
    }
  }
  return out;
}

const smoothstep = (from: number, to: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - from) / (to - from)));
  return t * t * (3 - 2 * t);
};

export function analyseCry(samples: Float32Array, input: Partial<CryDetectorOptions> = {}): CryAnalysis {
  const options = cryDetectorOptionsSchema.parse(input);
  const frames = analyseFrames(samples, options);
  const all = bursts(cryVoiced(frames, options), options);
  const minLength = options.minBurstMs / FRAME_MS;
  const maxLength = options.maxBurstMs / FRAME_MS;
  const maxGap = options.maxGapMs / FRAME_MS;
  // Only bursts of a cry's length count; one too long (a held note, a whistle) or too short (a syllable, a
  // "ha") does not, however voiced.
  const cryLike = all.filter((b) => b.end - b.start >= minLength && b.end - b.start <= maxLength);
  const rhythmic = cryLike.map(
    (b, i) =>
      (i > 0 && b.start - cryLike[i - 1]!.end <= maxGap) ||
      (i + 1 < cryLike.length && cryLike[i + 1]!.start - b.end <= maxGap),
  );

  const durationMs = (samples.length / SAMPLE_RATE) * 1000;
  const windows: CryWindow[] = [];
  const episodes: CryEpisode[] = [];
  let crying = false;
  let streak = 0;
  for (let at = options.hopMs; at <= durationMs; at += options.hopMs) {
    const from = Math.max(0, at - options.contextMs) / FRAME_MS;
    const to = at / FRAME_MS;
    let covered = 0;
    let inRhythm = 0;
    cryLike.forEach((b, i) => {
      const overlap = Math.min(b.end, to) - Math.max(b.start, from);
      if (overlap <= 0) return;
      covered += overlap;
      if (rhythmic[i]) inRhythm++;
    });
    const coverage = covered / (to - from);
    const probability = smoothstep(0.15, 0.45, coverage) * smoothstep(0, 2, inRhythm);
    const wanted = crying ? probability < options.offBelow : probability >= options.onAbove;
    streak = wanted ? streak + 1 : 0;
    if (!crying && streak >= options.onWindows) {
      crying = true;
      streak = 0;
      episodes.push({ from: at, to: null });
    } else if (crying && streak >= options.offWindows) {
      crying = false;
      streak = 0;
      episodes[episodes.length - 1]!.to = at;
    }
    windows.push({ at, probability: Number(probability.toFixed(3)), crying });
  }
  return { windows, episodes, crying };
}
