/**
 * The node decides with a household model exactly as the hub evaluated it: the hub scores a whole clip's
 * windows hop by hop (hopProbabilities) and counts the switch's episodes (what `npm run eval:cry` reports and
 * what the threshold was chosen on); the node scores the last 3 s it heard every second.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { episodes, hopProbabilities, pcmFromS16le, SAMPLE_RATE, windowFeatures } from '@hearth/hub/ai';
import { audioSensorSchema } from './config.js';
import { createScorer } from './scorer.js';

const skip = spawnSync('sox', ['--version']).status !== 0 && 'sox not installed';

/** 3 s of room, 4 s of voiced bursts with breaths between, 3 s of room. */
function stream(): Float32Array {
  const out = ['-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-'];
  const room = '|sox -R -n -p synth 3 brownnoise vol 0.05';
  const burst = (f0: number) => `|sox -R -n -p synth 0.8 sawtooth ${f0 * 1.05}:${f0 * 0.95} vol 0.35`;
  const breath = '|sox -R -n -p synth 0.2 pinknoise vol 0.01';
  const inputs = [room, burst(420), breath, burst(470), breath, burst(440), breath, burst(500), breath, room];
  return pcmFromS16le(execFileSync('sox', ['-R', ...inputs, ...out], { maxBuffer: 1 << 24 }));
}

describe('cry scorer on the node', { skip }, () => {
  test('hop by hop, the node gives the probabilities and starts the episodes the hub counted', () => {
    const samples = stream();
    const windows = windowFeatures(samples);
    // A model that calls voiced windows crying, normalised on this clip: the point is the arithmetic, not skill.
    const dims = windows[0]!.length;
    const column = (d: number) => windows.map((row) => row[d]!);
    const mean = Array.from(
      { length: dims },
      (_, d) => column(d).reduce((a, b) => a + b, 0) / windows.length,
    );
    const classifier = {
      kind: 'logistic-mel40',
      normalisation: {
        mean,
        std: mean.map(() => 1),
        min: mean.map((_, d) => Math.min(...column(d))),
        max: mean.map((_, d) => Math.max(...column(d))),
      },
      layers: [
        { weights: mean.map((_, d) => [d === 81 ? 8 : 0]), bias: [0], activation: 'sigmoid' as const },
      ],
      threshold: 0.5,
    };
    const hub = hopProbabilities(classifier, windows);
    classifier.threshold = (Math.min(...hub) + Math.max(...hub)) / 2;

    const config = audioSensorSchema.parse({ type: 'audio', name: 'mic' });
    const scorer = createScorer(config);
    scorer.setModel({ version: 1, sha256: 'x', classifier });
    const decisions = [];
    const perMs = SAMPLE_RATE / 1000;
    for (let end = config.contextMs; end <= samples.length / perMs; end += config.hopMs)
      decisions.push(scorer.score(samples.subarray((end - config.contextMs) * perMs, end * perMs)));

    assert.deepEqual(
      decisions.map((d) => d.probability),
      hub.map((p) => Number(p.toFixed(4))),
    );
    const started = decisions.filter((d) => d.crying && d.changed).length;
    assert.equal(started, episodes(hub, classifier.threshold));
    assert.ok(started >= 1, `the bursts start crying: ${JSON.stringify(hub)}`);
  });
});
