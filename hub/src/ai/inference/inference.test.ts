import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Clock, systemClock } from '../../clock.js';
import { createLogger } from '../../log/logger.js';
import { waitFor } from '../../testing/wait.js';
import { faceDirection, faceDirectionConfigSchema } from './face-direction.js';
import { type TestPicture, testPicture } from './fixtures/test-pictures.js';
import { householdLabel } from './labels.js';
import type { FaceReading, ModelOutput } from './messages.js';
import { createInferencePool, type InferencePool } from './pool.js';

const log = createLogger('silent');
let pool: InferencePool;
let answer: (output: ModelOutput) => void = () => {};

/** One picture through the real pool, waiting for its answer (one at a time: nothing is dropped). */
function infer(model: 'objects' | 'face', name: TestPicture): Promise<ModelOutput> {
  const output = new Promise<ModelOutput>((resolve) => {
    answer = resolve;
  });
  pool.submit({ cameraId: `test-${model}`, at: systemClock.now(), model, image: testPicture(name) });
  return output;
}

before(async () => {
  pool = createInferencePool({
    models: ['objects', 'face'],
    clock: systemClock,
    log,
    onResult: (result) => answer(result.output),
    config: { backend: 'wasm' },
  });
  await pool.start();
  assert.equal(pool.health().state, 'ready', pool.health().error ?? '');
});
after(() => pool.close());

test('the wasm backend finds the person in a photo and nothing in a blank picture', async () => {
  const person = await infer('objects', 'frontal');
  assert.equal(person.model, 'objects');
  const people =
    person.model === 'objects' ? person.objects.filter((o) => householdLabel(o.label) === 'person') : [];
  assert.ok(people.length >= 1 && people[0]!.score >= 0.4, JSON.stringify(person));
  const box = people[0]!.box;
  assert.ok(box.x >= 0 && box.y >= 0 && box.w > 0.2 && box.x + box.w <= 1.01, JSON.stringify(box));
  const blank = await infer('objects', 'empty');
  assert.deepEqual(
    blank.model === 'objects' ? blank.objects.filter((o) => householdLabel(o.label)) : null,
    [],
  );

  const health = pool.health();
  assert.equal(health.backend, 'wasm');
  const objects = health.models.find((m) => m.name === 'objects')!;
  assert.equal(objects.inferences, 2);
  assert.ok(objects.msMean! > 0 && objects.msP95! >= objects.msMean! * 0.5, JSON.stringify(objects));
  assert.match(objects.version, /^human@\d+\.\d+\.\d+\/centernet\.json#[0-9a-f]{12}$/);
});

test('face direction on test pictures: frontal, turned left, turned right (the mirror), no face', async () => {
  const config = faceDirectionConfigSchema.parse({});
  const direction = async (name: TestPicture) => {
    const output = await infer('face', name);
    assert.equal(output.model, 'face');
    const face: FaceReading | null = output.model === 'face' ? (output.faces[0] ?? null) : null;
    return { label: faceDirection(face, config), face };
  };
  const frontal = await direction('frontal');
  assert.equal(frontal.label, 'front', JSON.stringify(frontal.face));
  assert.equal(frontal.face?.eyesOpen, true);
  const turned = await direction('turned');
  assert.equal(turned.label, 'left', JSON.stringify(turned.face));
  const mirrored = await direction('turnedMirrored');
  assert.equal(mirrored.label, 'right', JSON.stringify(mirrored.face));
  // The mirror turns the yaw, not the size of the turn: the reading measures the picture, not noise.
  assert.ok(
    Math.abs(turned.face!.yaw + mirrored.face!.yaw) < 6,
    `${turned.face!.yaw} vs ${mirrored.face!.yaw}`,
  );
  assert.equal((await direction('empty')).label, 'no_face');
  assert.equal((await direction('personFar')).label, 'no_face');
});

test('face direction rules: down wins over turned, a weak face is no face', () => {
  const config = faceDirectionConfigSchema.parse({});
  const face = { score: 0.9, yaw: 0, pitch: 0, roll: 0 };
  assert.equal(faceDirection({ ...face, pitch: 25, yaw: -30 }, config), 'down');
  assert.equal(faceDirection({ ...face, yaw: 14.9 }, config), 'front');
  assert.equal(faceDirection({ ...face, yaw: 15 }, config), 'right');
  assert.equal(faceDirection({ ...face, score: 0.49 }, config), 'no_face');
  assert.equal(faceDirection(null, config), 'no_face');
});

test('the service runs with no network at all (a fresh network namespace)', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/detect-once.ts', import.meta.url));
  const node = [process.execPath, '--import', 'tsx', '--conditions=development', script];
  // A network namespace needs CAP_SYS_ADMIN; a runner without it still runs the service, said so.
  const isolated = await promisify(execFile)('unshare', ['--net', 'true']).then(
    () => true,
    (error: Error) => {
      t.diagnostic(`unshare --net refused (${error.message.split('\n')[0]}): ran without isolation`);
      return false;
    },
  );
  const [command, ...args] = isolated ? ['unshare', '--net', ...node] : node;
  const { stdout } = await promisify(execFile)(command!, args, { maxBuffer: 1 << 20 });
  const { health, outputs } = JSON.parse(stdout) as {
    health: ReturnType<InferencePool['health']>;
    outputs: ModelOutput[];
  };
  assert.equal(health.state, 'ready', health.error ?? '');
  assert.equal(outputs.length, 2);
  assert.ok(outputs[0]!.model === 'objects' && outputs[0]!.objects.some((o) => o.label === 'person'));
  assert.ok(outputs[1]!.model === 'face' && outputs[1]!.faces.length === 1);
});

test('a pinned detector: pictures are dropped, memory stays bounded, the stuck worker is replaced', async () => {
  let now = 1_000_000;
  const clock: Clock = { now: () => now };
  const pinned = createInferencePool({
    models: ['objects'],
    clock,
    log,
    onResult: () => assert.fail('a pinned worker never answers'),
    workerUrl: new URL('./fixtures/pinned-worker.ts', import.meta.url),
    config: { queue: { perCamera: 2, maxAgeMs: 2000 }, runTimeoutMs: 300 },
  });
  try {
    await pinned.start();
    const image = testPicture('empty', 64, 64);
    // 3 cameras at 10 pictures a second for a simulated minute, while the one worker is stuck.
    for (let i = 0; i < 600; i++) {
      now += 100;
      for (const cameraId of ['door', 'hall', 'garden'])
        pinned.submit({ cameraId, at: now, model: 'objects', image });
      assert.ok(pinned.health().queue.queued <= 6, `held ${pinned.health().queue.queued}`);
    }
    const { queue } = pinned.health();
    assert.equal(queue.pushed, 1800);
    assert.ok(queue.taken <= 1, `taken ${queue.taken}`);
    assert.equal(queue.dropped.overflow + queue.queued + queue.taken, 1800);
    await waitFor(
      'the stuck worker to be replaced',
      () => (pinned.health().restarts >= 1 ? true : undefined),
      10_000,
      50,
    );
    const health = pinned.health();
    assert.ok(health.models[0]!.errors >= 1, JSON.stringify(health));
    assert.equal(health.state, 'ready');
  } finally {
    await pinned.close();
  }
});
