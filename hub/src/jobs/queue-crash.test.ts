import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../clock.js';
import { configSchema } from '../config/schema.js';
import { closeDatabase, openDatabase } from '../db/client.js';
import { EventBus } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { createLogger } from '../log/logger.js';
import { REPO_ROOT } from '../testing/spawn-hub.js';
import { createJobQueue } from './queue.js';

/**
 * A real crash: a separate process runs the queue with a job that never finishes while it keeps
 * writing, and is SIGKILLed. The database must be intact and every job must still complete.
 */

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'queue-crash-child.ts');

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('after SIGKILL mid-job the database is intact and every job completes, the interrupted one on attempt 2', async (t) => {
  // Undone last-first: processes and the database before the folder they live in.
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const step of undo.reverse()) await step();
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-queue-crash-'));
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'hearth.db');

  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', CHILD, file], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  undo.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  const enqueued = new Set<number>();
  let runningId: number | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [word, id] = line.split(' ');
    if (word === 'enqueued') enqueued.add(Number(id));
    if (word === 'running') runningId = Number(id);
  });
  let early: NodeJS.Signals | number | null | undefined;
  void exited.then((how) => {
    early = how;
  });

  await waitFor(
    () => early !== undefined || (runningId !== undefined && enqueued.size >= 40),
    'the child to run a stuck job and enqueue 40 jobs',
  );
  assert.equal(early, undefined, `the child died on its own:\n${stderr}`);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const acknowledged = [...enqueued];

  const db = openDatabase(file);
  undo.push(() => closeDatabase(db));
  assert.equal(db.$client.pragma('integrity_check', { simple: true }), 'ok');

  const bus = new EventBus(systemClock, 10);
  const systemEvents = createSystemEvents({ db, clock: systemClock, bus });
  const config = configSchema.parse({ jobs: { pollIntervalMs: 10 } }).jobs;
  const queue = createJobQueue({ db, clock: systemClock, log: createLogger('silent'), config, systemEvents });
  const ran = new Map<number, number>();
  const record = async (_payload: unknown, { job }: { job: { id: number } }) => {
    ran.set(job.id, (ran.get(job.id) ?? 0) + 1);
  };
  queue.define({ kind: 'crash.stuck', concurrency: 2, handle: record });
  queue.define({ kind: 'crash.filler', concurrency: 4, handle: record });

  const before = new Map(queue.list({ limit: 500 }).map((job) => [job.id, job]));
  for (const id of acknowledged)
    assert.ok(before.has(id), `job ${id} was acknowledged before the kill but is gone`);
  const interrupted = [...before.values()].filter((job) => job.status === 'running');
  assert.ok(
    interrupted.some((job) => job.id === runningId),
    'the job running at the kill is still marked running',
  );
  assert.equal(before.get(runningId!)!.attempts, 1);

  assert.equal(queue.recoverAbandoned(), interrupted.length);
  queue.start();
  undo.push(() => queue.stop());
  await waitFor(
    () =>
      queue.list({ status: 'queued', limit: 1 }).length === 0 &&
      queue.list({ status: 'running', limit: 1 }).length === 0,
    'every job to finish',
    20_000,
  );

  const after = queue.list({ limit: 500 });
  assert.equal(after.length, before.size, 'no job lost or added');
  for (const job of after) {
    const was = before.get(job.id)!;
    assert.equal(
      job.status,
      'succeeded',
      `job ${job.id} (${job.kind}) ended ${job.status}: ${job.lastError}`,
    );
    if (was.status === 'succeeded') {
      assert.equal(ran.has(job.id), false, `job ${job.id} had succeeded already and must not run again`);
      assert.equal(job.attempts, 1);
    } else {
      assert.equal(ran.get(job.id), 1, `job ${job.id} ran once after the restart`);
      assert.equal(
        job.attempts,
        was.status === 'running' ? 2 : 1,
        `attempts of job ${job.id} (was ${was.status})`,
      );
    }
  }
  assert.equal(
    after.find((job) => job.id === runningId)!.attempts,
    2,
    'the interrupted run counted as an attempt',
  );
});
