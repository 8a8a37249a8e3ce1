import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../../http/access.js';
import type { AppEnv } from '../../http/env.js';
import { validate } from '../../http/validate.js';
import type { RoutineService } from './routine.service.js';

const idParam = z.object({ id: z.coerce.number().int().positive() });
const versionParam = idParam.extend({ version: z.coerce.number().int().positive() });

/** `/api/subjects/:id/routine`: a person's routine model, its versions and how the day so far looks to it. */
export function routineRoutes(deps: { allow: AllowFn; routine: RoutineService }) {
  const { allow, routine } = deps;
  return new Hono<AppEnv>()
    .get(
      '/:id/routine',
      allow(
        'viewer',
        "A subject's routine model: the active version, every kept version with its figures, the day's anomaly score and reasons",
      ),
      validate('param', idParam),
      (c) => c.json(routine.status(c.req.valid('param').id)),
    )
    .post(
      '/:id/routine/train',
      allow(
        'member',
        'Trains a new routine version now on the last weeks (active at once when it can score)',
      ),
      validate('param', idParam),
      (c) => c.json({ version: routine.train(c.req.valid('param').id) }, 201),
    )
    .post(
      '/:id/routine/versions/:version/activate',
      allow('member', 'Makes a kept routine version the active one (409 if it cannot score)'),
      validate('param', versionParam),
      (c) => {
        const { id, version } = c.req.valid('param');
        return c.json({ version: routine.activate(id, version) });
      },
    )
    .post(
      '/:id/routine/rollback',
      allow('member', 'Goes back to the newest routine version before the active one that can score'),
      validate('param', idParam),
      (c) => c.json({ version: routine.rollback(c.req.valid('param').id) }),
    );
}
