import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../clock.js';
import { createLogger } from '../../log/logger.js';
import { waitFor } from '../../testing/wait.js';
import { createPictureAnalyser, type PictureAnalyser } from './analyse.js';
import { testPicture } from './fixtures/test-pictures.js';
import { createInferencePool, type InferenceResult } from './pool.js';

const log = createLogger('silent');

function setUp(
  config: Parameters<typeof createInferencePool>[0]['config'],
  options: { workerUrl?: URL; startTimeoutMs?: number } = {},
) {
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const cameraResults: InferenceResult[] = [];
  let analyser: PictureAnalyser | undefined;
  const pool = createInferencePool({
    models: ['objects', 'face'],
    clock,
    log,
    config,
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    onResult: (result) => {
      if (!analyser!.onResult(result)) cameraResults.push(result);
    },
  });
  analyser = createPictureAnalyser({
    pool,
    clock,
    streamPrefix: 'photos:',
    ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
  });
  return { pool, analyser, clock, cameraResults, jump: (ms: number) => (offset += ms) };
}

test('each picture gets its own answer, from a cold start and behind camera frames, even past the queue age', async () => {
  const { pool, analyser, clock, cameraResults, jump } = setUp({ backend: 'wasm' });
  try {
    // Cold: the workers load during the first request, which must not go stale meanwhile.
    const face = await analyser.analyse('face', testPicture('frontal'), 20_000);
    assert.ok(face?.model === 'face' && face.faces.length === 1, JSON.stringify(face));
    assert.equal(pool.health().state, 'ready');

    // The worker busy with a camera's frame, two requests wait behind it; then 3 s pass, more than the
    // queue's 2 s: live frames would be stale by now, these requests are still within their deadline.
    pool.submit({ cameraId: 'door', at: clock.now(), model: 'objects', image: testPicture('seatedMan') });
    const person = analyser.analyse('objects', testPicture('frontal'), 20_000);
    const blank = analyser.analyse('objects', testPicture('empty'), 20_000);
    jump(3000);
    const [personOut, blankOut] = await Promise.all([person, blank]);
    assert.ok(
      personOut?.model === 'objects' && personOut.objects.some((o) => o.label === 'person'),
      JSON.stringify(personOut),
    );
    assert.deepEqual(blankOut?.model === 'objects' ? blankOut.objects : null, []);
    await waitFor('the camera frame answered', () => (cameraResults.length ? true : undefined));
    // The camera's answer went to the camera, the analyser's answers to the analyser.
    assert.deepEqual(
      cameraResults.map((r) => r.job.cameraId),
      ['door'],
    );
    assert.equal(pool.health().queue.dropped.stale, 0);
  } finally {
    await pool.close();
  }
});

test('with the service off the answer is null at once', async () => {
  const { pool, analyser } = setUp({ enabled: false });
  const image = testPicture('frontal');
  const started = performance.now();
  assert.equal(await analyser.analyse('face', image, 10_000), null);
  assert.ok(performance.now() - started < 200, `${performance.now() - started} ms`);
  await pool.close();
});

test('a detector that never answers: null at the deadline; closing answers the waiting requests at once', async () => {
  const { pool, analyser } = setUp(
    { runTimeoutMs: 60_000 },
    { workerUrl: new URL('./fixtures/pinned-worker.ts', import.meta.url) },
  );
  try {
    const image = testPicture('empty', 64, 64);
    let started = performance.now();
    assert.equal(await analyser.analyse('objects', image, 400), null);
    const waited = performance.now() - started;
    assert.ok(waited >= 390 && waited < 1500, `${waited} ms`);

    started = performance.now();
    const waiting = analyser.analyse('objects', image, 60_000);
    analyser.close();
    assert.equal(await waiting, null);
    assert.ok(performance.now() - started < 200, `${performance.now() - started} ms`);
    assert.equal(await analyser.analyse('objects', image, 60_000), null, 'closed: no new requests');
  } finally {
    await pool.close();
  }
});

test('workers that never finish loading: null at the start deadline, not at the answer deadline', async () => {
  // A worker that never says it is ready.
  const { pool, analyser } = setUp(
    {},
    { workerUrl: new URL('data:text/javascript,setInterval(() => {}, 1000)'), startTimeoutMs: 400 },
  );
  try {
    const image = testPicture('empty', 64, 64);
    const started = performance.now();
    assert.equal(await analyser.analyse('objects', image, 60_000), null);
    const waited = performance.now() - started;
    assert.ok(waited >= 390 && waited < 1500, `${waited} ms`);
    assert.equal(pool.health().state, 'starting');
  } finally {
    await pool.close();
  }
});
