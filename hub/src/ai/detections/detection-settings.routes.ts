import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { CameraRow } from '../../cameras/cameras.service.js';
import { cameraIdSchema } from '../../cameras/cameras.service.js';
import type { AllowFn } from '../../http/access.js';
import type { AppEnv } from '../../http/env.js';
import { AppError } from '../../http/errors.js';
import { validate } from '../../http/validate.js';
import { cameraDetectionSchema } from '../ai.config.js';
import type { DetectionSettings } from './detection-settings.js';

/** The largest valid settings (32 masks and 16 zones of 64 points each) are about 120 KB of JSON. */
export const MAX_DETECTION_SETTINGS_BYTES = 256 * 1024;

const cameraParam = z.object({ id: cameraIdSchema });

/** `/api/cameras/:id/detection`: a camera's person/pet detection settings, as the household draws them. */
export function detectionSettingsRoutes(deps: {
  allow: AllowFn;
  settings: Pick<DetectionSettings, 'read' | 'save' | 'reset'>;
  /** Throws 404 for an unknown camera. */
  camera: (id: string) => CameraRow;
}) {
  const { allow, settings } = deps;
  return new Hono<AppEnv>()
    .get(
      '/cameras/:id/detection',
      allow(
        'viewer',
        "A camera's detection settings in effect (on/off, masks, zones, minimum scores) and where they come from",
      ),
      validate('param', cameraParam),
      (c) => c.json(settings.read(deps.camera(c.req.valid('param').id))),
    )
    .put(
      '/cameras/:id/detection',
      allow(
        'owner',
        "Saves a camera's detection settings; they replace its configuration-file entry and apply at once",
      ),
      validate('param', cameraParam),
      bodyLimit({
        maxSize: MAX_DETECTION_SETTINGS_BYTES,
        onError: () => {
          throw new AppError(
            413,
            'payload_too_large',
            `Detection settings are at most ${MAX_DETECTION_SETTINGS_BYTES} bytes.`,
            { limitBytes: MAX_DETECTION_SETTINGS_BYTES },
          );
        },
      }),
      validate('json', cameraDetectionSchema),
      (c) => {
        const camera = deps.camera(c.req.valid('param').id);
        settings.save(camera.id, c.req.valid('json'));
        return c.json(settings.read(camera));
      },
    )
    .delete(
      '/cameras/:id/detection',
      allow(
        'owner',
        "Removes a camera's saved detection settings: its configuration-file entry (or the defaults) applies at once",
      ),
      validate('param', cameraParam),
      // 200 with the settings now in effect, also when nothing was saved: resetting twice is not an error.
      (c) => {
        const camera = deps.camera(c.req.valid('param').id);
        settings.reset(camera.id);
        return c.json(settings.read(camera));
      },
    );
}
