import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { MAX_RANGE_MS, type PlaybackService } from './playback.service.js';
import { PLAYLIST_CONTENT_TYPE } from './playlist.js';

/** Largest instant a JS Date holds; beyond it ISO strings and arithmetic stop meaning anything. */
const MAX_INSTANT = 8.64e15;

/**
 * An instant in a query string: milliseconds since the epoch (`1767225600000`) or ISO-8601 with a zone
 * (`2026-01-01T00:00:00Z`, `2026-01-01T09:00:00+09:00`). A zoneless ISO time is refused: the hub would
 * have to guess whose clock it means.
 */
const isoInstant = z.iso.datetime({ offset: true });
const isMillis = (text: string) => /^\d{1,16}$/.test(text);
const instant = z
  .string()
  .refine((text) => (isMillis(text) ? Number(text) <= MAX_INSTANT : isoInstant.safeParse(text).success), {
    message: 'milliseconds since the epoch or an ISO-8601 time with a zone',
  })
  .transform((text) => (isMillis(text) ? Number(text) : Date.parse(text)));

export const rangeQuery = z
  .object({ from: instant, to: instant })
  .strict()
  .superRefine(
    (range, ctx) => {
      if (range.to <= range.from)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      else if (range.to - range.from > MAX_RANGE_MS)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'a range covers at most 7 days' });
    },
    // Only once both ends are instants: zod goes on past a bad `from`, and NaN compares as anything.
    { when: (payload) => payload.issues.length === 0 },
  );

const cameraParam = z.object({ id: cameraIdSchema });
const segmentParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
export const segmentPatchSchema = z.object({ protected: z.boolean() }).strict();

export function playbackRoutes(deps: { allow: AllowFn; playback: PlaybackService }) {
  const { allow, playback } = deps;
  return new Hono<AppEnv>()
    .get(
      '/cameras/:id/timeline',
      allow('viewer', 'Segments, footage and gaps of one camera over a range (at most 7 days)'),
      validate('param', cameraParam),
      validate('query', rangeQuery),
      (c) => {
        const { from, to } = c.req.valid('query');
        return c.json(playback.timeline(c.req.valid('param').id, from, to));
      },
    )
    .get(
      '/cameras/:id/playback.m3u8',
      allow('viewer', "HLS VOD playlist over the timeline's segments (byte ranges of the segment files)"),
      validate('param', cameraParam),
      validate('query', rangeQuery),
      (c) => {
        const { from, to } = c.req.valid('query');
        const text = playback.playlist(c.req.valid('param').id, from, to);
        // no-store: a range that reaches into the present grows as segments are indexed; a cached copy ends early.
        return c.body(text, 200, { 'Content-Type': PLAYLIST_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      },
    )
    .patch(
      '/segments/:id',
      allow('member', 'Protect a segment from retention, or release it'),
      validate('param', segmentParam),
      validate('json', segmentPatchSchema),
      (c) => {
        const segment = playback.setProtected(c.req.valid('param').id, c.req.valid('json').protected);
        return c.json({ segment });
      },
    );
}
