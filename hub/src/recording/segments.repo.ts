import { and, asc, count, desc, eq, gt, gte, lt, ne } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { SegmentProbe } from '../media/index.js';
import { type SegmentLocation, segments } from './recording.schema.js';
import type { SegmentName } from './segment-names.js';

export type Segment = typeof segments.$inferSelect;
export type NewSegment = Omit<typeof segments.$inferInsert, 'id' | 'clockSuspect'>;

/** The row for a probed segment file, wherever it was placed. */
export function segmentFromProbe(
  name: SegmentName,
  probe: Pick<SegmentProbe, 'durationMs' | 'bytes' | 'codec' | 'width' | 'height' | 'initHeaderBytes'>,
  where: { location: SegmentLocation; relPath: string },
  now: number,
): NewSegment {
  return {
    cameraId: name.cameraId,
    startAt: name.startAt,
    endAt: name.startAt + probe.durationMs,
    durationMs: probe.durationMs,
    bytes: probe.bytes,
    codec: probe.codec,
    width: probe.width,
    height: probe.height,
    initBytes: probe.initHeaderBytes,
    location: where.location,
    relPath: where.relPath,
    protected: false,
    createdAt: now,
  };
}

/** Segments dated before this build cannot be real: the clock was wrong (no RTC, no NTP yet). */
export const BUILD_EPOCH = Date.UTC(2026, 0, 1);

export function createSegmentRepo(db: Db) {
  return {
    /**
     * Inserts a segment, flagging it `clock_suspect` when it starts before the build or before
     * the end of the camera's previous segment. Idempotent on `relPath` (a re-scan changes nothing).
     */
    insert(segment: NewSegment): Segment {
      return db.transaction((tx) => {
        const existing = tx.select().from(segments).where(eq(segments.relPath, segment.relPath)).get();
        if (existing) return existing;
        const previous = tx
          .select({ startAt: segments.startAt, endAt: segments.endAt })
          .from(segments)
          .where(eq(segments.cameraId, segment.cameraId))
          .orderBy(desc(segments.startAt))
          .limit(1)
          .get();
        // A second of slack: ffmpeg's wall-clock names round to the second.
        const clockSuspect =
          segment.startAt < BUILD_EPOCH ||
          (previous !== undefined && segment.startAt < previous.endAt - 1000);
        return tx
          .insert(segments)
          .values({ ...segment, clockSuspect })
          .returning()
          .get();
      });
    },

    get(id: number): Segment | undefined {
      return db.select().from(segments).where(eq(segments.id, id)).get();
    },

    byRelPath(relPath: string): Segment | undefined {
      return db.select().from(segments).where(eq(segments.relPath, relPath)).get();
    },

    /** Segments of one camera starting in [from, to), oldest first: one index range scan. */
    listRange(cameraId: string, from: number, to: number): Segment[] {
      return db
        .select()
        .from(segments)
        .where(and(eq(segments.cameraId, cameraId), gte(segments.startAt, from), lt(segments.startAt, to)))
        .orderBy(asc(segments.startAt))
        .all();
    },

    /**
     * Placed segments (NAS or spool, never staging) of one camera overlapping [from, to), oldest first.
     * The index is on startAt, so the scan starts `lookBackMs` (the longest a segment can be) before
     * `from` to catch one that began earlier and runs into the range; endAt then drops the rest.
     */
    listOverlapping(cameraId: string, from: number, to: number, lookBackMs: number): Segment[] {
      return db
        .select()
        .from(segments)
        .where(
          and(
            eq(segments.cameraId, cameraId),
            gte(segments.startAt, from - lookBackMs),
            lt(segments.startAt, to),
            gt(segments.endAt, from),
            ne(segments.location, 'staging'),
          ),
        )
        .orderBy(asc(segments.startAt), asc(segments.id))
        .all();
    },

    /** Sets the retention guard of one segment; undefined when there is no such row. */
    setProtected(id: number, value: boolean): Segment | undefined {
      return db.update(segments).set({ protected: value }).where(eq(segments.id, id)).returning().get();
    },

    move(relPath: string, location: SegmentLocation, newRelPath = relPath): void {
      db.update(segments).set({ location, relPath: newRelPath }).where(eq(segments.relPath, relPath)).run();
    },

    removeByRelPath(relPath: string): void {
      db.delete(segments).where(eq(segments.relPath, relPath)).run();
    },

    countAt(location: SegmentLocation): number {
      return db.select({ n: count() }).from(segments).where(eq(segments.location, location)).get()?.n ?? 0;
    },

    /** Every row at a location, as relPath → id, for reconciliation against a directory walk. */
    relPathsAt(location: SegmentLocation): Map<string, number> {
      const rows = db
        .select({ id: segments.id, relPath: segments.relPath })
        .from(segments)
        .where(eq(segments.location, location))
        .all();
      return new Map(rows.map((row) => [row.relPath, row.id]));
    },
  };
}

export type SegmentRepo = ReturnType<typeof createSegmentRepo>;
