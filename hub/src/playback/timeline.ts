// Pure timeline arithmetic: which stretches of a range have footage. No database, no clock.

/** A half-open span of wall time [from, to), in ms since the epoch. */
export interface Span {
  from: number;
  to: number;
}

/**
 * Segment boundaries are not seamless: ffmpeg's wall-clock file names round to the second and the
 * next segment starts at the next keyframe, so consecutive segments of one recorder routinely leave
 * a few hundred ms between them. A hole this short is the recorder's seam, not missing footage.
 */
export const SEAM_TOLERANCE_MS = 1500;

/**
 * Merged footage spans of `spans` (any order, may overlap: clock-suspect segments do), joining holes
 * of at most `toleranceMs`, then clipped to [from, to). Spans that only touch the range through the
 * tolerance (ending up to `toleranceMs` before `from`, or starting up to `toleranceMs` after `to`)
 * still count, so the coverage of a range equals the coverage of a wider range cut down to it.
 */
export function coverageOf(
  spans: readonly Span[],
  from: number,
  to: number,
  toleranceMs = SEAM_TOLERANCE_MS,
): Span[] {
  const sorted = spans.filter((span) => span.to > span.from).sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.from - last.to <= toleranceMs) last.to = Math.max(last.to, span.to);
    else merged.push({ from: span.from, to: span.to });
  }
  const clipped: Span[] = [];
  for (const span of merged) {
    const clippedFrom = Math.max(span.from, from);
    const clippedTo = Math.min(span.to, to);
    if (clippedTo > clippedFrom) clipped.push({ from: clippedFrom, to: clippedTo });
  }
  return clipped;
}

/** The holes of [from, to) that `coverage` (sorted, disjoint, inside the range) leaves. */
export function gapsIn(coverage: readonly Span[], from: number, to: number): Span[] {
  const gaps: Span[] = [];
  let cursor = from;
  for (const span of coverage) {
    if (span.from > cursor) gaps.push({ from: cursor, to: span.from });
    cursor = Math.max(cursor, span.to);
  }
  if (cursor < to) gaps.push({ from: cursor, to });
  return gaps;
}
