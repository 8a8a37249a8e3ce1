import type { Span, TimelineSegment } from './api';

/**
 * The playlist ↔ wall clock map of a playback session. The hub's playlist holds exactly the
 * timeline's segments in order, one EXTINF of `durationMs / 1000` each, gaps left out; so
 * playlist time `t` lies in segment `i` where the cumulative durations before `i` ≤ t, and its
 * wall time is that segment's `startAt` plus the offset into it. Gaps are skipped in playback:
 * the wall clock jumps between two segments that do not touch.
 */
export interface PlaybackMap {
  segments: TimelineSegment[];
  /** Playlist start (seconds) of each segment. */
  starts: number[];
  /** Playlist length (seconds). */
  total: number;
}

export function buildMap(segments: TimelineSegment[]): PlaybackMap {
  const starts: number[] = [];
  let total = 0;
  for (const segment of segments) {
    starts.push(total);
    total += segment.durationMs / 1000;
  }
  return { segments, starts, total };
}

/**
 * Replaces the computed starts with the player's own (hls.js corrects each fragment's start to
 * the media it buffered), when it lists the same number of fragments.
 */
export function withStarts(map: PlaybackMap, starts: number[]): PlaybackMap {
  if (starts.length !== map.segments.length || starts.some((s) => !Number.isFinite(s))) return map;
  if (starts.every((s, i) => Math.abs(s - (map.starts[i] ?? 0)) < 0.001)) return map;
  const last = map.segments.length - 1;
  const total = last >= 0 ? (starts[last] ?? 0) + (map.segments[last]?.durationMs ?? 0) / 1000 : 0;
  return { segments: map.segments, starts, total };
}

/** Last index whose value is ≤ x (−1 when x is before the first), over values sorted ascending. */
function lastAtOrBefore(length: number, valueAt: (i: number) => number, x: number): number {
  let lo = 0;
  let hi = length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (valueAt(mid) <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The segment playing at playlist time `t`. */
export function indexAtTime(map: PlaybackMap, t: number): number {
  if (!map.segments.length) return -1;
  return Math.max(
    0,
    lastAtOrBefore(map.starts.length, (i) => map.starts[i] ?? 0, t),
  );
}

/** Wall time (epoch ms) shown at playlist time `t`. */
export function wallAt(map: PlaybackMap, t: number): number | null {
  const index = indexAtTime(map, t);
  const segment = map.segments[index];
  if (!segment) return null;
  const offset = Math.min(Math.max(0, t - (map.starts[index] ?? 0)), segment.durationMs / 1000);
  return segment.startAt + offset * 1000;
}

/**
 * Playlist time for a wall time: inside a segment, the matching moment; in a gap, the start of
 * the next segment (`snapped`); after the last segment, null.
 */
export function timeAtWall(
  map: PlaybackMap,
  wall: number,
): { time: number; index: number; snapped: boolean } | null {
  const index = lastAtOrBefore(map.segments.length, (i) => map.segments[i]?.startAt ?? 0, wall);
  const here = map.segments[index];
  if (here && wall < here.startAt + here.durationMs) {
    return { time: (map.starts[index] ?? 0) + (wall - here.startAt) / 1000, index, snapped: false };
  }
  const nextIndex = index + 1;
  if (nextIndex >= map.segments.length) return null;
  return { time: map.starts[nextIndex] ?? 0, index: nextIndex, snapped: true };
}

/** The segment covering a wall time, if any (binary search over a list sorted by start). */
export function segmentAtWall(segments: readonly TimelineSegment[], wall: number): TimelineSegment | null {
  const here = segments[lastAtOrBefore(segments.length, (i) => segments[i]?.startAt ?? 0, wall)];
  if (here && wall < here.endAt) return here;
  return null;
}

/** Adds a newly recorded segment to a coverage list (touching spans merge). */
export function extendCoverage(
  coverage: readonly Span[],
  segment: { startAt: number; endAt: number },
): Span[] {
  const TOUCH_MS = 1500;
  const last = coverage[coverage.length - 1];
  if (last && segment.startAt <= last.to + TOUCH_MS && segment.startAt >= last.from)
    return [...coverage.slice(0, -1), { from: last.from, to: Math.max(last.to, segment.endAt) }];
  return [...coverage, { from: segment.startAt, to: segment.endAt }];
}
