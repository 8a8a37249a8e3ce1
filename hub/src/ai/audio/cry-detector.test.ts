import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyseCry, cryDetectorOptionsSchema } from './cry-detector.js';
import { pcmFromS16le, SAMPLE_RATE } from './features.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const missing = ['sox', 'espeak-ng'].filter((tool) => spawnSync(tool, ['--version']).status !== 0);
const skip = missing.length > 0 && `${missing.join(' and ')} not installed (the generated set needs them)`;

function decode(file: string): Float32Array {
  const run = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', '-'],
    {
      maxBuffer: 1 << 26,
    },
  );
  assert.equal(run.status, 0, String(run.stderr));
  return pcmFromS16le(run.stdout);
}

function soxPcm(...args: string[]): Float32Array {
  const run = spawnSync(
    'sox',
    ['-R', '-n', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed', '-t', 'raw', '-', ...args],
    {
      maxBuffer: 1 << 26,
    },
  );
  assert.equal(run.status, 0, String(run.stderr));
  return pcmFromS16le(run.stdout);
}

describe('default cry detector', { skip }, () => {
  let dir = '';
  const results: { label: string; name: string; episodes: number; samples: Float32Array }[] = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-cry-'));
    // The generator is a separate program with its own idea of a cry; run as the eval runs it.
    const generate = spawnSync(
      process.execPath,
      [
        path.join(root, 'bench/eval/generate-cry-set.mjs'),
        '--out',
        dir,
        '--seed',
        '7',
        '--positives',
        '6',
        '--negatives',
        '8',
        '--seconds',
        '6',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(generate.status, 0, generate.stderr);
    for (const label of ['positive', 'negative'])
      for (const name of readdirSync(path.join(dir, label)).sort()) {
        const samples = decode(path.join(dir, label, name));
        results.push({ label, name, episodes: analyseCry(samples).episodes.length, samples });
      }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('finds ≥ 5 of 6 generated cries and raises ≤ 1 false alarm over 8 hard negatives', () => {
    const positives = results.filter((r) => r.label === 'positive');
    const negatives = results.filter((r) => r.label === 'negative');
    assert.equal(positives.length, 6);
    assert.equal(negatives.length, 8);
    const report = results.map((r) => `${r.label}/${r.name}: ${r.episodes} episode(s)`).join('\n');
    const found = positives.filter((r) => r.episodes > 0).length;
    const falseAlarms = negatives.reduce((sum, r) => sum + r.episodes, 0);
    assert.ok(found >= 5, `recall ${found}/6\n${report}`);
    assert.ok(falseAlarms <= 1, `${falseAlarms} false alarms\n${report}`);
  });

  test('an episode ends after the crying stops', () => {
    const cry = results.find((r) => r.label === 'positive' && r.episodes > 0)!;
    const quiet = soxPcm('synth', '6', 'brownnoise', 'vol', '0.002');
    const joined = new Float32Array(cry.samples.length + quiet.length);
    joined.set(cry.samples);
    joined.set(quiet, cry.samples.length);
    const result = analyseCry(joined);
    assert.equal(result.crying, false);
    const last = result.episodes.at(-1)!;
    assert.ok(last.to !== null && last.to > last.from && last.to <= (joined.length / SAMPLE_RATE) * 1000);
    assert.ok(result.windows.every((w) => w.probability >= 0 && w.probability <= 1));
  });

  test('one held note at a cry pitch, however harmonic, is not a cry: no bursts, no rhythm', () => {
    const held = soxPcm('synth', '6', 'sawtooth', '450', 'vol', '0.3');
    const result = analyseCry(held);
    assert.equal(result.episodes.length, 0);
    assert.equal(Math.max(...result.windows.map((w) => w.probability)), 0);
  });
});

describe('detector options', () => {
  test('are validated', () => {
    assert.throws(() => analyseCry(new Float32Array(16_000), { minF0: -1 }));
    assert.throws(() => cryDetectorOptionsSchema.parse({ threshold: 0.5 }));
  });

  test('a second of silence gives one quiet window', () => {
    const result = analyseCry(new Float32Array(SAMPLE_RATE));
    assert.deepEqual(result, {
      windows: [{ at: 1_000, probability: 0, crying: false }],
      episodes: [],
      crying: false,
    });
  });
});
