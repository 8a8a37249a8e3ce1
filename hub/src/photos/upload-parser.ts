import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { AppError } from '../http/errors.js';

export interface UploadedFile {
  /** 0-based among the `photo` parts, in the order they came. */
  index: number;
  /** The part's file name as sent, for error messages only; never used as a path. */
  fileName: string;
  tmpPath: string;
  bytes: number;
}

export interface ParsedUpload {
  meta: string | null;
  files: UploadedFile[];
  /** Removes every temporary file of this upload. */
  discard(): Promise<void>;
}

export interface UploadLimits {
  maxBytes: number;
  maxPhotos: number;
  tmpDir: string;
}

const tooLarge = (limit: number) =>
  new AppError(413, 'payload_too_large', `Request body over ${limit} bytes.`, { limitBytes: limit });

/**
 * Streams a `multipart/form-data` body to temporary files: parts named `photo` become files, one part named
 * `meta` is kept as text. Nothing is held whole in memory; a body over `maxBytes` (by Content-Length, or
 * counted as it arrives) is refused with 413 and leaves nothing behind.
 */
export async function parseUpload(request: Request, limits: UploadLimits): Promise<ParsedUpload> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type))
    throw new AppError(
      415,
      'unsupported_media_type',
      'Send multipart/form-data with `photo` parts and a `meta` part.',
    );
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  if (!request.body) throw new AppError(400, 'bad_request', 'The request has no body.');
  await mkdir(limits.tmpDir, { recursive: true });

  const files: UploadedFile[] = [];
  const written: string[] = [];
  let meta: string | null = null;
  let failure: AppError | null = null;
  const discard = async () => {
    await Promise.all(written.map((file) => rm(file, { force: true })));
  };

  const parser = busboy({
    headers: { 'content-type': type },
    limits: {
      fileSize: limits.maxBytes,
      files: limits.maxPhotos,
      fields: 1,
      fieldSize: 16 * 1024,
      parts: limits.maxPhotos + 1,
      headerPairs: 20,
    },
  });
  const writes: Promise<void>[] = [];
  let received = 0;
  const fail = (error: AppError) => {
    failure ??= error;
  };

  parser.on('file', (name, stream, info) => {
    if (name !== 'photo' || failure) {
      if (name !== 'photo')
        fail(
          new AppError(
            400,
            'bad_request',
            `Unexpected file part "${name}"; photos go in parts named "photo".`,
          ),
        );
      stream.resume();
      return;
    }
    const index = files.length;
    const tmpPath = path.join(limits.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}.part`);
    written.push(tmpPath);
    const file: UploadedFile = { index, fileName: info.filename ?? '', tmpPath, bytes: 0 };
    files.push(file);
    stream.on('data', (chunk: Buffer) => {
      file.bytes += chunk.length;
    });
    stream.on('limit', () => fail(tooLarge(limits.maxBytes)));
    writes.push(
      // No fsync here: a temporary is not acknowledged; placement on the NAS or spool is what is made durable.
      pipeline(stream, createWriteStream(tmpPath, { flags: 'wx' })).catch((error: Error) =>
        fail(new AppError(400, 'bad_request', `Photo part ${index} broke off: ${error.message}`)),
      ),
    );
  });
  parser.on('field', (name, value, info) => {
    if (name !== 'meta') return fail(new AppError(400, 'bad_request', `Unexpected field "${name}".`));
    if (info.valueTruncated)
      return fail(new AppError(400, 'bad_request', 'The meta part is longer than 16 KiB.'));
    meta = value;
  });
  parser.on('filesLimit', () =>
    fail(new AppError(400, 'bad_request', `At most ${limits.maxPhotos} photos per upload.`)),
  );
  parser.on('partsLimit', () => fail(new AppError(400, 'bad_request', 'Too many parts.')));
  parser.on('fieldsLimit', () => fail(new AppError(400, 'bad_request', 'Only one meta field is allowed.')));

  const body = Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > limits.maxBytes) {
      fail(tooLarge(limits.maxBytes));
      body.destroy();
    }
  });
  try {
    await pipeline(body, parser);
  } catch (error) {
    if (!failure)
      fail(new AppError(400, 'bad_request', `Malformed multipart body: ${(error as Error).message}`));
  }
  await Promise.allSettled(writes);
  if (failure) {
    await discard();
    throw failure;
  }
  return { meta, files, discard };
}
