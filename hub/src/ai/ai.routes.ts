import { Hono } from 'hono';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import type { DetectionService } from './detections/detections.service.js';
import type { InferencePool } from './inference/pool.js';

export function aiRoutes(deps: {
  allow: AllowFn;
  inference: Pick<InferencePool, 'health'>;
  detections: Pick<DetectionService, 'stats'>;
}) {
  return new Hono<AppEnv>().get(
    '/health',
    deps.allow(
      'viewer',
      'The inference service: backend, workers, models with ms per inference, frames sampled, gated and dropped',
    ),
    (c) => {
      const health = deps.inference.health();
      const { overflow, stale, superseded } = health.queue.dropped;
      // Pictures the detector never saw: replaced by newer ones of the same camera, or too old.
      return c.json({ ...health, dropped: overflow + stale + superseded, cameras: deps.detections.stats() });
    },
  );
}
