import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError, notFound } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { COMPACT_MEDIA_TYPE, encodeUploadReply } from '../protocol/compact.js';
import { fileResponse, type ServableFile } from '../recording/file-response.js';
import { dayQuery } from '../recording/recording.routes.js';
import type { SettingsService } from '../settings/settings.service.js';
import { dayBounds } from '../settings/time-zone.js';
import { cameraSettingsSchema, type DeviceSettings, newCommandSchema } from './device-settings.js';
import { type Gallery, photoView } from './gallery.js';
import type { PhotoRow, PhotoService } from './photos.service.js';
import { derivedPath } from './processing.js';
import { parseUpload } from './upload-parser.js';

/** Where upload bodies are streamed before they are checked and placed. */
export const incomingDir = (dataDir: string) => path.join(dataDir, 'photos-incoming');

export function devicePhotoRoutes(deps: {
  allow: AllowFn;
  photos: PhotoService;
  dataDir: string;
  maxUploadBytes: number;
  maxPhotosPerUpload: number;
}) {
  return new Hono<AppEnv>().post(
    '/photos',
    deps.allow(
      'device',
      'A camera uploads a burst of JPEGs (multipart: `photo` parts and one `meta` JSON part)',
    ),
    async (c) => {
      const device = c.get('device')!;
      const result = await deps.photos.track(async () => {
        const upload = await parseUpload(c.req.raw, {
          maxBytes: deps.maxUploadBytes,
          maxPhotos: deps.maxPhotosPerUpload,
          tmpDir: incomingDir(deps.dataDir),
        });
        return deps.photos.ingest(device, upload);
      });
      const status = result.stored > 0 ? 201 : 200;
      if ((c.req.header('accept') ?? '').includes(COMPACT_MEDIA_TYPE)) {
        const body = encodeUploadReply({
          stored: result.stored,
          duplicates: result.duplicates,
          hubTime: result.hubTime,
          ...(result.settings ? { settings: result.settings } : {}),
          commands: result.commands,
          ...(result.update ? { update: result.update } : {}),
        });
        return c.body(new Uint8Array(body), status, { 'Content-Type': COMPACT_MEDIA_TYPE });
      }
      return c.json(result, status);
    },
  );
}

const idParam = z.object({ id: z.coerce.number().int().positive() });
const DERIVED = ['thumb', 'preview', 'enlarged'] as const;

export function photoRoutes(deps: {
  allow: AllowFn;
  gallery: Gallery;
  deviceSettings: DeviceSettings;
  settings: SettingsService;
  cameraExists: (id: string) => boolean;
  dataDir: string;
  openOriginal: (photo: PhotoRow) => Promise<ServableFile>;
  /** New settings or a command for a camera device: tried over Bluetooth at once when it has it. */
  onDeviceWork?: (deviceId: number) => void;
}) {
  const { allow, gallery } = deps;
  return new Hono<AppEnv>()
    .get(
      '/cameras/:id/photos',
      allow(
        'viewer',
        "A day's photos of one camera (household time zone), newest burst first, best shot first",
      ),
      validate('param', z.object({ id: cameraIdSchema })),
      validate('query', dayQuery),
      (c) => {
        const { id } = c.req.valid('param');
        if (!deps.cameraExists(id)) throw notFound('Camera');
        const { day } = c.req.valid('query');
        const { timeZone } = deps.settings.read();
        const { start, end } = dayBounds(day, timeZone);
        return c.json({ day, timeZone, photos: gallery.list(id, start, end, 2000) });
      },
    )
    .get('/photos/:id', allow('viewer', 'One photo'), validate('param', idParam), (c) =>
      c.json({ photo: photoView(gallery.get(c.req.valid('param').id)) }),
    )
    .get(
      '/photos/:id/original.jpg',
      allow('viewer', 'The photo as the camera sent it, with HTTP Range'),
      validate('param', idParam),
      async (c) => {
        const photo = gallery.get(c.req.valid('param').id);
        return fileResponse(await deps.openOriginal(photo), c.req.header('range'), {
          'Content-Type': 'image/jpeg',
          'Cache-Control': 'private, max-age=86400, immutable',
          'Content-Disposition': `attachment; filename="${path.basename(photo.relPath)}"`,
        });
      },
    )
    .get(
      '/photos/:id/:file',
      allow('viewer', 'A thumbnail (320 px), preview (1280 px) or the best shot enlarged 2×'),
      validate('param', idParam.extend({ file: z.enum(DERIVED.map((kind) => `${kind}.jpg` as const)) })),
      async (c) => {
        const { id, file } = c.req.valid('param');
        const kind = file.slice(0, -'.jpg'.length) as (typeof DERIVED)[number];
        const photo = gallery.get(id);
        if (kind === 'enlarged' && !photo.best) throw notFound('Enlargement (only the best shot has one)');
        const data = await readFile(derivedPath(deps.dataDir, id, kind)).catch(() => null);
        if (!data)
          throw new AppError(409, 'not_ready', `The ${kind} is not made yet (photo is ${photo.state}).`);
        return c.body(new Uint8Array(data), 200, {
          'Content-Type': 'image/jpeg',
          'Cache-Control': 'private, max-age=86400, immutable',
        });
      },
    )
    .patch(
      '/photos/:id',
      allow('member', 'Marks a photo favourite (kept from retention) or not'),
      validate('param', idParam),
      validate('json', z.object({ favorite: z.boolean() }).strict()),
      (c) => c.json({ photo: gallery.setFavorite(c.req.valid('param').id, c.req.valid('json').favorite) }),
    )
    .delete(
      '/photos/:id',
      allow('member', 'Deletes a photo and its file'),
      validate('param', idParam),
      async (c) => {
        await gallery.delete(c.req.valid('param').id);
        return c.body(null, 204);
      },
    )
    .get(
      '/devices/:id/camera',
      allow('viewer', "A camera device's settings, status and commands waiting for its next wake"),
      validate('param', idParam),
      (c) => c.json(deps.deviceSettings.read(c.req.valid('param').id)),
    )
    .patch(
      '/devices/:id/camera',
      allow('member', "Changes a camera device's settings; it picks them up on its next wake"),
      validate('param', idParam),
      validate('json', cameraSettingsSchema),
      (c) => {
        const { id } = c.req.valid('param');
        const updated = deps.deviceSettings.update(id, c.req.valid('json'));
        deps.onDeviceWork?.(id);
        return c.json(updated);
      },
    )
    .post(
      '/devices/:id/commands',
      allow(
        'member',
        'Queues a command (capture_now, start_stream, stop_stream, sleep, reboot) for a camera device',
      ),
      validate('param', idParam),
      validate('json', newCommandSchema),
      (c) => {
        const { id } = c.req.valid('param');
        const command = deps.deviceSettings.queueCommand(id, c.req.valid('json'));
        deps.onDeviceWork?.(id);
        return c.json({ command }, 201);
      },
    );
}
