import { and, asc, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import { deadline } from '../protocol/deadline.js';
import { type JobStatus, jobs } from './jobs.schema.js';

export type Job = typeof jobs.$inferSelect;

export interface JobContext {
  job: Job;
  /** Aborted when the hub stops or the job's time runs out. */
  signal: AbortSignal;
}

export interface JobKind<Payload = unknown> {
  kind: string;
  /** How many jobs of this kind run at once. */
  concurrency?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  handle(payload: Payload, context: JobContext): Promise<void>;
}

/** Delay before attempt `attempt + 1`: exponential, capped, with ±25 % jitter so retries spread out. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.75 + random() * 0.5));
}

/**
 * The hub's one persistent job queue. A job row is the truth: it survives restarts, a job that
 * was running when the process died is picked up again at start (counting as an attempt, so a
 * job that kills the hub cannot loop forever), failures retry with backoff and end dead-lettered
 * with a system event after `maxAttempts`.
 */
export function createJobQueue(deps: {
  db: Db;
  clock: Clock;
  log: Logger;
  config: Config['jobs'];
  systemEvents: SystemEventService;
  bus?: EventBus | undefined;
  random?: () => number;
}) {
  const { db, clock, log, config } = deps;
  const kinds = new Map<string, Required<Omit<JobKind, 'handle'>> & { handle: JobKind['handle'] }>();
  const running = new Map<number, Promise<void>>();
  const runningPerKind = new Map<string, number>();
  const stopper = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let pumpQueued = false;

  function announce(job: Job) {
    deps.bus?.publish('jobs', { id: job.id, kind: job.kind, status: job.status, attempts: job.attempts });
  }

  function announceDead(job: Job, message: string, error: unknown) {
    log.error({ job: job.id, kind: job.kind, attempts: job.attempts, err: error }, 'job dead-lettered');
    deps.systemEvents.record({
      kind: 'job.dead',
      severity: 'error',
      subject: `job:${job.id}`,
      message: `Job ${job.kind} #${job.id} failed ${job.attempts} times and was set aside: ${message}`,
      details: { kind: job.kind, id: job.id, attempts: job.attempts, error: message },
    });
    announce(job);
  }

  function finish(job: Job, error: unknown) {
    const now = clock.now();
    if (!error) {
      const done = db
        .update(jobs)
        .set({ status: 'succeeded', finishedAt: new Date(now), lastError: null })
        .where(eq(jobs.id, job.id))
        .returning()
        .get();
      if (done) announce(done);
      return;
    }
    const message = (error as Error)?.message ?? String(error);
    if (job.attempts >= job.maxAttempts) {
      const dead = db
        .update(jobs)
        .set({ status: 'dead', finishedAt: new Date(now), lastError: message })
        .where(eq(jobs.id, job.id))
        .returning()
        .get();
      if (dead) announceDead(dead, message, error);
      return;
    }
    const delay = backoffDelay(job.attempts, config.backoffBaseMs, config.backoffMaxMs, deps.random);
    const retry = db
      .update(jobs)
      .set({ status: 'queued', runAt: new Date(now + delay), lastError: message })
      .where(eq(jobs.id, job.id))
      .returning()
      .get();
    log.warn(
      { job: job.id, kind: job.kind, attempts: job.attempts, retryInMs: delay, err: error },
      'job failed; will retry',
    );
    if (retry) announce(retry);
  }

  function start(job: Job) {
    const spec = kinds.get(job.kind)!;
    runningPerKind.set(job.kind, (runningPerKind.get(job.kind) ?? 0) + 1);
    const limit = deadline(spec.timeoutMs, stopper.signal);
    const signal = limit.signal;
    const execution = (async () => {
      let failure: unknown = null;
      try {
        await Promise.race([
          spec.handle(job.payload, { job, signal }),
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), {
              once: true,
            }),
          ),
        ]);
        // A handler that honours its signal returns early when the time runs out: that is not a success.
        if (signal.aborted) failure = signal.reason ?? new Error('aborted');
      } catch (error) {
        failure = error ?? new Error('job failed');
      }
      // A stop is not the job's fault: leave it `running` so the next start picks it up.
      if (!stopper.signal.aborted) finish(job, failure);
    })().finally(() => {
      limit.done();
      running.delete(job.id);
      runningPerKind.set(job.kind, (runningPerKind.get(job.kind) ?? 1) - 1);
      schedulePump();
    });
    running.set(job.id, execution);
  }

  /** One scheduling pass: claims due jobs up to each kind's concurrency and starts them. */
  function pump(): Job[] {
    if (stopper.signal.aborted) return [];
    const now = clock.now();
    const started: Job[] = [];
    for (const [kind, spec] of kinds) {
      const free = spec.concurrency - (runningPerKind.get(kind) ?? 0);
      if (free <= 0) continue;
      const claimed = db.transaction((tx) => {
        const due = tx
          .select({ id: jobs.id })
          .from(jobs)
          .where(and(eq(jobs.kind, kind), eq(jobs.status, 'queued'), lte(jobs.runAt, new Date(now))))
          .orderBy(asc(jobs.runAt), asc(jobs.id))
          .limit(free)
          .all();
        if (due.length === 0) return [];
        return tx
          .update(jobs)
          .set({ status: 'running', attempts: sql`${jobs.attempts} + 1`, startedAt: new Date(now) })
          .where(
            inArray(
              jobs.id,
              due.map((row) => row.id),
            ),
          )
          .returning()
          .all();
      });
      for (const job of claimed) {
        announce(job);
        start(job);
        started.push(job);
      }
    }
    return started;
  }

  function schedulePump() {
    if (pumpQueued || !timer) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pump();
    });
  }

  const queue = {
    define<Payload>(spec: JobKind<Payload>): void {
      if (kinds.has(spec.kind)) throw new Error(`job kind "${spec.kind}" is defined twice`);
      kinds.set(spec.kind, {
        kind: spec.kind,
        concurrency: spec.concurrency ?? 1,
        maxAttempts: spec.maxAttempts ?? config.defaultMaxAttempts,
        timeoutMs: spec.timeoutMs ?? 10 * 60_000,
        handle: spec.handle as JobKind['handle'],
      });
    },

    enqueue(kind: string, payload: unknown, options: { runAt?: number; maxAttempts?: number } = {}): Job {
      const now = clock.now();
      const job = db
        .insert(jobs)
        .values({
          kind,
          // The column is NOT NULL JSON: an absent payload is stored as JSON `null`, not SQL NULL.
          payload: payload ?? sql`'null'`,
          maxAttempts: options.maxAttempts ?? kinds.get(kind)?.maxAttempts ?? config.defaultMaxAttempts,
          runAt: new Date(options.runAt ?? now),
          createdAt: new Date(now),
        })
        .returning()
        .get();
      announce(job);
      schedulePump();
      return job;
    },

    /** Jobs a dead process left `running` go back to the queue (or to dead, if out of attempts). */
    recoverAbandoned(): number {
      const now = new Date(clock.now());
      const message = 'interrupted: the hub stopped while this job ran';
      const abandoned = db.select().from(jobs).where(eq(jobs.status, 'running')).all();
      for (const job of abandoned) {
        const outOfAttempts = job.attempts >= job.maxAttempts;
        const updated = db
          .update(jobs)
          .set({
            status: outOfAttempts ? 'dead' : 'queued',
            runAt: now,
            lastError: message,
            ...(outOfAttempts ? { finishedAt: now } : {}),
          })
          .where(and(eq(jobs.id, job.id), eq(jobs.status, 'running')))
          .returning()
          .get();
        // Dead-lettered here is dead-lettered all the same: the owner hears of it.
        if (updated?.status === 'dead') announceDead(updated, message, null);
        else if (updated) announce(updated);
      }
      if (abandoned.length)
        log.warn({ count: abandoned.length }, 'jobs interrupted by the last stop were requeued');
      return abandoned.length;
    },

    pump,

    /** Resolves when every job started so far has finished (tests and shutdown). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },

    start(): void {
      queue.recoverAbandoned();
      timer = setInterval(pump, config.pollIntervalMs);
      timer.unref();
      pump();
    },

    /** Stops claiming, aborts running handlers and waits up to `graceMs` for them. */
    async stop(graceMs = 5000): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      stopper.abort(new Error('hub stopping'));
      const settled = Promise.allSettled([...running.values()]);
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    },

    list(query: { status?: JobStatus | undefined; kind?: string | undefined; limit: number }): Job[] {
      const filters = [];
      if (query.status) filters.push(eq(jobs.status, query.status));
      if (query.kind) filters.push(eq(jobs.kind, query.kind));
      return db
        .select()
        .from(jobs)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(jobs.id))
        .limit(query.limit)
        .all();
    },

    get(id: number): Job {
      const job = db.select().from(jobs).where(eq(jobs.id, id)).get();
      if (!job) throw notFound('Job');
      return job;
    },

    /** Gives a dead job a fresh set of attempts. */
    retry(id: number): Job {
      const job = db
        .update(jobs)
        .set({ status: 'queued', attempts: 0, runAt: new Date(clock.now()), finishedAt: null })
        .where(and(eq(jobs.id, id), eq(jobs.status, 'dead')))
        .returning()
        .get();
      if (!job) throw notFound('Dead job');
      announce(job);
      schedulePump();
      return job;
    },

    purgeFinishedBefore(cutoff: number): number {
      return db
        .delete(jobs)
        .where(and(eq(jobs.status, 'succeeded'), lt(jobs.finishedAt, new Date(cutoff))))
        .run().changes;
    },
  };
  return queue;
}

export type JobQueue = ReturnType<typeof createJobQueue>;
