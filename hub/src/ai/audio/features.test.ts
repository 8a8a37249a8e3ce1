import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  BIN_HZ,
  bandEnergyDb,
  energyDb,
  estimatePitch,
  FFT_SIZE,
  FRAME_LENGTH,
  fft,
  frameCount,
  hannWindow,
  hzToMel,
  logMel,
  logMelSpectrogram,
  melFilterbank,
  melToHz,
  pcmFromS16le,
  powerSpectrum,
  SAMPLE_RATE,
} from './features.js';

const hasSox = spawnSync('sox', ['--version']).status === 0;

function tone(hz: number, amplitude = 0.5, length = FRAME_LENGTH): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
}

/** Through sox, as raw s16le: the same bytes the node's ffmpeg hands over. */
function soxPcm(...synth: string[]): Float32Array {
  const run = spawnSync(
    'sox',
    ['-R', '-n', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed', '-t', 'raw', '-', 'synth', ...synth],
    {
      maxBuffer: 1 << 26,
    },
  );
  assert.equal(run.status, 0, String(run.stderr));
  return pcmFromS16le(run.stdout);
}

const argmax = (values: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
};

describe('fft', () => {
  test('matches a direct DFT on a random signal', () => {
    const n = 64;
    const input = Array.from(
      { length: n },
      (_, i) => Math.sin(i * 12.9898) * 43_758.5453 - Math.floor(Math.sin(i * 12.9898) * 43_758.5453),
    );
    const re = Float64Array.from(input);
    const im = new Float64Array(n);
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let dr = 0;
      let di = 0;
      for (let t = 0; t < n; t++) {
        dr += input[t]! * Math.cos((-2 * Math.PI * k * t) / n);
        di += input[t]! * Math.sin((-2 * Math.PI * k * t) / n);
      }
      assert.ok(Math.abs(re[k]! - dr) < 1e-9 && Math.abs(im[k]! - di) < 1e-9, `bin ${k}`);
    }
  });

  test('refuses a length that is not a power of two', () => {
    assert.throws(() => fft(new Float64Array(6), new Float64Array(6)), /power of two/);
  });
});

describe('spectrum and mel', () => {
  test('a 1 kHz tone peaks at its bin', () => {
    const spectrum = powerSpectrum(tone(1_000), hannWindow(FRAME_LENGTH));
    assert.equal(spectrum.length, FFT_SIZE / 2 + 1);
    assert.equal(argmax(spectrum), Math.round(1_000 / BIN_HZ));
  });

  test('40 triangular bands between 50 and 8000 Hz, none empty', () => {
    const bank = melFilterbank();
    assert.equal(bank.length, 40);
    for (const [band, weights] of bank.entries())
      assert.ok(Math.max(...weights) > 0.3, `band ${band} is empty`);
    assert.ok(Math.abs(melToHz(hzToMel(1_234)) - 1_234) < 1e-6);
  });

  for (const hz of [300, 1_000, 4_000]) {
    test(`a pure ${hz} Hz tone lands in the band centred nearest to it`, () => {
      const bands = logMel(powerSpectrum(tone(hz), hannWindow(FRAME_LENGTH)), melFilterbank());
      const lo = hzToMel(50);
      const step = (hzToMel(8_000) - lo) / 41;
      const centres = Array.from({ length: 40 }, (_, b) => melToHz(lo + step * (b + 1)));
      const nearest = argmax(centres.map((c) => -Math.abs(c - hz)));
      assert.equal(
        argmax(bands),
        nearest,
        `loudest band centred at ${centres[argmax(bands)]!.toFixed(0)} Hz`,
      );
    });
  }

  test('a spectrogram has one 40-band vector per 10 ms frame', () => {
    const second = tone(500, 0.5, SAMPLE_RATE);
    const spectrogram = logMelSpectrogram(second);
    assert.equal(spectrogram.length, frameCount(SAMPLE_RATE));
    assert.equal(spectrogram.length, 98);
    assert.equal(spectrogram[0]!.length, 40);
  });
});

describe('levels', () => {
  test('a full-scale sine is -3 dB, silence -120', () => {
    assert.ok(Math.abs(energyDb(tone(1_000, 1, 1_600)) + 3.01) < 0.05);
    assert.equal(energyDb(new Float32Array(400)), -120);
  });

  test('band level counts what is in the band and not what is below it', () => {
    const window = hannWindow(FRAME_LENGTH);
    const inside = bandEnergyDb(powerSpectrum(tone(1_000), window), window, 250, 5_000);
    assert.ok(Math.abs(inside - energyDb(tone(1_000, 0.5, 1_600))) < 0.5, `${inside}`);
    const rumble = bandEnergyDb(powerSpectrum(tone(80), window), window, 250, 5_000);
    assert.ok(rumble < inside - 30, `${rumble}`);
  });
});

describe('pitch', () => {
  test('of a 440 Hz tone is 440', () => {
    const pitch = estimatePitch(tone(440));
    assert.ok(pitch && Math.abs(pitch.hz - 440) < 2, JSON.stringify(pitch));
    assert.ok(pitch.clarity > 0.9);
  });

  test('of a harmonic-rich 300 Hz sawtooth is 300, not an octave off', {
    skip: !hasSox && 'sox is not installed',
  }, () => {
    const pcm = soxPcm('0.1', 'sawtooth', '300');
    const pitch = estimatePitch(pcm.subarray(400, 800));
    assert.ok(pitch && Math.abs(pitch.hz - 300) < 3, JSON.stringify(pitch));
  });

  test('of noise has no clear period', { skip: !hasSox && 'sox is not installed' }, () => {
    const pcm = soxPcm('0.1', 'whitenoise');
    const pitch = estimatePitch(pcm.subarray(400, 800));
    assert.ok(!pitch || pitch.clarity < 0.5, JSON.stringify(pitch));
  });

  test('s16le bytes decode little-endian to [-1, 1)', () => {
    assert.deepEqual(Array.from(pcmFromS16le(Uint8Array.of(0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x01))), [
      -1,
      32_767 / 32_768,
      0,
    ]);
  });

  test('a tone made by sox and decoded from s16le keeps its pitch through the pipeline', {
    skip: !hasSox && 'sox is not installed',
  }, () => {
    const pcm = soxPcm('0.5', 'sine', '523.25');
    assert.equal(pcm.length, 8_000);
    const pitch = estimatePitch(pcm.subarray(1_600, 2_000));
    assert.ok(pitch && Math.abs(pitch.hz - 523.25) < 3, JSON.stringify(pitch));
  });
});
