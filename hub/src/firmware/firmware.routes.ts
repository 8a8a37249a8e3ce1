import { createReadStream } from 'node:fs';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError, badRequest } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { fileResponse } from '../recording/file-response.js';
import { MAX_IMAGE_BYTES, VERSION_PATTERN } from './esp-image.js';
import type { FirmwareService } from './firmware.service.js';

export const FIRMWARE_UPLOAD_PATH = '/api/firmware';
/** The image plus the multipart framing and the small text fields. */
const MAX_BODY_BYTES = MAX_IMAGE_BYTES + 64 * 1024;

const idParam = z.object({ id: z.coerce.number().int().positive() });
const uploadFields = z
  .object({
    image: z.instanceof(File, { message: 'attach the firmware image (firmware.bin) as `image`' }),
    version: z
      .string()
      .regex(VERSION_PATTERN, 'a dotted version such as 1.4.0')
      .optional()
      .or(z.literal('').transform(() => undefined)),
    notes: z.string().max(500).optional(),
  })
  .strict();

export function firmwareRoutes(deps: { allow: AllowFn; firmware: FirmwareService }) {
  const { allow, firmware } = deps;
  return new Hono<AppEnv>()
    .get('/firmware', allow('owner', 'Firmware images, the signing key, and every camera’s rollout'), (c) =>
      c.json(firmware.list()),
    )
    .post(
      '/firmware',
      allow(
        'owner',
        'Uploads an ESP32 firmware image (multipart `image`, optional `version`, `notes`); the hub signs it',
      ),
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new AppError(
            413,
            'payload_too_large',
            `A firmware image is at most ${MAX_IMAGE_BYTES} bytes.`,
            {
              limitBytes: MAX_IMAGE_BYTES,
            },
          );
        },
      }),
      async (c) => {
        if (!/^multipart\/form-data\s*;/i.test(c.req.header('content-type') ?? ''))
          throw new AppError(415, 'unsupported_media_type', 'Send multipart/form-data with an `image` part.');
        const parsed = uploadFields.safeParse(await c.req.parseBody());
        if (!parsed.success)
          throw badRequest('Invalid firmware upload.', {
            issues: parsed.error.issues.map((issue) => ({
              path: issue.path.join('.'),
              message: issue.message,
            })),
          });
        const { image, version, notes } = parsed.data;
        const added = await firmware.add({
          data: Buffer.from(await image.arrayBuffer()),
          fileName: image.name,
          ...(version ? { version } : {}),
          ...(notes ? { notes } : {}),
          uploadedBy: c.get('user')?.id,
        });
        return c.json({ image: added }, 201);
      },
    )
    .delete(
      '/firmware/:id',
      allow('owner', 'Withdraws a firmware image: no camera is offered it any more'),
      validate('param', idParam),
      async (c) => {
        await firmware.remove(c.req.valid('param').id);
        return c.body(null, 204);
      },
    )
    .get(
      '/devices/:id/firmware',
      allow('viewer', "A camera's firmware: the version it runs and its newest update's state"),
      validate('param', idParam),
      (c) => c.json({ update: firmware.forDevice(c.req.valid('param').id) }),
    );
}

export function deviceFirmwareRoutes(deps: { allow: AllowFn; firmware: FirmwareService }) {
  return new Hono<AppEnv>().get(
    '/firmware/:id',
    deps.allow('device', 'A camera downloads the firmware image it was offered (HTTP Range resumes)'),
    validate('param', idParam),
    (c) => {
      const image = deps.firmware.download(c.get('device')!.id, c.req.valid('param').id);
      return fileResponse(
        { size: image.size, read: (range) => createReadStream(image.file, range ?? {}) },
        c.req.header('range'),
        { 'Content-Type': 'application/octet-stream', ETag: `"${image.sha256}"` },
      );
    },
  );
}
