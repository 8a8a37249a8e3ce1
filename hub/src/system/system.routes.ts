import { Hono } from 'hono';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import type { JobQueue } from '../jobs/queue.js';
import { HUB_VERSION } from './version.js';

export function systemRoutes(deps: {
  allow: AllowFn;
  queue: JobQueue;
  isSetupNeeded: () => boolean;
  startedAt: number;
}) {
  const { allow, queue } = deps;
  return new Hono<AppEnv>()
    .get('/health', allow('public', 'Liveness and version; public so monitors need no account'), (c) =>
      c.json({
        status: 'ok' as const,
        version: HUB_VERSION,
        setupNeeded: deps.isSetupNeeded(),
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      }),
    )
    .post(
      '/system/backup',
      allow(
        'owner',
        'Back up the database and config now (onto the NAS, or the data folder while it is away)',
      ),
      (c) => c.json({ job: queue.enqueue('db.backup', { reason: 'manual' }) }, 202),
    );
}
