import type { EventBus } from '../events/bus.js';
import { AppError, notFound } from '../http/errors.js';
import type { Segment, SegmentRepo } from '../recording/segments.repo.js';
import { buildPlaylist } from './playlist.js';
import { coverageOf, gapsIn, SEAM_TOLERANCE_MS, type Span } from './timeline.js';

/**
 * How far before `from` a segment that runs into the range can have started: cameras cut segments
 * every `segmentSeconds` (at most 300), at the first keyframe after it, so a segment can run a GOP
 * longer; 10 s covers the longest GOP an IP camera sends.
 */
export const LONGEST_SEGMENT_MS = 300_000 + 10_000;

/** The longest range one timeline or playlist covers: a week of 10 s segments is ~60,000 rows. */
export const MAX_RANGE_MS = 7 * 24 * 3600_000;

export interface TimelineSegment {
  id: number;
  startAt: number;
  endAt: number;
  durationMs: number;
  location: Segment['location'];
  clockSuspect: boolean;
  protected: boolean;
}

export interface Timeline {
  cameraId: string;
  from: number;
  to: number;
  segments: TimelineSegment[];
  coverage: Span[];
  gaps: Span[];
}

export function createPlaybackService(deps: {
  segments: SegmentRepo;
  bus: EventBus;
  cameraExists: (id: string) => boolean;
}) {
  const { segments } = deps;

  /**
   * Playable segments overlapping [from, to), oldest first, plus the ones just outside it that the seam
   * tolerance joins to it (they shape coverage only). A row with no media after its init (cannot happen
   * for a probed file, but a row is not a file) is not footage: both the timeline and the playlist
   * leave it out, so the two always list the same segments.
   */
  function footage(cameraId: string, from: number, to: number) {
    if (!deps.cameraExists(cameraId)) throw notFound('Camera');
    const nearby = segments
      .listOverlapping(cameraId, from - SEAM_TOLERANCE_MS, to + SEAM_TOLERANCE_MS, LONGEST_SEGMENT_MS)
      .filter((segment) => segment.bytes > segment.initBytes && segment.durationMs > 0);
    const inRange = nearby.filter((segment) => segment.startAt < to && segment.endAt > from);
    return { nearby, inRange };
  }

  return {
    timeline(cameraId: string, from: number, to: number): Timeline {
      const { nearby, inRange } = footage(cameraId, from, to);
      const coverage = coverageOf(
        nearby.map((segment) => ({ from: segment.startAt, to: segment.endAt })),
        from,
        to,
      );
      return {
        cameraId,
        from,
        to,
        segments: inRange.map((segment) => ({
          id: segment.id,
          startAt: segment.startAt,
          endAt: segment.endAt,
          durationMs: segment.durationMs,
          location: segment.location,
          clockSuspect: segment.clockSuspect,
          protected: segment.protected,
        })),
        coverage,
        gaps: gapsIn(coverage, from, to),
      };
    },

    /** The HLS VOD playlist over exactly the timeline's segments; 404 `no_footage` when there are none. */
    playlist(cameraId: string, from: number, to: number): string {
      const { inRange } = footage(cameraId, from, to);
      if (inRange.length === 0) throw new AppError(404, 'no_footage', 'No recorded footage in this range.');
      return buildPlaylist(inRange);
    },

    /** Protects a segment from retention (or releases it) and tells every open tab. */
    setProtected(id: number, value: boolean): Segment {
      const segment = segments.setProtected(id, value);
      if (!segment) throw notFound('Segment');
      deps.bus.publish('recording', { change: 'segment-updated', segment });
      return segment;
    },
  };
}

export type PlaybackService = ReturnType<typeof createPlaybackService>;
