import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { JOB_STATUSES } from './jobs.schema.js';
import type { LoopRegistry } from './loops.js';
import type { JobQueue } from './queue.js';

const listQuery = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    kind: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

export function jobRoutes(deps: { allow: AllowFn; queue: JobQueue; loops: LoopRegistry }) {
  const { allow, queue, loops } = deps;
  return new Hono<AppEnv>()
    .get('/jobs', allow('member', 'Background jobs, newest first'), validate('query', listQuery), (c) =>
      c.json({ jobs: queue.list(c.req.valid('query')) }),
    )
    .post(
      '/jobs/:id/retry',
      allow('owner', 'Give a dead-lettered job a fresh set of attempts'),
      validate('param', z.object({ id: z.coerce.number().int().positive() })),
      (c) => c.json({ job: queue.retry(c.req.valid('param').id) }),
    )
    .get('/loops', allow('member', 'Periodic loops and how their last pass went'), (c) =>
      c.json({ loops: loops.list() }),
    );
}
