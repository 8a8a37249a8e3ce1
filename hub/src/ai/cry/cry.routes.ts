import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AllowFn } from '../../http/access.js';
import type { AppEnv } from '../../http/env.js';
import { AppError } from '../../http/errors.js';
import { validate } from '../../http/validate.js';
import { CRY_LABELS } from './cry.schema.js';
import type { CryService } from './cry.service.js';
import { MAX_MODEL_BYTES } from './model-file.js';
import { MAX_CLIP_FILE_BYTES } from './wav.js';

const subjectParam = z.object({ id: z.coerce.number().int().positive() });
const clipParam = subjectParam.extend({ clipId: z.coerce.number().int().positive() });
const versionParam = subjectParam.extend({ version: z.coerce.number().int().positive() });

const limit = (bytes: number, what: string) =>
  bodyLimit({
    maxSize: bytes,
    onError: () => {
      throw new AppError(413, 'payload_too_large', `${what} is at most ${bytes} bytes.`, {
        limitBytes: bytes,
      });
    },
  });

async function wavBody(request: {
  header(name: string): string | undefined;
  arrayBuffer(): Promise<ArrayBuffer>;
}) {
  if (!/^audio\/(x-)?wav(e)?\s*(;|$)/i.test(request.header('content-type') ?? ''))
    throw new AppError(415, 'unsupported_media_type', 'Send the clip as audio/wav.');
  return new Uint8Array(await request.arrayBuffer());
}

/** `/api/subjects/:id/cry/…`: a subject's cry clips (labelled for training) and its classifier versions. */
export function cryRoutes(deps: { allow: AllowFn; cry: CryService }) {
  const { allow, cry } = deps;
  return new Hono<AppEnv>()
    .get(
      '/:id/cry/clips',
      allow(
        'viewer',
        "A subject's cry clips, newest first; `label` filters (crying, not_crying, unlabelled)",
      ),
      validate('param', subjectParam),
      validate('query', z.object({ label: z.enum([...CRY_LABELS, 'unlabelled']).optional() }).strict()),
      (c) => c.json({ clips: cry.clips(c.req.valid('param').id, c.req.valid('query')) }),
    )
    .post(
      '/:id/cry/clips',
      allow('member', 'Keeps a clip: the body is a WAV file, 16 kHz mono 16-bit PCM, 1–10 s'),
      validate('param', subjectParam),
      validate(
        'query',
        z
          .object({
            recordedAt: z.coerce.number().int().positive().optional(),
            deviceId: z.coerce.number().int().positive().optional(),
          })
          .strict(),
      ),
      limit(MAX_CLIP_FILE_BYTES, 'A clip'),
      async (c) => {
        const bytes = await wavBody(c.req);
        const clip = await cry.addClip(c.req.valid('param').id, bytes, c.req.valid('query'));
        return c.json({ clip }, 201);
      },
    )
    .get(
      '/:id/cry/clips/:clipId/audio',
      allow('viewer', 'The clip as audio/wav'),
      validate('param', clipParam),
      async (c) => {
        const { id, clipId } = c.req.valid('param');
        const bytes = await cry.clipAudio(id, clipId);
        return c.body(new Uint8Array(bytes), 200, {
          'Content-Type': 'audio/wav',
          'Cache-Control': 'private, max-age=3600',
        });
      },
    )
    .put(
      '/:id/cry/clips/:clipId/label',
      allow('member', 'Labels a clip `crying` or `not_crying`; null clears the label (it expires again)'),
      validate('param', clipParam),
      validate('json', z.object({ label: z.enum(CRY_LABELS).nullable() }).strict()),
      (c) => {
        const { id, clipId } = c.req.valid('param');
        return c.json({ clip: cry.label(id, clipId, c.req.valid('json').label, c.get('user')?.id) });
      },
    )
    .delete(
      '/:id/cry/clips/:clipId',
      allow('member', 'Deletes a clip and its audio'),
      validate('param', clipParam),
      async (c) => {
        const { id, clipId } = c.req.valid('param');
        await cry.removeClip(id, clipId);
        return c.body(null, 204);
      },
    )
    .get(
      '/:id/cry/models',
      allow(
        'viewer',
        "A subject's cry model versions, newest first, with held-out figures, which is active, and the labelled clips a training would use",
      ),
      validate('param', subjectParam),
      (c) => c.json(cry.versions(c.req.valid('param').id)),
    )
    .post(
      '/:id/cry/models',
      allow('member', 'Trains a new version from the labelled clips (not activated; 409 with too few clips)'),
      validate('param', subjectParam),
      async (c) => c.json({ version: await cry.train(c.req.valid('param').id, c.get('user')?.id) }, 201),
    )
    .post(
      '/:id/cry/models/import',
      allow(
        'member',
        'Imports a model file (the body, as exported) as a new inactive version; 422 if unusable',
      ),
      validate('param', subjectParam),
      validate('query', z.object({ name: z.string().max(200).optional() }).strict()),
      limit(MAX_MODEL_BYTES, 'A model file'),
      async (c) => {
        const bytes = Buffer.from(await c.req.arrayBuffer());
        const version = await cry.importModel(c.req.valid('param').id, bytes, {
          userId: c.get('user')?.id,
          fileName: c.req.valid('query').name,
        });
        return c.json({ version }, 201);
      },
    )
    .post(
      '/:id/cry/models/rollback',
      allow('member', 'Back to the newest version older than the active one, or to the default detector'),
      validate('param', subjectParam),
      async (c) => c.json(await cry.rollback(c.req.valid('param').id)),
    )
    .post(
      '/:id/cry/models/:version/activate',
      allow(
        'member',
        'Makes a version the active one (its file is checked first; 422 keeps the current one)',
      ),
      validate('param', versionParam),
      async (c) => {
        const { id, version } = c.req.valid('param');
        return c.json({ version: await cry.activate(id, version) });
      },
    )
    .get(
      '/:id/cry/models/:version/file',
      allow('member', "A version's model file, as stored (for a backup or another hub)"),
      validate('param', versionParam),
      async (c) => {
        const { id, version } = c.req.valid('param');
        const file = await cry.exportModel(id, version);
        return c.body(new Uint8Array(file.bytes), 200, {
          'Content-Type': 'application/json',
          'Content-Disposition': `attachment; filename="${file.name}"`,
          ETag: `"${file.sha256}"`,
        });
      },
    );
}

/**
 * `/api/device/cry/…`: what a node's microphone driver needs. It scores on the node with the subject's active
 * model (fetched here, re-fetched when the ETag changes) and sends recent snippets for the household to label.
 * `subject` is needed only by a node watching several subjects.
 */
export function deviceCryRoutes(deps: { allow: AllowFn; cry: CryService }) {
  const { allow, cry } = deps;
  const subjectQuery = z.object({ subject: z.coerce.number().int().positive().optional() });
  return new Hono<AppEnv>()
    .get(
      '/cry/model',
      allow(
        'device',
        "The active cry model file of the node's subject (ETag: its sha256; 304 for If-None-Match); 204: use the default detector",
      ),
      validate('query', subjectQuery.strict()),
      async (c) => {
        const subjectId = cry.subjectOfDevice(c.get('device')!.id, c.req.valid('query').subject);
        const file = await cry.activeModelFile(subjectId);
        const headers = { 'X-Hearth-Subject': String(subjectId), 'Cache-Control': 'no-store' };
        if (!file) return c.body(null, 204, headers);
        const etag = `"${file.sha256}"`;
        const known = (c.req.header('if-none-match') ?? '').split(',').map((tag) => tag.trim());
        const versioned = { ...headers, ETag: etag, 'X-Hearth-Cry-Version': String(file.version) };
        if (known.includes(etag)) return c.body(null, 304, versioned);
        return c.body(new Uint8Array(file.bytes), 200, { ...versioned, 'Content-Type': 'application/json' });
      },
    )
    .post(
      '/cry/clips',
      allow(
        'device',
        'A node keeps a recent snippet as an unlabelled clip of its subject (WAV 16 kHz mono 16-bit, 1–10 s)',
      ),
      validate(
        'query',
        subjectQuery.extend({ recordedAt: z.coerce.number().int().positive().optional() }).strict(),
      ),
      limit(MAX_CLIP_FILE_BYTES, 'A clip'),
      async (c) => {
        const deviceId = c.get('device')!.id;
        const { subject, recordedAt } = c.req.valid('query');
        const subjectId = cry.subjectOfDevice(deviceId, subject);
        const bytes = await wavBody(c.req);
        const clip = await cry.addClip(subjectId, bytes, { deviceId, recordedAt });
        return c.json({ clip }, 201);
      },
    );
}
