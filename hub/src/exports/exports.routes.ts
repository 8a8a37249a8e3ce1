import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { fileResponse } from '../recording/file-response.js';
import { type ExportService, MAX_EXPORT_MS } from './exports.service.js';

/** An instant as ISO-8601 with a zone (`2026-11-23T14:00:00Z`), or milliseconds since the epoch. */
const instant = z
  .union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

export const newExportSchema = z
  .object({ cameraId: cameraIdSchema, from: instant, to: instant })
  .strict()
  .superRefine(
    (body, ctx) => {
      if (body.to <= body.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      else if (body.to - body.from > MAX_EXPORT_MS)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'an export covers at most 6 hours' });
    },
    // Only once both ends are valid instants: zod carries on past a failed bound like `-5`.
    { when: (payload) => payload.issues.length === 0 },
  );

const idParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** Exports are member+ throughout: a viewer may watch footage but not take copies of it away. */
export function exportRoutes(deps: { allow: AllowFn; exports: ExportService }) {
  const { allow, exports: service } = deps;
  return new Hono<AppEnv>()
    .post(
      '/',
      allow('member', 'Export a range of one camera as one MP4 (a job; follow it on the `exports` topic)'),
      validate('json', newExportSchema),
      (c) => {
        const body = c.req.valid('json');
        const row = service.create({ ...body, userId: c.get('user').id });
        return c.json({ export: service.view(row) }, 202);
      },
    )
    .get('/', allow('member', 'Exports of the last day, newest first'), (c) =>
      c.json({ exports: service.list().map(service.view) }),
    )
    .get('/:id', allow('member', 'One export'), validate('param', idParam), (c) =>
      c.json({ export: service.view(service.get(c.req.valid('param').id)) }),
    )
    .get(
      '/:id/file',
      allow('member', 'The finished clip (MP4) as a download, with HTTP Range'),
      validate('param', idParam),
      async (c) => {
        const { file, row } = await service.openFile(c.req.valid('param').id);
        return fileResponse(file, c.req.header('range'), {
          'Content-Type': 'video/mp4',
          'Content-Disposition': `attachment; filename="${service.view(row).fileName}"`,
          'Cache-Control': 'private, no-cache',
        });
      },
    )
    .delete(
      '/:id',
      allow('member', 'Delete an export and its file (stops it if running)'),
      validate('param', idParam),
      async (c) => {
        await service.remove(c.req.valid('param').id);
        return c.body(null, 204);
      },
    );
}
