import path from 'node:path';
import { and, asc, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { segments } from '../../recording/recording.schema.js';
import { type DetectionLabel, detectionEventSegments, detectionEvents } from './detections.schema.js';

export type DetectionRow = typeof detectionEvents.$inferSelect;

/** What the API and the `detections` topic carry of an event; never where its snapshot is stored. */
export interface DetectionEvent {
  id: number;
  cameraId: string;
  label: DetectionLabel;
  startAt: number;
  endAt: number | null;
  score: number;
  hits: number;
  zone: string | null;
  snapshotUrl: string | null;
}

export function detectionView(row: DetectionRow): DetectionEvent {
  return {
    id: row.id,
    cameraId: row.cameraId,
    label: row.label,
    startAt: row.startAt,
    endAt: row.endAt,
    score: row.score,
    hits: row.hits,
    zone: row.zone,
    // The file is replaced while the event is open and a better frame arrives; `v` changes with it,
    // so the snapshot route can tell browsers to keep what they fetched.
    snapshotUrl: row.snapshot ? `/api/detections/${row.id}/snapshot?v=${row.snapshotAt ?? 0}` : null,
  };
}

/** `<dataDir>/snapshots`: the only folder snapshot paths may point into. */
export function snapshotsDir(dataDir: string): string {
  return path.join(dataDir, 'snapshots');
}

/**
 * The snapshot file of a row, or null when its stored path would leave the snapshots folder
 * (`../`, an absolute path): the column is data, and data does not get to name arbitrary files.
 */
export function snapshotFile(dataDir: string, relative: string): string | null {
  const root = snapshotsDir(dataDir);
  const file = path.resolve(root, relative);
  return file.startsWith(`${root}${path.sep}`) ? file : null;
}

export interface DetectionFilter {
  cameraId?: string | undefined;
  label?: DetectionLabel | undefined;
  /** Events that started in [from, to). */
  from?: number | undefined;
  to?: number | undefined;
  /** Paging: events after this one in the list's order (newest first). */
  before?: DetectionRow | undefined;
  limit: number;
}

/** Reads and removal of detection events; the detector's writes are in detections.service.ts. */
export function createDetectionRepo(db: Db) {
  return {
    get(id: number): DetectionRow | undefined {
      return db.select().from(detectionEvents).where(eq(detectionEvents.id, id)).get();
    },

    /** Newest start first; ties (same millisecond) by id, so paging with `before` never skips one. */
    list(filter: DetectionFilter): DetectionRow[] {
      const where: (SQL | undefined)[] = [
        filter.cameraId === undefined ? undefined : eq(detectionEvents.cameraId, filter.cameraId),
        filter.label === undefined ? undefined : eq(detectionEvents.label, filter.label),
        filter.from === undefined ? undefined : gte(detectionEvents.startAt, filter.from),
        filter.to === undefined ? undefined : lt(detectionEvents.startAt, filter.to),
        filter.before === undefined
          ? undefined
          : or(
              lt(detectionEvents.startAt, filter.before.startAt),
              and(
                eq(detectionEvents.startAt, filter.before.startAt),
                lt(detectionEvents.id, filter.before.id),
              ),
            ),
      ];
      return db
        .select()
        .from(detectionEvents)
        .where(and(...where))
        .orderBy(desc(detectionEvents.startAt), desc(detectionEvents.id))
        .limit(filter.limit)
        .all();
    },

    /** The recorded segments linked to an event (the footage retention keeps for it), oldest first. */
    segments(id: number): { id: number; startAt: number; endAt: number }[] {
      return db
        .select({ id: segments.id, startAt: segments.startAt, endAt: segments.endAt })
        .from(detectionEventSegments)
        .innerJoin(segments, eq(segments.id, detectionEventSegments.segmentId))
        .where(eq(detectionEventSegments.eventId, id))
        .orderBy(asc(segments.startAt))
        .all();
    },

    /** Deletes the event; its segment links go with it (foreign key cascade). The row as it was, if any. */
    remove(id: number): DetectionRow | undefined {
      return db.delete(detectionEvents).where(eq(detectionEvents.id, id)).returning().get();
    },
  };
}

export type DetectionRepo = ReturnType<typeof createDetectionRepo>;
