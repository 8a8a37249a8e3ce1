import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { MediaError } from './errors.js';
import { newCommand, processOf } from './ffmpeg.js';
import { type ParsedInit, parseFragment, parseLiveInit } from './fmp4.js';
import { parseFfmpegLine } from './log.js';

// Still pictures out of fragmented MP4: camera snapshots (a live stream's newest keyframe, or a segment's
// last one) and segment thumbnails (its first keyframe). ffmpeg always reads from its stdin, never a path:
// a segment on the NAS is read by the caller (through the hub's fs worker, which times out on a hung NAS)
// and only the bytes needed are piped in, so a hung mount can stall a request but never an ffmpeg stuck in
// the kernel, and never the hub's own I/O threads.

export interface JpegOptions {
  /** Scale to this width (height keeps the aspect, rounded to even). Default: the picture's own size. */
  width?: number;
  /** ffmpeg's -q:v for MJPEG, 2 (best) .. 31. Default 4. */
  quality?: number;
  /** ffmpeg (and the reads feeding it) must be done by then: MediaError('timeout'). Default 10 s. */
  timeoutMs?: number;
}

/** Reads bytes start..end (inclusive) of a segment file; what `ServableFile.read` is in the hub. */
export type ReadRange = (range: { start: number; end: number }) => Readable;

export interface SegmentBytes {
  read: ReadRange;
  /** File size. */
  size: number;
  /** Bytes of ftyp+moov (the index's `initBytes`): where the first fragment starts. */
  initBytes: number;
}

const MAX_JPEG_BYTES = 16 * 1024 * 1024;
/** A first fragment (one GOP, or one frag_duration) is far smaller than this; it bounds a thumbnail's read. */
const FIRST_FRAGMENT_MAX_BYTES = 16 * 1024 * 1024;
/** How much of a segment's end is read to find its last keyframe (a few GOPs of a 1080p camera). */
const DEFAULT_TAIL_BYTES = 6 * 1024 * 1024;
const MAX_INIT_BYTES = 4 * 1024 * 1024;

/**
 * The first video frame of a fragmented MP4 (ftyp, moov, then fragments) as a JPEG. Bytes may be given whole
 * or as a stream; ffmpeg stops after one frame, and a stream is then destroyed, so a reader behind it stops
 * too. Rejects with MediaError ('timeout', 'unreadable', 'ffmpeg_failed') or with the stream's own error.
 */
export function jpegFromMp4(input: Buffer | Readable, options: JpegOptions = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const quality = Math.round(options.quality ?? 4);
  if (!(quality >= 2 && quality <= 31)) throw new MediaError('invalid_spec', `quality ${quality}`);
  const width = options.width;
  if (width !== undefined && !(Number.isInteger(width) && width >= 16 && width <= 7680))
    throw new MediaError('invalid_spec', `width ${width}`);
  const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;

  const command = newCommand({ stdoutLines: 0 })
    .input(source)
    .inputFormat('mp4')
    .videoCodec('mjpeg')
    .outputOptions([
      '-an',
      '-frames:v',
      '1',
      '-q:v',
      String(quality),
      // MJPEG's native full-range format; without it ffmpeg converts anyway and warns.
      '-pix_fmt',
      'yuvj420p',
      '-hide_banner',
      '-loglevel',
      'level+error',
    ]);
  if (width) command.videoFilters(`scale=${width}:-2`);
  command.format('image2pipe').output('pipe:1');

  return new Promise<Buffer>((resolve, reject) => {
    let child: ChildProcess | undefined;
    let settled = false;
    let lastError: string | null = null;
    let sourceError: Error | undefined;
    const chunks: Buffer[] = [];
    let bytes = 0;

    const settle = (error: Error | null, jpeg?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // ffmpeg stops reading after one frame: whatever is left of the input must not keep a reader busy.
      source.destroy();
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve(jpeg!);
    };
    const timer = setTimeout(
      () => settle(new MediaError('timeout', `no picture within ${timeoutMs} ms`)),
      timeoutMs,
    );
    source.on('error', (error: Error) => {
      sourceError = error;
      settle(error);
    });
    command.on('start', () => {
      child = processOf(command);
      if (settled) child?.kill('SIGKILL');
      child?.stdout?.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_JPEG_BYTES) settle(new MediaError('ffmpeg_failed', 'picture larger than 16 MiB'));
        else chunks.push(chunk);
      });
    });
    command.on('stderr', (raw: string) => {
      const line = parseFfmpegLine(raw);
      if (line?.level === 'error') lastError = line.source ? `${line.source}: ${line.message}` : line.message;
    });
    command.on('error', (error: Error) => {
      if (sourceError) return settle(sourceError);
      settle(new MediaError('ffmpeg_failed', lastError ?? error.message.split('\n')[0] ?? 'ffmpeg failed'));
    });
    command.on('end', () => {
      const jpeg = Buffer.concat(chunks);
      if (jpeg.length < 4 || jpeg.readUInt16BE(0) !== 0xffd8)
        settle(new MediaError('unreadable', lastError ?? 'no video frame in the input'));
      else settle(null, jpeg);
    });
    command.run();
  });
}

/**
 * The first keyframe of a fragmented-MP4 segment (a thumbnail): init and as much of the first fragment as
 * ffmpeg reads before it has one frame. At most initBytes + 16 MiB are ever requested.
 */
export function segmentFirstFrame(segment: SegmentBytes, options: JpegOptions = {}): Promise<Buffer> {
  checkSegment(segment);
  const end = Math.min(segment.size, segment.initBytes + FIRST_FRAGMENT_MAX_BYTES) - 1;
  return jpegFromMp4(segment.read({ start: 0, end }), options);
}

/**
 * The newest keyframe of a segment (a snapshot): reads the init and the last `tailBytes` of the file, finds
 * the last fragment there that starts with a keyframe and decodes it. A segment whose last keyframe lies
 * further back than the tail (a camera with a very long GOP) gives its first keyframe instead.
 */
export async function segmentLastKeyframe(
  segment: SegmentBytes,
  options: JpegOptions & { tailBytes?: number } = {},
): Promise<Buffer> {
  checkSegment(segment);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  if (segment.initBytes > MAX_INIT_BYTES) throw new MediaError('unreadable', 'init segment over 4 MiB');
  const init = await readAll(segment.read({ start: 0, end: segment.initBytes - 1 }), timeoutMs);
  const tailStart = Math.max(segment.initBytes, segment.size - (options.tailBytes ?? DEFAULT_TAIL_BYTES));
  const tail = await readAll(
    segment.read({ start: tailStart, end: segment.size - 1 }),
    deadline - Date.now(),
  );
  const found = lastKeyframeFragment(tail, init);
  const rest = { ...options, timeoutMs: Math.max(1000, deadline - Date.now()) };
  if (!found) return segmentFirstFrame(segment, rest);
  return jpegFromMp4(Buffer.concat([init, tail.subarray(found.start, found.end)]), rest);
}

/**
 * Where in `bytes` (any stretch of a fragmented MP4 after its init) the last whole moof+mdat starting with a
 * keyframe lies, or null. The stretch may begin inside a box, so moof headers are searched for and each
 * candidate is believed only if it parses as a fragment of the init's video track and its mdat fits.
 */
export function lastKeyframeFragment(bytes: Buffer, init: Buffer): { start: number; end: number } | null {
  const parsed = parseLiveInit(init);
  if (typeof parsed === 'string') throw new MediaError('unreadable', parsed);
  let at = bytes.length;
  for (;;) {
    at = bytes.lastIndexOf('moof', at - 1, 'latin1');
    if (at < 4) return null;
    const candidate = fragmentAt(bytes, at - 4, parsed);
    if (candidate?.keyframe) return { start: candidate.start, end: candidate.end };
  }
}

function fragmentAt(
  bytes: Buffer,
  start: number,
  init: ParsedInit,
): { start: number; end: number; keyframe: boolean } | null {
  const moofSize = bytes.readUInt32BE(start);
  if (moofSize < 16 || start + moofSize + 8 > bytes.length) return null;
  const mdatAt = start + moofSize;
  if (bytes.toString('latin1', mdatAt + 4, mdatAt + 8) !== 'mdat') return null;
  const mdatSize = bytes.readUInt32BE(mdatAt);
  if (mdatSize < 8 || mdatAt + mdatSize > bytes.length) return null;
  const info = parseFragment(bytes.subarray(start, mdatAt), init);
  if (typeof info === 'string') return null;
  return { start, end: mdatAt + mdatSize, keyframe: info.keyframe };
}

function checkSegment(segment: SegmentBytes): void {
  if (!(segment.initBytes > 0 && segment.size > segment.initBytes))
    throw new MediaError('unreadable', 'the segment holds no fragment');
}

/** A whole (bounded) stream into memory, or its error, or MediaError('timeout'). */
async function readAll(stream: Readable, timeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        stream.destroy();
        reject(new MediaError('timeout', `reading the segment took over ${timeoutMs} ms`));
      },
      Math.max(0, timeoutMs),
    );
  });
  try {
    return await Promise.race([
      (async () => {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
