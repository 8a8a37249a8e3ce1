import { AppError } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import {
  jpegFromMp4,
  type LiveFragment,
  type LiveInit,
  MediaError,
  segmentFirstFrame,
  segmentLastKeyframe,
} from '../media/index.js';
import type { ServableFile } from '../recording/file-response.js';
import type { Segment } from '../recording/segments.repo.js';
import { isStorageError } from '../storage/index.js';
import type { PictureCache } from './picture-cache.js';
import type { PictureRepo } from './pictures.repo.js';

export const THUMBNAIL_WIDTHS = { min: 160, max: 640, default: 320 } as const;

/** A live stream's newest keyframe, as H264Live.latestKeyframe() gives it. */
export interface LiveKeyframe {
  init: LiveInit;
  fragment: LiveFragment;
}

type SegmentRef = Pick<Segment, 'id' | 'cameraId' | 'startAt' | 'initBytes' | 'location' | 'relPath'>;

/** Validators for a refreshing grid: the same picture keeps the same tag, so the browser gets 304. */
export const pictureTags = {
  live: (cameraId: string, frame: LiveKeyframe) =>
    `"live-${cameraId}-${frame.fragment.receivedAt}-${frame.fragment.seq}"`,
  segment: (segment: SegmentRef) => `"seg-${segment.id}-${segment.startAt}"`,
  thumbnail: (segment: SegmentRef, width: number) => `"thumb-${segment.id}-${segment.startAt}-${width}"`,
};

/**
 * Camera snapshots and segment thumbnails. Each picture is decoded once: segment pictures are kept on the
 * hub's disk (bounded caches), a live stream's newest keyframe picture in memory (one per camera). The
 * cache keys hold the segment's camera and start as well as its id, so a rebuilt index that reuses ids
 * never serves another segment's picture. Decodes run at most `maxConcurrentDecodes` at a time (a grid of
 * thumbnails must not start dozens of ffmpegs on a Pi); past `maxWaiting` queued, requests get 503.
 */
export function createPictureService(deps: {
  repo: PictureRepo;
  openSegment: (segment: Pick<Segment, 'location' | 'relPath'>) => Promise<ServableFile>;
  thumbnails: PictureCache;
  snapshots: PictureCache;
  log: Logger;
  maxConcurrentDecodes?: number;
  maxWaiting?: number;
  timeoutMs?: number;
}) {
  const maxConcurrent = deps.maxConcurrentDecodes ?? 2;
  const maxWaiting = deps.maxWaiting ?? 64;
  const timeoutMs = deps.timeoutMs ?? 15_000;
  const inFlight = new Map<string, Promise<Buffer>>();
  const liveJpegs = new Map<string, { tag: string; jpeg: Buffer }>();
  const waiting: (() => void)[] = [];
  let active = 0;

  async function withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (active < maxConcurrent) active += 1;
    else {
      if (waiting.length >= maxWaiting)
        throw new AppError(
          503,
          'busy',
          'The hub is making many pictures at once; try again shortly.',
          undefined,
          {
            'Retry-After': '2',
          },
        );
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  }

  /** One decode per key however many requests ask at once. */
  function once(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
    const existing = inFlight.get(key);
    if (existing) return existing;
    const job = make().finally(() => inFlight.delete(key));
    inFlight.set(key, job);
    return job;
  }

  async function fromSegment(
    cache: PictureCache,
    key: string,
    segment: SegmentRef,
    decode: (file: ServableFile) => Promise<Buffer>,
  ): Promise<Buffer> {
    const cached = await cache.get(key);
    if (cached) return cached;
    return once(key, async () => {
      try {
        const jpeg = await withSlot(async () => decode(await deps.openSegment(segment)));
        await cache
          .put(key, jpeg)
          .catch((error: Error) => deps.log.warn({ err: error }, 'picture cache write failed'));
        return jpeg;
      } catch (error) {
        throw asAppError(error, segment);
      }
    });
  }

  return {
    newestSegment: deps.repo.newestSegment,

    /** The last keyframe of a segment, full size. */
    segmentSnapshot(segment: SegmentRef): Promise<Buffer> {
      const key = `${segment.id}-${segment.cameraId}-${segment.startAt}.jpg`;
      return fromSegment(deps.snapshots, key, segment, (file) =>
        segmentLastKeyframe(
          { read: file.read, size: file.size, initBytes: segment.initBytes },
          { quality: 3, timeoutMs },
        ),
      );
    },

    /** The first keyframe of a segment scaled to `width`. */
    thumbnail(segment: SegmentRef, width: number): Promise<Buffer> {
      const key = `${segment.id}-${segment.cameraId}-${segment.startAt}-w${width}.jpg`;
      return fromSegment(deps.thumbnails, key, segment, (file) =>
        segmentFirstFrame(
          { read: file.read, size: file.size, initBytes: segment.initBytes },
          { width, quality: 5, timeoutMs },
        ),
      );
    },

    /** A live stream's newest keyframe, decoded once per keyframe and kept until the next. */
    async liveSnapshot(cameraId: string, frame: LiveKeyframe): Promise<Buffer> {
      const tag = pictureTags.live(cameraId, frame);
      const kept = liveJpegs.get(cameraId);
      if (kept?.tag === tag) return kept.jpeg;
      const jpeg = await once(tag, () =>
        withSlot(() =>
          jpegFromMp4(Buffer.concat([frame.init.bytes, frame.fragment.bytes]), { quality: 3, timeoutMs }),
        ).catch((error: unknown) => {
          throw asAppError(error);
        }),
      );
      liveJpegs.set(cameraId, { tag, jpeg });
      return jpeg;
    },
  };
}

export type PictureService = ReturnType<typeof createPictureService>;

/** What went wrong making a picture, in the API's words. */
function asAppError(error: unknown, segment?: SegmentRef): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof MediaError) {
    if (error.code === 'timeout')
      return new AppError(504, 'timeout', 'Making the picture took too long; the storage may be slow.');
    if (error.code === 'unreadable' || error.code === 'ffmpeg_failed')
      return new AppError(
        422,
        'unreadable',
        segment
          ? 'This recording holds no picture that can be read.'
          : 'The live picture could not be decoded.',
        { reason: error.message },
      );
  }
  if (isStorageError(error)) {
    if (error.errno === 'ENOENT')
      return new AppError(404, 'not_found', 'The file is not where the index says.');
    return new AppError(503, 'nas_down', 'The NAS did not answer in time.', { reason: error.message });
  }
  return error;
}
