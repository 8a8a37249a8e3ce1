import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log/logger.js';
import { createLoopRegistry } from './loops.js';

/**
 * The loop registry with Node's mocked `setTimeout`: time moves only when the test ticks it, so
 * "no second pass while the first is in flight" is proven by ticking far ahead, not by waiting.
 * Promises still settle for real; `settle()` lets them (setImmediate is not mocked).
 */

function capturedLogger() {
  const lines: Record<string, any>[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** Lets every pending promise reaction run (a few macrotask turns; setImmediate is real). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('a pass that throws is logged with the loop name and the loop keeps running its next passes', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { log, lines } = capturedLogger();
  const loops = createLoopRegistry({ log });
  let pass = 0;
  loops.register({
    name: 'test.flaky',
    intervalMs: 100,
    run: async () => {
      pass += 1;
      if (pass === 1) throw new Error('sync-looking failure');
      if (pass === 2) await Promise.reject(new Error('async failure'));
    },
  });
  let throwsSync = 0;
  loops.register({
    name: 'test.sync-throw',
    intervalMs: 100,
    run: () => {
      throwsSync += 1;
      throw new Error('thrown synchronously');
    },
  });
  loops.start();

  for (let i = 1; i <= 4; i += 1) {
    t.mock.timers.tick(100);
    await settle();
    assert.equal(pass, i, `pass ${i} ran on time despite earlier failures`);
  }
  assert.equal(throwsSync, 4, 'a loop that always throws still runs every interval');

  const failures = lines.filter(
    (line) => line.msg === 'loop pass failed; it will run again at its next interval',
  );
  assert.deepEqual(
    failures.filter((line) => line.loop === 'test.flaky').map((line) => [line.level, line.err?.message]),
    [
      [50, 'sync-looking failure'],
      [50, 'async failure'],
    ],
  );
  assert.equal(failures.filter((line) => line.loop === 'test.sync-throw').length, 4);
  assert.ok(
    failures.every((line) => typeof line.err?.stack === 'string'),
    'the stack is logged',
  );

  const status = loops.list().find((loop) => loop.name === 'test.flaky')!;
  assert.equal(status.runs, 4);
  assert.equal(status.failures, 2);
  assert.equal(status.lastError, null, 'a good pass clears the last error');
  assert.equal(status.running, false);
  const sync = loops.list().find((loop) => loop.name === 'test.sync-throw')!;
  assert.equal(sync.failures, 4);
  assert.equal(sync.lastError, 'thrown synchronously');
  await loops.stop();
});

test('passes never overlap: a slow pass delays the next one, and runNow during a pass does nothing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const loops = createLoopRegistry({ log: createLogger('silent') });
  let started = 0;
  let active = 0;
  let maxActive = 0;
  const gates: ReturnType<typeof deferred>[] = [];
  loops.register({
    name: 'test.slow',
    intervalMs: 10,
    immediate: true,
    run: async () => {
      started += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      active -= 1;
    },
  });
  loops.start();
  t.mock.timers.tick(0);
  await settle();
  assert.equal(started, 1, 'an immediate loop runs its first pass at once');
  assert.equal(loops.list()[0]!.running, true);

  t.mock.timers.tick(10_000);
  await settle();
  assert.equal(started, 1, 'a thousand intervals later the slow pass is still the only one');
  await loops.runNow('test.slow');
  assert.equal(started, 1, 'runNow does not start a second pass while one is in flight');

  gates[0]!.resolve();
  await settle();
  assert.equal(started, 1, 'the next pass waits one full interval after the previous ended');
  t.mock.timers.tick(9);
  await settle();
  assert.equal(started, 1);
  t.mock.timers.tick(1);
  await settle();
  assert.equal(started, 2);
  gates[1]!.resolve();
  await settle();

  assert.equal(maxActive, 1);
  assert.equal(loops.list()[0]!.runs, 2);
  await loops.stop();
});

test('stop() aborts the signal, waits for the pass in flight, and no pass runs afterwards', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const loops = createLoopRegistry({ log: createLogger('silent') });
  let passes = 0;
  let seenSignal: AbortSignal | undefined;
  let finishedCleanup = false;
  const gate = deferred();
  loops.register({
    name: 'test.cooperative',
    intervalMs: 50,
    run: async (signal) => {
      passes += 1;
      seenSignal = signal;
      await gate.promise;
      // Cleanup the pass still does after being told to stop.
      await new Promise((resolve) => setImmediate(resolve));
      finishedCleanup = true;
    },
  });
  let otherPasses = 0;
  loops.register({
    name: 'test.idle',
    intervalMs: 50,
    run: () => {
      otherPasses += 1;
    },
  });
  loops.start();
  t.mock.timers.tick(50);
  await settle();
  assert.equal(passes, 1);
  assert.equal(otherPasses, 1);
  assert.equal(seenSignal?.aborted, false);

  let stopped = false;
  const stopping = loops.stop().then(() => {
    stopped = true;
  });
  assert.equal(seenSignal.aborted, true, 'stop aborts the signal passes receive');
  await settle();
  assert.equal(stopped, false, 'stop waits while a pass is in flight');

  gate.resolve();
  await stopping;
  assert.equal(finishedCleanup, true, 'stop resolved only after the pass finished');

  t.mock.timers.tick(10_000);
  await settle();
  assert.equal(passes, 1, 'no pass after stop');
  assert.equal(otherPasses, 1, 'every loop is stopped');
});

test('registering a loop name twice throws', () => {
  const loops = createLoopRegistry({ log: createLogger('silent') });
  loops.register({ name: 'test.once', intervalMs: 1000, run: () => {} });
  assert.throws(
    () => loops.register({ name: 'test.once', intervalMs: 5, run: () => {} }),
    /loop "test.once" is registered twice/,
  );
  assert.deepEqual(
    loops.list().map((loop) => [loop.name, loop.intervalMs]),
    [['test.once', 1000]],
    'the first registration stands',
  );
});

test('a loop registered after start is scheduled too', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const loops = createLoopRegistry({ log: createLogger('silent') });
  loops.start();
  let passes = 0;
  loops.register({
    name: 'test.late',
    intervalMs: 20,
    run: () => {
      passes += 1;
    },
  });
  t.mock.timers.tick(20);
  await settle();
  t.mock.timers.tick(20);
  await settle();
  assert.equal(passes, 2);
  await loops.stop();
});

test('stop() also waits for a pass started by runNow, and runNow after stop runs nothing', async () => {
  const loops = createLoopRegistry({ log: createLogger('silent') });
  const gate = deferred();
  let passes = 0;
  let finished = false;
  loops.register({
    name: 'test.manual',
    intervalMs: 3600_000,
    run: async () => {
      passes += 1;
      await gate.promise;
      finished = true;
    },
  });
  loops.start();
  const manual = loops.runNow('test.manual');
  assert.equal(passes, 1);

  let stopped = false;
  const stopping = loops.stop().then(() => {
    stopped = true;
  });
  await settle();
  assert.equal(stopped, false, 'stop waits for the manual pass (the database is closed right after stop)');
  gate.resolve();
  await stopping;
  assert.equal(finished, true);
  await manual;

  await loops.runNow('test.manual');
  assert.equal(passes, 1, 'a stopped registry runs no pass, even on demand');
});
