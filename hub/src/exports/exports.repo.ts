import { and, asc, count, desc, eq, gt, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { segments } from '../recording/recording.schema.js';
import type { Segment } from '../recording/segments.repo.js';
import { clipExports, type ExportState } from './exports.schema.js';

export type ExportRow = typeof clipExports.$inferSelect;

/**
 * Segments are at most 300 s long (cameras' segmentSeconds); one started this long before `from` may still
 * reach into the range. Bounding the scan keeps it one short range of the (camera, start) index.
 */
const LONGEST_SEGMENT_MS = 3600_000;

export function createExportRepo(db: Db) {
  return {
    insert(row: Omit<typeof clipExports.$inferInsert, 'id'>): ExportRow {
      return db.insert(clipExports).values(row).returning().get();
    },

    get(id: number): ExportRow | undefined {
      return db.select().from(clipExports).where(eq(clipExports.id, id)).get();
    },

    list(limit: number): ExportRow[] {
      return db.select().from(clipExports).orderBy(desc(clipExports.createdAt)).limit(limit).all();
    },

    /** Updates a row that still exists; undefined when it was deleted meanwhile. */
    update(id: number, patch: Partial<Omit<ExportRow, 'id'>>): ExportRow | undefined {
      return db.update(clipExports).set(patch).where(eq(clipExports.id, id)).returning().get();
    },

    remove(id: number): boolean {
      return db.delete(clipExports).where(eq(clipExports.id, id)).run().changes > 0;
    },

    inStates(states: ExportState[]): ExportRow[] {
      return db.select().from(clipExports).where(inArray(clipExports.state, states)).all();
    },

    countInStates(states: ExportState[]): number {
      return (
        db.select({ n: count() }).from(clipExports).where(inArray(clipExports.state, states)).get()?.n ?? 0
      );
    },

    /** Finished clips on the NAS: what the storage budget counts. */
    nasUsage(): { usedBytes: number; items: number; oldest: number | null } {
      const row = db
        .select({
          usedBytes: sql<number>`coalesce(sum(${clipExports.bytes}), 0)`,
          items: count(),
          oldest: sql<number | null>`min(${clipExports.finishedAt})`,
        })
        .from(clipExports)
        .where(and(eq(clipExports.state, 'done'), eq(clipExports.location, 'nas')))
        .get();
      return { usedBytes: row?.usedBytes ?? 0, items: row?.items ?? 0, oldest: row?.oldest ?? null };
    },

    oldestOnNas(limit: number): ExportRow[] {
      return db
        .select()
        .from(clipExports)
        .where(and(eq(clipExports.state, 'done'), eq(clipExports.location, 'nas')))
        .orderBy(asc(clipExports.finishedAt), asc(clipExports.id))
        .limit(limit)
        .all();
    },

    expiredBy(now: number): ExportRow[] {
      return db.select().from(clipExports).where(lte(clipExports.expiresAt, now)).all();
    },

    /** Where every stored clip is, as `<location>:<relPath>`. */
    storedFiles(): Set<string> {
      return new Set(
        db
          .select({ location: clipExports.location, relPath: clipExports.relPath })
          .from(clipExports)
          .all()
          .map((row) => `${row.location}:${row.relPath}`),
      );
    },

    segment(id: number): Segment | undefined {
      return db.select().from(segments).where(eq(segments.id, id)).get();
    },

    /** One camera's segments overlapping [from, to), oldest first. */
    footage(cameraId: string, from: number, to: number): Segment[] {
      return db
        .select()
        .from(segments)
        .where(
          and(
            eq(segments.cameraId, cameraId),
            gte(segments.startAt, from - LONGEST_SEGMENT_MS),
            lt(segments.startAt, to),
            gt(segments.endAt, from),
          ),
        )
        .orderBy(asc(segments.startAt))
        .all();
    },
  };
}

export type ExportRepo = ReturnType<typeof createExportRepo>;
