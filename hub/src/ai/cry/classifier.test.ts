import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chooseThreshold, clipProbability, type TrainedClassifier, windowFeatures } from './classifier.js';
import { cryingClip } from './fixtures/clips.js';
import { classifierOf, parseModelFile } from './model-file.js';
import { parseWav } from './wav.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const noSox =
  spawnSync('sox', ['--version']).status !== 0 && 'sox not installed (the clips are made with it)';

describe('cry classifier scoring', () => {
  test('a model file of the first format still reads, and scores a clip exactly as the code that wrote it did', {
    skip: noSox,
  }, () => {
    // Written by the hub before the second format (8 fixture clips); 0.99983… is what that hub's
    // clipProbability gave cryingClip(9).
    const model = classifierOf(parseModelFile(readFileSync(path.join(here, 'fixtures', 'model-v1.json'))));
    assert.equal(model.normalisation.mean.length, 85);
    assert.equal('min' in model.normalisation, false);
    const features = windowFeatures(parseWav(cryingClip(9)).samples);
    assert.equal(
      features[0]!.length,
      90,
      'the current spec computes more numbers; the old model reads the first 85',
    );
    assert.equal(clipProbability(model, features), 0.9998383268315392);
  });

  test('a number outside the range the model learnt from counts as the edge of that range', () => {
    const model: TrainedClassifier = {
      kind: 'logistic-mel40',
      normalisation: { mean: [0, 0], std: [1, 1], min: [-1, -1], max: [2, 2] },
      layers: [{ weights: [[3], [1]], bias: [-1], activation: 'sigmoid' }],
      threshold: 0.5,
    };
    const at = (x: number) => clipProbability(model, [[x, 0]]);
    assert.equal(at(40), at(2), 'a whistle far into one band is no more crying than the loudest band seen');
    assert.ok(at(2) > at(1) && at(-1) === at(-9));
  });

  test('the threshold keeps the false-alarm budget on unseen clips, then sits midway between the classes', () => {
    const negative = (hops: number[], seconds = 10) => ({ hops, crying: false, seconds });
    const positive = (hops: number[]) => ({ hops, crying: true, seconds: 10 });
    // A laugh that held two hops at 0.7: on 40 s of negatives the budget (2 per hour) allows no episode.
    const laugh = negative([0.1, 0.7, 0.7, 0.2]);
    const clips = [
      laugh,
      negative([0.05, 0.3, 0.2, 0.1]),
      negative([0.4, 0.1, 0.4, 0.1]),
      negative([0.02, 0.02, 0.02, 0.02]),
      positive([0.5, 0.95, 0.97, 0.6]),
      positive([0.9, 0.99, 0.3, 0.2]),
    ];
    const logit = (p: number) => Math.log(p / (1 - p));
    const strict = chooseThreshold(clips, 2);
    assert.ok(strict > 0.7 && strict <= 0.9, String(strict));
    assert.ok(Math.abs(logit(strict) - (logit(0.7) + logit(0.9)) / 2) < 1e-9, 'midway on the log-odds');
    // An hour and a half of negatives allows three episodes: the laugh may pass, and the cut moves down.
    const lenient = chooseThreshold([{ ...laugh, seconds: 5_400 }, ...clips.slice(1)], 2);
    assert.ok(lenient < 0.7, String(lenient));
    // A single hop above the cut starts nothing: the third clip's lone 0.4s do not hold the cut up.
    assert.ok(lenient < 0.4, String(lenient));
  });
});
