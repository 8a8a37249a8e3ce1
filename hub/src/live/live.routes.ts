import { Hono } from 'hono';
import { z } from 'zod';
import type { CameraRow } from '../cameras/cameras.service.js';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { MjpegSources } from '../cameras/mjpeg-sources.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { LIVE_BOUNDARY, mjpegViewerStream } from './mjpeg-fanout.js';

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

export function liveRoutes(deps: {
  allow: AllowFn;
  camera: (id: string) => CameraRow;
  mjpeg: MjpegSources;
  viewers: ViewerRegistry;
  maxViewersPerCamera: number;
}) {
  const { allow, mjpeg, viewers } = deps;

  function streamingCamera(id: string): CameraRow {
    const camera = deps.camera(id);
    if (camera.kind !== 'mjpeg' && camera.kind !== 'esp32')
      throw new AppError(409, 'not_mjpeg', 'This camera has no MJPEG live stream.');
    if (camera.powerProfile === 'battery')
      throw new AppError(
        409,
        'battery_camera',
        'Battery cameras are not streamed continuously; they send photo bursts.',
      );
    if (!camera.enabled) throw new AppError(409, 'disabled', 'This camera is disabled.');
    return camera;
  }

  return new Hono<AppEnv>()
    .get(
      '/:id/live.mjpeg',
      allow('viewer', 'Live MJPEG view, fanned out from the hub’s one connection to the camera'),
      validate('param', idParam),
      (c) => {
        const { id } = c.req.valid('param');
        const camera = streamingCamera(id);
        if (viewers.count(id) >= deps.maxViewersPerCamera)
          throw new AppError(
            503,
            'too_many_viewers',
            'Too many people are watching this camera.',
            undefined,
            {
              'Retry-After': '5',
            },
          );
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
      allow('viewer', 'The latest frame of an MJPEG camera'),
      validate('param', idParam),
      async (c) => {
        const { id } = c.req.valid('param');
        const camera = streamingCamera(id);
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
      },
    );
}
