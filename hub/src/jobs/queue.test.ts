import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { manualClock } from '../clock.js';
import { configSchema } from '../config/schema.js';
import { closeDatabase, type Db, openDatabase } from '../db/client.js';
import { EventBus, type LiveEvent } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { createLogger } from '../log/logger.js';
import { backoffDelay, createJobQueue, type Job } from './queue.js';

/**
 * The persistent job queue against a real SQLite file. Time is a manual clock, so backoff is
 * proven by moving the clock, never by waiting.
 */

const BASE_MS = 1000;
const MAX_MS = 60_000;
const HALF = () => 0.5; // jitter factor exactly 1.0

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDbFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-queue-'));
  dirs.push(dir);
  return path.join(dir, 'hearth.db');
}

function makeQueue(db: Db, clock = manualClock(), jobs: Record<string, number> = {}) {
  const bus = new EventBus(clock, 1000);
  const systemEvents = createSystemEvents({ db, clock, bus });
  const config = configSchema.parse({
    jobs: {
      pollIntervalMs: 60_000,
      backoffBaseMs: BASE_MS,
      backoffMaxMs: MAX_MS,
      defaultMaxAttempts: 3,
      ...jobs,
    },
  }).jobs;
  const queue = createJobQueue({
    db,
    clock,
    log: createLogger('silent'),
    config,
    systemEvents,
    bus,
    random: HALF,
  });
  return { queue, clock, bus, systemEvents };
}

function setup() {
  const file = tempDbFile();
  const db = openDatabase(file);
  return { file, db, ...makeQueue(db) };
}

/** Polls a condition (never a fixed sleep); fails with `what` after `timeoutMs`. */
async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('a queued job runs once, gets its payload and ends succeeded; the bus hears every transition', async () => {
  const { db, queue, clock, bus } = setup();
  const heard: LiveEvent[] = [];
  bus.subscribe((event) => heard.push(event));
  const seen: { payload: unknown; jobId: number; aborted: boolean }[] = [];
  queue.define<{ n: number }>({
    kind: 'test.echo',
    async handle(payload, { job, signal }) {
      seen.push({ payload, jobId: job.id, aborted: signal.aborted });
    },
  });

  const job = queue.enqueue('test.echo', { n: 1 });
  assert.equal(job.status, 'queued');
  assert.equal(job.attempts, 0);

  const started = queue.pump();
  assert.deepEqual(
    started.map((j) => [j.id, j.status, j.attempts]),
    [[job.id, 'running', 1]],
  );
  await queue.idle();

  const done = queue.get(job.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 1);
  assert.equal(done.lastError, null);
  assert.equal(done.finishedAt?.getTime(), clock.now());
  assert.deepEqual(seen, [{ payload: { n: 1 }, jobId: job.id, aborted: false }]);
  assert.deepEqual(
    heard.filter((e) => e.topic === 'jobs').map((e) => (e.data as { status: string }).status),
    ['queued', 'running', 'succeeded'],
  );

  assert.deepEqual(queue.pump(), [], 'a succeeded job never runs again');
  closeDatabase(db);
});

test('a failing job is retried with exponential backoff: runAt moves forward and nothing runs early', async () => {
  const { db, queue, clock } = setup();
  let calls = 0;
  queue.define({
    kind: 'test.flaky',
    maxAttempts: 5,
    async handle() {
      calls += 1;
      if (calls <= 2) throw new Error(`flaky #${calls}`);
    },
  });
  const job = queue.enqueue('test.flaky', null);

  for (const attempt of [1, 2]) {
    const failedAt = clock.now();
    assert.equal(queue.pump().length, 1, `attempt ${attempt} starts`);
    await queue.idle();
    const waiting = queue.get(job.id);
    const delay = backoffDelay(attempt, BASE_MS, MAX_MS, HALF);
    assert.equal(delay, BASE_MS * 2 ** (attempt - 1), 'jitter factor 1.0 gives the plain exponential delay');
    assert.equal(waiting.status, 'queued');
    assert.equal(waiting.attempts, attempt);
    assert.equal(waiting.lastError, `flaky #${attempt}`);
    assert.equal(waiting.runAt.getTime(), failedAt + delay, 'runAt is pushed forward by the backoff');

    assert.deepEqual(queue.pump(), [], 'nothing starts right after the failure');
    clock.advance(delay - 1);
    assert.deepEqual(queue.pump(), [], 'nothing starts 1 ms before the backoff elapses');
    clock.advance(1);
  }

  assert.equal(queue.pump().length, 1, 'the third attempt starts once its backoff elapsed');
  await queue.idle();
  const done = queue.get(job.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 3);
  assert.equal(done.lastError, null, 'a success clears the old error');
  assert.equal(calls, 3);
  closeDatabase(db);
});

test('backoff is capped and its jitter stays within ±25 %', () => {
  assert.equal(backoffDelay(30, BASE_MS, MAX_MS, HALF), MAX_MS);
  assert.equal(
    backoffDelay(1, BASE_MS, MAX_MS, () => 0),
    750,
  );
  assert.equal(
    backoffDelay(1, BASE_MS, MAX_MS, () => 1),
    1250,
  );
});

test('a job that keeps failing is dead after maxAttempts, with a job.dead system event; retry revives it', async () => {
  const { db, queue, clock, systemEvents } = setup();
  let fail = true;
  let calls = 0;
  queue.define({
    kind: 'test.doomed',
    maxAttempts: 2,
    async handle() {
      calls += 1;
      if (fail) throw new Error('disk on fire');
    },
  });
  const job = queue.enqueue('test.doomed', { file: 'x' });
  assert.equal(job.maxAttempts, 2, 'the kind sets the attempts of its jobs');

  for (let attempt = 1; attempt <= 2; attempt += 1) {
    assert.equal(queue.pump().length, 1);
    await queue.idle();
    clock.advance(MAX_MS);
  }
  const dead = queue.get(job.id);
  assert.equal(dead.status, 'dead');
  assert.equal(dead.attempts, 2);
  assert.equal(dead.lastError, 'disk on fire');
  assert.ok(dead.finishedAt);
  assert.equal(calls, 2);

  clock.advance(24 * 3600_000);
  assert.deepEqual(queue.pump(), [], 'a dead job is never picked up by itself');

  const events = systemEvents.list({ limit: 50 }).filter((e) => e.kind === 'job.dead');
  assert.equal(events.length, 1);
  assert.equal(events[0]!.subject, `job:${job.id}`);
  assert.equal(events[0]!.severity, 'error');
  assert.match(events[0]!.message, /disk on fire/);
  assert.deepEqual(
    queue.list({ status: 'dead', limit: 10 }).map((j) => j.id),
    [job.id],
  );

  assert.throws(() => queue.retry(job.id + 1000), { status: 404 });
  fail = false;
  const revived = queue.retry(job.id);
  assert.equal(revived.status, 'queued');
  assert.equal(revived.attempts, 0, 'a retry gives a fresh set of attempts');
  assert.equal(revived.finishedAt, null);
  assert.equal(queue.pump().length, 1);
  await queue.idle();
  const done = queue.get(job.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 1);
  assert.throws(() => queue.retry(job.id), { status: 404 }, 'only dead jobs can be retried');
  closeDatabase(db);
});

test('per-kind concurrency is bounded: 5 blocking jobs with concurrency 2 run 2 at a time, in order', async () => {
  const { db, queue } = setup();
  const gates = new Map<number, ReturnType<typeof deferred>>();
  const started: number[] = [];
  let active = 0;
  let maxActive = 0;
  queue.define({
    kind: 'test.slow',
    concurrency: 2,
    async handle(_payload, { job }) {
      active += 1;
      maxActive = Math.max(maxActive, active);
      started.push(job.id);
      const gate = deferred();
      gates.set(job.id, gate);
      await gate.promise;
      active -= 1;
    },
  });
  let otherRan = false;
  queue.define({
    kind: 'test.other',
    async handle() {
      otherRan = true;
    },
  });
  const ids = Array.from({ length: 5 }, (_, i) => queue.enqueue('test.slow', { i }).id);
  const running = () => queue.list({ status: 'running', kind: 'test.slow', limit: 10 }).length;

  queue.start();
  try {
    await waitFor(() => started.length === 2, 'the first two jobs to start');
    assert.equal(running(), 2);
    assert.equal(queue.list({ status: 'queued', kind: 'test.slow', limit: 10 }).length, 3);
    assert.deepEqual(queue.pump(), [], 'an explicit pump starts nothing while the kind is full');

    queue.enqueue('test.other', null);
    await waitFor(() => otherRan, 'another kind to run while test.slow is full');

    for (let finished = 1; finished <= 5; finished += 1) {
      gates.get(started[finished - 1]!)!.resolve();
      const expectStarted = Math.min(5, finished + 2);
      await waitFor(
        () => started.length === expectStarted && queue.get(started[finished - 1]!).status === 'succeeded',
        `job ${finished} to finish and ${expectStarted} to have started`,
      );
      assert.ok(running() <= 2, 'never more than 2 running rows');
    }
    await waitFor(() => started.every((id) => queue.get(id).status === 'succeeded'), 'all jobs to succeed');
    assert.deepEqual(started, ids, 'jobs start in the order they were queued');
    assert.equal(maxActive, 2);
  } finally {
    for (const gate of gates.values()) gate.resolve();
    await queue.stop();
    closeDatabase(db);
  }
});

test('jobs stay in the database across closing and reopening it, and run after the reopen', async () => {
  const file = tempDbFile();
  const first = openDatabase(file);
  const q1 = makeQueue(first).queue;
  const queued = [
    q1.enqueue('test.later', { photo: 'a.jpg', tags: ['porch'] }),
    q1.enqueue('test.later', { photo: 'b.jpg' }),
    q1.enqueue('test.later', null, { maxAttempts: 9 }),
  ];
  closeDatabase(first);

  const second = openDatabase(file);
  const { queue } = makeQueue(second);
  const payloads: unknown[] = [];
  queue.define({
    kind: 'test.later',
    concurrency: 3,
    async handle(payload) {
      payloads.push(payload);
    },
  });
  const listed = queue.list({ limit: 10 }).sort((a, b) => a.id - b.id);
  assert.deepEqual(
    listed.map((j) => [j.id, j.status, j.payload, j.maxAttempts]),
    queued.map((j) => [j.id, 'queued', j.payload, j.maxAttempts]),
  );
  assert.equal(listed[2]!.maxAttempts, 9);

  assert.equal(queue.pump().length, 3);
  await queue.idle();
  assert.ok(queue.list({ limit: 10 }).every((j: Job) => j.status === 'succeeded'));
  assert.deepEqual(payloads, [{ photo: 'a.jpg', tags: ['porch'] }, { photo: 'b.jpg' }, null]);
  closeDatabase(second);
});

test('recoverAbandoned requeues a job a dead process left running, and dead-letters one out of attempts', async () => {
  const file = tempDbFile();
  const clock = manualClock();

  // A "process" claims two jobs and never finishes them, then goes away without stopping its queue.
  const before = openDatabase(file);
  const dying = makeQueue(before, clock).queue;
  dying.define({ kind: 'test.hang', concurrency: 5, handle: () => new Promise<void>(() => {}) });
  const again = dying.enqueue('test.hang', { n: 1 });
  const lastChance = dying.enqueue('test.hang', { n: 2 }, { maxAttempts: 1 });
  assert.equal(dying.pump().length, 2);
  closeDatabase(before);

  clock.advance(5000);
  const db = openDatabase(file);
  const { queue, systemEvents } = makeQueue(db, clock);
  let ran = 0;
  queue.define({
    kind: 'test.hang',
    concurrency: 5,
    async handle() {
      ran += 1;
    },
  });
  assert.deepEqual(
    queue
      .list({ status: 'running', limit: 10 })
      .map((j) => j.id)
      .sort(),
    [again.id, lastChance.id].sort(),
  );

  assert.equal(queue.recoverAbandoned(), 2);
  const requeued = queue.get(again.id);
  assert.equal(requeued.status, 'queued');
  assert.equal(requeued.attempts, 1, 'the interrupted run counts as an attempt');
  assert.equal(requeued.runAt.getTime(), clock.now());
  assert.match(requeued.lastError ?? '', /interrupted/);

  const dead = queue.get(lastChance.id);
  assert.equal(dead.status, 'dead', 'a job that may have killed the process cannot loop forever');
  assert.equal(dead.finishedAt?.getTime(), clock.now());
  const deadEvents = systemEvents.list({ limit: 10 }).filter((e) => e.kind === 'job.dead');
  assert.deepEqual(
    deadEvents.map((e) => e.subject),
    [`job:${lastChance.id}`],
    'a job dead-lettered at recovery is announced like any other dead job',
  );

  assert.equal(queue.recoverAbandoned(), 0, 'nothing left to recover');
  assert.equal(queue.pump().length, 1);
  await queue.idle();
  assert.equal(ran, 1);
  const done = queue.get(again.id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 2);
  assert.equal(queue.get(lastChance.id).status, 'dead');
  closeDatabase(db);
});

test('a job that outlives its timeoutMs is aborted through its signal and counts as a failed attempt', async () => {
  const { db, queue } = setup();
  const reasons: unknown[] = [];
  queue.define({
    kind: 'test.hung',
    timeoutMs: 30,
    maxAttempts: 3,
    handle: (_payload, { signal }) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          reasons.push(signal.reason);
          resolve();
        });
      }),
  });
  const job = queue.enqueue('test.hung', null);
  // The job timeout is an unref'd timer (in the hub the server keeps the process alive); so does this.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    assert.equal(queue.pump().length, 1);
    await queue.idle();
  } finally {
    clearInterval(keepAlive);
  }
  const failed = queue.get(job.id);
  assert.equal(failed.status, 'queued', 'a timed-out job is retried like any failure');
  assert.equal(failed.attempts, 1);
  assert.match(failed.lastError ?? '', /timed out after 30 ms/);
  assert.equal(
    (reasons[0] as Error | undefined)?.name,
    'TimeoutError',
    'the handler was told through its signal',
  );
  closeDatabase(db);
});

test('stop() aborts running handlers and leaves their jobs running for the next start, which runs them again', async () => {
  const { file, db, queue } = setup();
  let sawAbort = false;
  queue.define({
    kind: 'test.long',
    handle: (_payload, { signal }) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve();
        });
      }),
  });
  const job = queue.enqueue('test.long', null);
  queue.start();
  await waitFor(() => queue.get(job.id).status === 'running', 'the job to start');
  await queue.stop();
  assert.equal(sawAbort, true, 'the handler was told to stop');
  assert.equal(
    queue.get(job.id).status,
    'running',
    'a stop is not the job failing: no attempt is spent on it',
  );
  assert.deepEqual(queue.pump(), [], 'a stopped queue claims nothing');
  closeDatabase(db);

  const reopened = openDatabase(file);
  const next = makeQueue(reopened).queue;
  next.define({ kind: 'test.long', handle: async () => {} });
  next.start();
  try {
    await waitFor(() => next.get(job.id).status === 'succeeded', 'the job to run again after the restart');
    assert.equal(next.get(job.id).attempts, 2);
  } finally {
    await next.stop();
    closeDatabase(reopened);
  }
});
