import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { NasHealth } from '../storage/index.js';
import { budgetSchema, RetentionRefused, type RetentionService } from './retention.service.js';

export interface SpoolStatus {
  nas: NasHealth;
  spool: { usedBytes: number; quotaBytes: number; segments: number };
}

export function retentionRoutes(deps: {
  allow: AllowFn;
  retention: RetentionService;
  /** NAS health and spool fill, from recording. */
  spoolStatus: () => Promise<SpoolStatus>;
}) {
  const { allow, retention } = deps;
  return new Hono<AppEnv>()
    .get(
      '/storage',
      allow(
        'viewer',
        'NAS health, spool, the storage budget, usage by category and camera, and the forecast',
      ),
      async (c) => {
        const { limits, categories, cameras } = retention.usage();
        return c.json({
          ...(await deps.spoolStatus()),
          limits,
          categories,
          cameras,
          lastRun: retention.lastRun(),
        });
      },
    )
    .get('/retention', allow('viewer', 'The storage budget (retention settings)'), (c) =>
      c.json(retention.read()),
    )
    .put(
      '/retention',
      allow('owner', 'Replaces the storage budget; a minimum that cannot fit is refused with the reason'),
      validate('json', budgetSchema),
      (c) => {
        try {
          const saved = retention.replace(c.req.valid('json'));
          // A tighter budget applies now, not at the next interval.
          retention.runSoon();
          return c.json(saved);
        } catch (error) {
          if (error instanceof RetentionRefused) throw new AppError(422, 'retention_refused', error.message);
          throw error;
        }
      },
    )
    .get(
      '/retention/deletions',
      allow('viewer', 'What retention deleted, newest first'),
      validate('query', z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict()),
      (c) => c.json({ deletions: retention.recentDeletions(c.req.valid('query').limit) }),
    );
}
