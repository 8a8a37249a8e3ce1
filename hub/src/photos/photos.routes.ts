import path from 'node:path';
import { Hono } from 'hono';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { COMPACT_MEDIA_TYPE, encodeUploadReply } from '../protocol/compact.js';
import type { PhotoService } from './photos.service.js';
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
      const upload = await parseUpload(c.req.raw, {
        maxBytes: deps.maxUploadBytes,
        maxPhotos: deps.maxPhotosPerUpload,
        tmpDir: incomingDir(deps.dataDir),
      });
      const result = await deps.photos.ingest(device, upload);
      const status = result.stored > 0 ? 201 : 200;
      if ((c.req.header('accept') ?? '').includes(COMPACT_MEDIA_TYPE)) {
        const body = encodeUploadReply({
          stored: result.stored,
          duplicates: result.duplicates,
          hubTime: result.hubTime,
          ...(result.settings ? { settings: result.settings } : {}),
          commands: result.commands,
        });
        return c.body(new Uint8Array(body), status, { 'Content-Type': COMPACT_MEDIA_TYPE });
      }
      return c.json(result, status);
    },
  );
}
