/**
 * Audio features for the cry pipeline, as pure functions over 16 kHz mono PCM (what the node's
 * `ffmpeg -f s16le -ac 1 -ar 16000` gives): 25 ms Hann frames every 10 ms, their power spectrum, a log-mel
 * spectrogram (the household classifier's input) and, per frame, the energy and a pitch estimate (the
 * default detector's input). Computed here rather than with tfjs because tfjs's `stft` is missing on the
 * wasm backend and slow on cpu.
 */

export const SAMPLE_RATE = 16_000;
/** 25 ms. */
export const FRAME_LENGTH = 400;
/** 10 ms. */
export const HOP_LENGTH = 160;
/** The next power of two above a frame: frames are zero-padded to it. */
export const FFT_SIZE = 512;
export const SPECTRUM_BINS = FFT_SIZE / 2 + 1;
/** Hz between two bins of the power spectrum. */
export const BIN_HZ = SAMPLE_RATE / FFT_SIZE;

/** Little-endian signed 16-bit samples → floats in [-1, 1). A trailing odd byte is ignored. */
export function pcmFromS16le(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(Math.floor(bytes.byteLength / 2));
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32_768;
  return out;
}

/** Periodic Hann (the STFT convention: overlapping frames at 10 ms sum to a constant). */
export function hannWindow(length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / length);
  return out;
}

/** How many whole frames fit; a tail shorter than a frame is left for the next buffer. */
export function frameCount(samples: number, frameLength = FRAME_LENGTH, hop = HOP_LENGTH): number {
  return samples < frameLength ? 0 : Math.floor((samples - frameLength) / hop) + 1;
}

export function frameAt(samples: Float32Array, index: number, frameLength = FRAME_LENGTH, hop = HOP_LENGTH) {
  return samples.subarray(index * hop, index * hop + frameLength);
}

/**
 * In-place iterative radix-2 FFT. Written here (about 30 lines) rather than taken from npm: the hub has no
 * FFT dependency, a 512-point transform is all the pipeline needs, and this one is tested against known
 * signals below.
 */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n !== im.length || (n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const step = (-2 * Math.PI) / size;
    const half = size >> 1;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = Math.cos(step * k);
        const wi = Math.sin(step * k);
        const a = start + k;
        const b = a + half;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}

/** |X(k)|² for k = 0…FFT_SIZE/2 of one windowed, zero-padded frame. */
export function powerSpectrum(frame: Float32Array, window: Float32Array): Float32Array {
  const re = new Float64Array(FFT_SIZE);
  const im = new Float64Array(FFT_SIZE);
  for (let i = 0; i < frame.length && i < FFT_SIZE; i++) re[i] = frame[i]! * (window[i] ?? 0);
  fft(re, im);
  const out = new Float32Array(SPECTRUM_BINS);
  for (let k = 0; k < SPECTRUM_BINS; k++) out[k] = re[k]! * re[k]! + im[k]! * im[k]!;
  return out;
}

export const hzToMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
export const melToHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);

export interface MelOptions {
  bands: number;
  minHz: number;
  maxHz: number;
}
export const defaultMel: MelOptions = { bands: 40, minHz: 50, maxHz: 8_000 };

/**
 * Triangular filters evenly spaced on the (HTK) mel scale, each as a weight per spectrum bin. Edges are
 * placed in Hz rather than snapped to bins, so the narrow low bands never come out empty.
 */
export function melFilterbank(options: MelOptions = defaultMel): Float32Array[] {
  const { bands, minHz, maxHz } = options;
  const lo = hzToMel(minHz);
  const hi = hzToMel(maxHz);
  const edges = Array.from({ length: bands + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (bands + 1)));
  return Array.from({ length: bands }, (_, band) => {
    const [left, centre, right] = [edges[band]!, edges[band + 1]!, edges[band + 2]!];
    const weights = new Float32Array(SPECTRUM_BINS);
    for (let k = 0; k < SPECTRUM_BINS; k++) {
      const hz = k * BIN_HZ;
      if (hz > left && hz < right)
        weights[k] = hz <= centre ? (hz - left) / (centre - left) : (right - hz) / (right - centre);
    }
    return weights;
  });
}

/** Natural log of each band's energy; the floor keeps silence finite (about -23, i.e. -100 dB). */
export function logMel(spectrum: Float32Array, filterbank: Float32Array[]): Float32Array {
  const out = new Float32Array(filterbank.length);
  for (let band = 0; band < filterbank.length; band++) {
    const weights = filterbank[band]!;
    let sum = 0;
    for (let k = 0; k < weights.length; k++) sum += weights[k]! * spectrum[k]!;
    out[band] = Math.log(Math.max(sum, 1e-10));
  }
  return out;
}

/** One log-mel vector per 10 ms frame. */
export function logMelSpectrogram(samples: Float32Array, options: MelOptions = defaultMel): Float32Array[] {
  const window = hannWindow(FRAME_LENGTH);
  const bank = melFilterbank(options);
  const out: Float32Array[] = [];
  for (let i = 0; i < frameCount(samples.length); i++)
    out.push(logMel(powerSpectrum(frameAt(samples, i), window), bank));
  return out;
}

/** RMS level in dB relative to full scale (a full-scale sine is about -3). Silence gives -120. */
export function energyDb(frame: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return frame.length === 0 || sum === 0 ? -120 : 10 * Math.log10(sum / frame.length);
}

/**
 * Level of the part of a frame between two frequencies, in dB like `energyDb` (a full-scale sine inside the
 * band is about -3): Parseval over the windowed spectrum, corrected for the window's loss of power.
 */
export function bandEnergyDb(
  spectrum: Float32Array,
  window: Float32Array,
  loHz: number,
  hiHz: number,
): number {
  let windowPower = 0;
  for (let i = 0; i < window.length; i++) windowPower += window[i]! * window[i]!;
  let sum = 0;
  const hi = Math.min(SPECTRUM_BINS - 1, Math.floor(hiHz / BIN_HZ));
  for (let k = Math.max(1, Math.ceil(loHz / BIN_HZ)); k <= hi; k++) sum += spectrum[k]!;
  const meanSquare = (2 * sum) / (FFT_SIZE * windowPower);
  return meanSquare > 0 ? Math.max(-120, 10 * Math.log10(meanSquare)) : -120;
}

export interface Pitch {
  hz: number;
  /** Normalised autocorrelation at the chosen lag: near 1 for a periodic frame, low for noise. */
  clarity: number;
}

/**
 * Fundamental by normalised cross-correlation of the frame with itself over the lags for [minHz, maxHz].
 * A periodic signal correlates as well at two and three periods as at one, so the shortest lag whose peak
 * comes within 10 % of the best wins (avoids reporting half the pitch); parabolic interpolation around it
 * gives sub-sample precision (at 440 Hz one lag is ~12 Hz).
 */
export function estimatePitch(frame: Float32Array, minHz = 100, maxHz = 1_000): Pitch | null {
  const minLag = Math.max(2, Math.floor(SAMPLE_RATE / maxHz));
  const maxLag = Math.min(frame.length - 2, Math.ceil(SAMPLE_RATE / minHz));
  if (maxLag <= minLag) return null;
  const nccf = new Float64Array(maxLag + 2);
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) {
    let cross = 0;
    let head = 0;
    let tail = 0;
    for (let i = 0; i + lag < frame.length; i++) {
      const a = frame[i]!;
      const b = frame[i + lag]!;
      cross += a * b;
      head += a * a;
      tail += b * b;
    }
    nccf[lag] = head > 0 && tail > 0 ? cross / Math.sqrt(head * tail) : 0;
  }
  let best = 0;
  for (let lag = minLag; lag <= maxLag; lag++) best = Math.max(best, nccf[lag]!);
  if (best <= 0) return null;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const value = nccf[lag]!;
    if (value < 0.9 * best || value < nccf[lag - 1]! || value < nccf[lag + 1]!) continue;
    const left = nccf[lag - 1]!;
    const right = nccf[lag + 1]!;
    const curvature = left - 2 * value + right;
    const shift = curvature < 0 ? (0.5 * (left - right)) / curvature : 0;
    return { hz: SAMPLE_RATE / (lag + shift), clarity: value };
  }
  return null;
}
