import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { notFound } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { SettingsService } from '../settings/settings.service.js';
import { dayBounds } from '../settings/time-zone.js';
import { fileResponse, type ServableFile } from './file-response.js';
import type { SegmentRepo } from './segments.repo.js';

/** `?day=YYYY-MM-DD`, a real calendar day (the household's; see dayBounds). */
export const dayQuery = z
  .object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD') })
  .strict()
  .refine((q) => !Number.isNaN(Date.parse(`${q.day}T00:00:00Z`)), {
    message: 'not a calendar day',
    path: ['day'],
  });

export function recordingRoutes(deps: {
  allow: AllowFn;
  segments: SegmentRepo;
  settings: SettingsService;
  cameraExists: (id: string) => boolean;
  /** A segment's file wherever it is now (NAS, spool or staging); 404 when it is not there. */
  openSegment: (segment: { location: 'nas' | 'spool' | 'staging'; relPath: string }) => Promise<ServableFile>;
}) {
  const { allow, segments } = deps;
  return new Hono<AppEnv>()
    .get(
      '/cameras/:id/segments',
      allow('viewer', "A day's segments of one camera (the day in the household's time zone)"),
      validate('param', z.object({ id: cameraIdSchema })),
      validate('query', dayQuery),
      (c) => {
        const { id } = c.req.valid('param');
        if (!deps.cameraExists(id)) throw notFound('Camera');
        const { day } = c.req.valid('query');
        const { timeZone } = deps.settings.read();
        const { start, end } = dayBounds(day, timeZone);
        return c.json({
          day,
          timeZone,
          from: new Date(start).toISOString(),
          to: new Date(end).toISOString(),
          segments: segments.listRange(id, start, end),
        });
      },
    )
    .get(
      '/segments/:id/file',
      allow('viewer', 'One segment file (fragmented MP4), with HTTP Range'),
      validate('param', z.object({ id: z.coerce.number().int().positive() })),
      async (c) => {
        const segment = segments.get(c.req.valid('param').id);
        if (!segment) throw notFound('Segment');
        return fileResponse(await deps.openSegment(segment), c.req.header('range'), {
          'Content-Type': 'video/mp4',
          'Cache-Control': 'private, max-age=86400, immutable',
        });
      },
    );
}
