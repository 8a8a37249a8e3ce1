import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { notFound } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { SegmentRepo } from '../recording/segments.repo.js';
import { jpegAnswer, matchesEtag } from './live.routes.js';
import { type PictureService, pictureTags, THUMBNAIL_WIDTHS } from './pictures.service.js';

const widthQuery = z
  .object({
    w: z.coerce
      .number()
      .int()
      .min(THUMBNAIL_WIDTHS.min)
      .max(THUMBNAIL_WIDTHS.max)
      .default(THUMBNAIL_WIDTHS.default),
  })
  .strict();

export function thumbnailRoutes(deps: {
  allow: AllowFn;
  segments: Pick<SegmentRepo, 'get'>;
  pictures: PictureService;
}) {
  const { allow } = deps;
  return new Hono<AppEnv>().get(
    '/segments/:id/thumbnail.jpg',
    allow('viewer', 'The first picture of a segment, scaled to width w (160..640, default 320)'),
    validate('param', z.object({ id: z.coerce.number().int().positive() })),
    validate('query', widthQuery),
    async (c) => {
      const segment = deps.segments.get(c.req.valid('param').id);
      if (!segment) throw notFound('Segment');
      const { w } = c.req.valid('query');
      // A segment never changes once indexed: the browser keeps its thumbnail for a day without asking.
      const picture = {
        etag: pictureTags.thumbnail(segment, w),
        lastModified: segment.endAt,
        cacheControl: 'private, max-age=86400, immutable',
      };
      const ifNoneMatch = c.req.header('if-none-match');
      if (matchesEtag(ifNoneMatch, picture.etag)) return jpegAnswer(ifNoneMatch, picture);
      return jpegAnswer(ifNoneMatch, picture, await deps.pictures.thumbnail(segment, w));
    },
  );
}
