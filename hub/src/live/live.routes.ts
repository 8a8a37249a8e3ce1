import { Hono } from 'hono';
import { z } from 'zod';
import type { CameraRow } from '../cameras/cameras.service.js';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { MjpegSources } from '../cameras/mjpeg-sources.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { type H264LiveSources, LiveUnavailable } from './h264-live.js';
import { LIVE_BOUNDARY, mjpegViewerStream } from './mjpeg-fanout.js';
import { mp4ViewerStream } from './mp4-fanout.js';
import { type PictureService, pictureTags } from './pictures.service.js';

/** Open live views per camera, so the hub can cap them and end them at shutdown. */
export function createViewerRegistry() {
  const viewers = new Map<string, Set<() => void>>();
  return {
    count: (cameraId: string) => viewers.get(cameraId)?.size ?? 0,
    add(cameraId: string, end: () => void): () => void {
      const set = viewers.get(cameraId) ?? new Set();
      set.add(end);
      viewers.set(cameraId, set);
      return () => set.delete(end);
    },
    closeAll() {
      for (const set of viewers.values()) for (const end of [...set]) end();
    },
  };
}
export type ViewerRegistry = ReturnType<typeof createViewerRegistry>;

const idParam = z.object({ id: cameraIdSchema });

/** Any of the request's If-None-Match tags equals `tag` (weak or strong, or `*`). */
export function matchesEtag(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim().replace(/^W\//, '');
    return value === '*' || value === tag;
  });
}

/** A JPEG answer with validators, or 304 when the browser has this picture already. */
export function jpegAnswer(
  ifNoneMatch: string | undefined,
  picture: { etag: string; lastModified: number; cacheControl: string },
  jpeg?: Buffer,
): Response {
  const headers: Record<string, string> = {
    ETag: picture.etag,
    'Last-Modified': new Date(picture.lastModified).toUTCString(),
    'Cache-Control': picture.cacheControl,
  };
  if (!jpeg || matchesEtag(ifNoneMatch, picture.etag)) return new Response(null, { status: 304, headers });
  // A copy: the UI's DOM types (which also check this file) take only ArrayBuffer-backed bodies.
  return new Response(new Uint8Array(jpeg), {
    headers: { ...headers, 'Content-Type': 'image/jpeg', 'Content-Length': String(jpeg.length) },
  });
}

export function liveRoutes(deps: {
  allow: AllowFn;
  camera: (id: string) => CameraRow;
  mjpeg: MjpegSources;
  live: H264LiveSources;
  pictures: PictureService;
  viewers: ViewerRegistry;
  maxViewersPerCamera: number;
  /** How long a live.mp4 request (or GET …/live) waits for the stream's first bytes. Default 15 s. */
  startTimeoutMs?: number;
  /** The newest processed photo of a camera (battery cameras have no stream or recording). */
  newestPhoto?: (cameraId: string) => { id: number; capturedAt: number; read: () => Promise<Buffer> } | null;
}) {
  const { allow, mjpeg, viewers } = deps;
  const startTimeoutMs = deps.startTimeoutMs ?? 15_000;
  const isMjpeg = (camera: CameraRow) => camera.kind === 'mjpeg' || camera.kind === 'esp32';

  /** A camera that can be watched live now, or the 409 that says why not. */
  function watchable(id: string): CameraRow {
    const camera = deps.camera(id);
    if (camera.kind === 'node' && !camera.sourceUrl)
      throw new AppError(
        409,
        'no_live',
        'This edge node has not offered its camera feed yet (it does with its next heartbeat).',
      );
    if (camera.powerProfile === 'battery')
      throw new AppError(
        409,
        'battery_camera',
        'Battery cameras are not streamed continuously; they send photo bursts.',
      );
    if (!camera.enabled) throw new AppError(409, 'disabled', 'This camera is disabled.');
    return camera;
  }

  function mjpegCamera(id: string): CameraRow {
    const camera = deps.camera(id);
    if (!isMjpeg(camera)) throw new AppError(409, 'not_mjpeg', 'This camera has no MJPEG live stream.');
    return watchable(id);
  }

  function checkViewerSlot(id: string) {
    if (viewers.count(id) >= deps.maxViewersPerCamera)
      throw new AppError(503, 'too_many_viewers', 'Too many people are watching this camera.', undefined, {
        'Retry-After': '5',
      });
  }

  function unavailable(error: unknown): unknown {
    if (!(error instanceof LiveUnavailable)) return error;
    return new AppError(
      503,
      'live_unavailable',
      `The live stream is not available: ${error.message}`,
      undefined,
      { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) },
    );
  }

  return new Hono<AppEnv>()
    .get(
      '/:id/live',
      allow('viewer', 'How to watch a camera live: MJPEG, or fragmented MP4 with its codec string'),
      validate('param', idParam),
      async (c) => {
        const { id } = c.req.valid('param');
        const camera = watchable(id);
        if (isMjpeg(camera)) return c.json({ kind: 'mjpeg' as const, url: `/api/cameras/${id}/live.mjpeg` });
        // The codec is in the stream's own moov: starting it here also warms it up for the viewer that follows.
        const init = await deps.live
          .forCamera(camera)!
          .ready(startTimeoutMs)
          .catch((error: unknown) => {
            throw unavailable(error);
          });
        return c.json({ kind: 'mp4' as const, url: `/api/cameras/${id}/live.mp4`, codec: init.codec });
      },
    )
    .get(
      '/:id/live.mp4',
      allow('viewer', 'Live H.264 as fragmented MP4 for Media Source Extensions, from the hub’s one stream'),
      validate('param', idParam),
      async (c) => {
        const { id } = c.req.valid('param');
        const camera = watchable(id);
        if (isMjpeg(camera))
          throw new AppError(409, 'not_h264', 'This camera streams MJPEG: watch live.mjpeg instead.');
        checkViewerSlot(id);
        const live = deps.live.forCamera(camera)!;
        let unregister = () => {};
        let viewer: ReturnType<typeof mp4ViewerStream>;
        try {
          viewer = mp4ViewerStream(live, () => unregister());
        } catch (error) {
          throw unavailable(error);
        }
        unregister = viewers.add(id, viewer.end);
        const init = await live.ready(startTimeoutMs).catch((error: unknown) => {
          viewer.end();
          throw unavailable(error);
        });
        return new Response(viewer.stream, {
          headers: {
            'Content-Type': 'video/mp4',
            'Cache-Control': 'no-store',
            'X-Codec': init.codec,
            'X-Accel-Buffering': 'no',
          },
        });
      },
    )
    .get(
      '/:id/live.mjpeg',
      allow('viewer', 'Live MJPEG view, fanned out from the hub’s one connection to the camera'),
      validate('param', idParam),
      (c) => {
        const { id } = c.req.valid('param');
        const camera = mjpegCamera(id);
        checkViewerSlot(id);
        let unregister = () => {};
        const viewer = mjpegViewerStream(
          (listener) => mjpeg.forCamera(camera).subscribe(listener),
          () => unregister(),
        );
        unregister = viewers.add(id, viewer.end);
        return new Response(viewer.stream, {
          headers: {
            'Content-Type': `multipart/x-mixed-replace;boundary=${LIVE_BOUNDARY}`,
            'Cache-Control': 'no-store',
            'X-Accel-Buffering': 'no',
          },
        });
      },
    )
    .get(
      '/:id/snapshot.jpg',
      allow(
        'viewer',
        'The newest picture of a camera: the MJPEG frame, the live stream’s keyframe, or the newest recording’s',
      ),
      validate('param', idParam),
      async (c) => {
        const { id } = c.req.valid('param');
        const camera = deps.camera(id);
        if (isMjpeg(camera) && camera.powerProfile !== 'battery') return mjpegSnapshot(mjpegCamera(id));
        const ifNoneMatch = c.req.header('if-none-match');
        // A running live stream has the newest picture; a snapshot never starts one.
        const frame = deps.live.running(id)?.latestKeyframe();
        if (frame) {
          const picture = {
            etag: pictureTags.live(id, frame),
            lastModified: frame.fragment.receivedAt,
            cacheControl: 'no-cache',
          };
          if (matchesEtag(ifNoneMatch, picture.etag)) return jpegAnswer(ifNoneMatch, picture);
          return jpegAnswer(ifNoneMatch, picture, await deps.pictures.liveSnapshot(id, frame));
        }
        const segment = deps.pictures.newestSegment(id);
        const photo = deps.newestPhoto?.(id) ?? null;
        if (photo && (!segment || photo.capturedAt >= segment.endAt)) {
          const picture = {
            etag: `"photo-${photo.id}"`,
            lastModified: photo.capturedAt,
            cacheControl: 'no-cache',
          };
          if (matchesEtag(ifNoneMatch, picture.etag)) return jpegAnswer(ifNoneMatch, picture);
          return jpegAnswer(ifNoneMatch, picture, await photo.read());
        }
        if (!segment)
          throw new AppError(
            404,
            'no_picture',
            'No picture yet: this camera has no live stream running, no recording and no photo.',
          );
        const picture = {
          etag: pictureTags.segment(segment),
          lastModified: segment.endAt,
          cacheControl: 'no-cache',
        };
        if (matchesEtag(ifNoneMatch, picture.etag)) return jpegAnswer(ifNoneMatch, picture);
        return jpegAnswer(ifNoneMatch, picture, await deps.pictures.segmentSnapshot(segment));
      },
    );

  async function mjpegSnapshot(camera: CameraRow): Promise<Response> {
    const upstream = mjpeg.forCamera(camera);
    // The newest frame the upstream already has, or the next one within a few seconds.
    const frame =
      upstream.latest() ??
      (await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => {
          unsubscribe();
          resolve(null);
        }, 5000);
        const unsubscribe = upstream.subscribe((next) => {
          clearTimeout(timer);
          unsubscribe();
          resolve(next.jpeg);
        });
      }));
    if (!frame) throw new AppError(504, 'no_frame', 'The camera sent no picture in time.');
    return new Response(new Uint8Array(frame), {
      headers: {
        'Content-Type': 'image/jpeg',
        'Cache-Control': 'no-cache, max-age=0',
        'Content-Length': String(frame.length),
      },
    });
  }
}
