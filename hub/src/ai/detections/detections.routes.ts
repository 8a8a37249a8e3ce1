import { readFile, rm } from 'node:fs/promises';
import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../../cameras/cameras.service.js';
import type { EventBus } from '../../events/bus.js';
import type { AllowFn } from '../../http/access.js';
import type { AppEnv } from '../../http/env.js';
import { badRequest, notFound } from '../../http/errors.js';
import { validate } from '../../http/validate.js';
import type { SettingsService } from '../../settings/settings.service.js';
import { dayBounds } from '../../settings/time-zone.js';
import { type DetectionRepo, type DetectionRow, detectionView, snapshotFile } from './detections.repo.js';
import { DETECTION_LABELS } from './detections.schema.js';

const idParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const millis = z.coerce.number().int().nonnegative().max(8.64e15);

export const detectionListQuery = z
  .object({
    cameraId: cameraIdSchema.optional(),
    label: z.enum(DETECTION_LABELS).optional(),
    /** A calendar day in the household's time zone; or `from`/`to` in epoch ms, not both. */
    day: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
      .refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)), 'not a calendar day')
      .optional(),
    from: millis.optional(),
    to: millis.optional(),
    before: idParam.shape.id.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()
  .superRefine(
    (query, ctx) => {
      if (query.day !== undefined && (query.from !== undefined || query.to !== undefined))
        ctx.addIssue({ code: 'custom', path: ['day'], message: 'a day or from/to, not both' });
      if (query.from !== undefined && query.to !== undefined && query.to <= query.from)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/** `/api/detections`: what the cameras' detector saw (person, pet, vehicle), its snapshots, and removal. */
export function detectionRoutes(deps: {
  allow: AllowFn;
  detections: DetectionRepo;
  settings: Pick<SettingsService, 'read'>;
  bus: EventBus;
  dataDir: string;
}) {
  const { allow, detections } = deps;
  const event = (id: number): DetectionRow => {
    const row = detections.get(id);
    if (!row) throw notFound('Detection event');
    return row;
  };
  return new Hono<AppEnv>()
    .get(
      '/',
      allow(
        'viewer',
        'Detection events, newest first: filter by camera, label, day (household time zone) or from/to; page with `before`',
      ),
      validate('query', detectionListQuery),
      (c) => {
        const { day, before, ...query } = c.req.valid('query');
        if (day !== undefined) {
          const { start, end } = dayBounds(day, deps.settings.read().timeZone);
          query.from = start;
          query.to = end;
        }
        let after: DetectionRow | undefined;
        if (before !== undefined) {
          after = detections.get(before);
          if (!after) throw badRequest('The event to page from is gone; load the list again.');
        }
        const rows = detections.list({ ...query, before: after });
        return c.json({ events: rows.map(detectionView) });
      },
    )
    .get(
      '/:id',
      allow('viewer', 'One detection event with the recorded segments it covers'),
      validate('param', idParam),
      (c) => {
        const row = event(c.req.valid('param').id);
        return c.json({ event: { ...detectionView(row), segments: detections.segments(row.id) } });
      },
    )
    .get(
      '/:id/snapshot',
      allow('viewer', "The event's best frame (JPEG); `v` from its snapshotUrl makes the address immutable"),
      validate('param', idParam),
      validate('query', z.object({ v: millis.optional() }).strict()),
      async (c) => {
        const row = event(c.req.valid('param').id);
        const file = row.snapshot ? snapshotFile(deps.dataDir, row.snapshot) : null;
        const data = file ? await readFile(file).catch(() => null) : null;
        if (!data) throw notFound('Snapshot');
        return c.body(new Uint8Array(data), 200, {
          'Content-Type': 'image/jpeg',
          'Cache-Control': 'private, max-age=86400, immutable',
        });
      },
    )
    .delete(
      '/:id',
      allow('owner', 'Deletes an event and its snapshot; the footage it covered is no longer kept for it'),
      validate('param', idParam),
      async (c) => {
        const row = detections.remove(c.req.valid('param').id);
        if (!row) throw notFound('Detection event');
        const file = row.snapshot ? snapshotFile(deps.dataDir, row.snapshot) : null;
        if (file) await rm(file, { force: true });
        deps.bus.publish('detections', { change: 'deleted', event: detectionView(row) });
        return c.body(null, 204);
      },
    );
}
