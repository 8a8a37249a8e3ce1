import { z } from 'zod';
import type { LoopRegistry } from '../../jobs/loops.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { RoutineService } from './routine.service.js';

export const ROUTINE_TRAIN_JOB = 'ai.routine.train';

const trainPayload = z.object({ subjectId: z.number().int().positive() }).strict();

/**
 * `ai.routine.train` (one subject's new version) and two loops: `ai.routine.nightly` enqueues a retraining
 * for each subject not yet trained this routine day (which starts at 04:00 in the household zone, once the
 * day before is complete), `ai.routine.score` scores the day so far and tells care.
 */
export function registerRoutineJobs(deps: {
  queue: JobQueue;
  loops: LoopRegistry;
  routine: RoutineService;
  scoreEveryMs?: number;
}) {
  const { queue, routine } = deps;
  queue.define<unknown>({
    kind: ROUTINE_TRAIN_JOB,
    maxAttempts: 3,
    timeoutMs: 5 * 60_000,
    async handle(payload) {
      routine.train(trainPayload.parse(payload).subjectId);
    },
  });

  const jobs = {
    /** Loop pass: a training job for each subject due and not already waiting. */
    enqueueNightly(): number {
      const waiting = new Set(
        ['queued', 'running'].flatMap((status) =>
          queue
            .list({ kind: ROUTINE_TRAIN_JOB, status: status as 'queued' | 'running', limit: 1000 })
            .map((job) => trainPayload.safeParse(job.payload).data?.subjectId),
        ),
      );
      let enqueued = 0;
      for (const subjectId of routine.subjectsToTrain()) {
        if (waiting.has(subjectId) || routine.trainedToday(subjectId)) continue;
        queue.enqueue(ROUTINE_TRAIN_JOB, { subjectId });
        enqueued += 1;
      }
      return enqueued;
    },
  };
  deps.loops.register({
    name: 'ai.routine.nightly',
    intervalMs: 10 * 60_000,
    run: () => jobs.enqueueNightly(),
  });
  deps.loops.register({
    name: 'ai.routine.score',
    intervalMs: deps.scoreEveryMs ?? 5 * 60_000,
    run: () => routine.checkAll(),
  });
  return jobs;
}
