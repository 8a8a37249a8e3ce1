import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { type CameraService, cameraIdSchema, cameraPatchSchema, newCameraSchema } from './cameras.service.js';

const idParam = z.object({ id: cameraIdSchema });

export function cameraRoutes(deps: {
  allow: AllowFn;
  cameras: CameraService;
  /** Live recorder state per camera (recording | reconnecting | failed | disabled), from the recording feature. */
  recorderState: (id: string) => unknown;
  /** The shared upstream connection of an MJPEG camera (null for other kinds). */
  sourceStatus: (id: string) => unknown;
}) {
  const { allow, cameras } = deps;
  const withState = <T extends { id: string }>(camera: T) => ({
    ...camera,
    recorder: deps.recorderState(camera.id),
    source: deps.sourceStatus(camera.id),
  });
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'Cameras with their recorder state'), (c) =>
      c.json({ cameras: cameras.list().map(withState) }),
    )
    .get('/:id', allow('viewer', 'One camera'), validate('param', idParam), (c) =>
      c.json({ camera: withState(cameras.get(c.req.valid('param').id)) }),
    )
    .post('/', allow('member', 'Add a camera'), validate('json', newCameraSchema), (c) =>
      c.json({ camera: withState(cameras.create(c.req.valid('json'))) }, 201),
    )
    .patch(
      '/:id',
      allow('member', 'Change a camera (name, source, recording, segment length, enabled)'),
      validate('param', idParam),
      validate('json', cameraPatchSchema),
      (c) => c.json({ camera: withState(cameras.update(c.req.valid('param').id, c.req.valid('json'))) }),
    )
    .delete(
      '/:id',
      allow('member', 'Remove a camera that has no footage'),
      validate('param', idParam),
      (c) => {
        cameras.remove(c.req.valid('param').id);
        return c.body(null, 204);
      },
    );
}
