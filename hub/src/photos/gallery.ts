import { rm } from 'node:fs/promises';
import path from 'node:path';
import { and, asc, count, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import { notFound } from '../http/errors.js';
import type { StorageCategory, StorageItem } from '../retention/retention.service.js';
import { photos } from './photos.schema.js';
import type { PhotoRow } from './photos.service.js';

/** What the gallery shows of a photo; never where it is stored. */
export function photoView(row: PhotoRow) {
  return {
    id: row.id,
    cameraId: row.cameraId,
    burstId: row.burstId,
    seq: row.seq,
    capturedAt: row.capturedAt,
    clockSuspect: row.clockSuspect,
    receivedAt: row.receivedAt,
    wakeReason: row.wakeReason,
    width: row.width,
    height: row.height,
    bytes: row.bytes,
    location: row.location,
    state: row.state,
    error: row.error,
    score: row.score,
    best: row.best,
    favorite: row.favorite,
    batteryMv: row.batteryMv,
    rssi: row.rssi,
  };
}
export type PhotoView = ReturnType<typeof photoView>;

/** The gallery's reads and edits, and the photos category of the storage budget. */
export function createGallery(deps: {
  db: Db;
  bus: EventBus;
  dataDir: string;
  /** Deletes the original wherever it is (NAS through the fs worker, or the spool). */
  removeOriginal: (photo: PhotoRow) => Promise<void>;
}) {
  const { db } = deps;

  async function remove(rows: PhotoRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Row first: a crash before the unlink leaves a stray file, which the leftovers sweep removes.
    db.delete(photos)
      .where(
        inArray(
          photos.id,
          rows.map((row) => row.id),
        ),
      )
      .run();
    for (const row of rows) {
      await deps.removeOriginal(row).catch(() => undefined);
      await rm(path.join(deps.dataDir, 'photos-derived', String(row.id)), { recursive: true, force: true });
      deps.bus.publish('photos', { change: 'removed', id: row.id });
    }
  }

  return {
    /** One camera's photos in [from, to), newest burst first; inside a burst the best shot first. */
    list(cameraId: string, from: number, to: number, limit: number): PhotoView[] {
      return db
        .select()
        .from(photos)
        .where(and(eq(photos.cameraId, cameraId), gte(photos.capturedAt, from), lt(photos.capturedAt, to)))
        .orderBy(desc(photos.capturedAt), desc(photos.best), asc(photos.seq))
        .limit(limit)
        .all()
        .map(photoView);
    },

    get(id: number): PhotoRow {
      const row = db.select().from(photos).where(eq(photos.id, id)).get();
      if (!row) throw notFound('Photo');
      return row;
    },

    /** The newest photo of a camera that has its preview made: the camera's picture on tiles. */
    newestProcessed(cameraId: string): PhotoRow | undefined {
      return db
        .select()
        .from(photos)
        .where(and(eq(photos.cameraId, cameraId), eq(photos.state, 'completed')))
        .orderBy(desc(photos.capturedAt), desc(photos.best), asc(photos.seq))
        .limit(1)
        .get();
    },

    setFavorite(id: number, favorite: boolean): PhotoView {
      const row = db.update(photos).set({ favorite }).where(eq(photos.id, id)).returning().get();
      if (!row) throw notFound('Photo');
      deps.bus.publish('photos', { change: 'updated', id, favorite });
      return photoView(row);
    },

    async delete(id: number): Promise<void> {
      const row = db.select().from(photos).where(eq(photos.id, id)).get();
      if (!row) throw notFound('Photo');
      await remove([row]);
    },

    /** Photos on the NAS join the one storage budget; favourites are never deleted automatically. */
    storageCategory(): StorageCategory {
      const onNas = and(eq(photos.location, 'nas'), eq(photos.favorite, false));
      return {
        name: 'photos',
        usage: () => {
          const row = db
            .select({
              usedBytes: sql<number>`coalesce(sum(${photos.bytes}), 0)`,
              items: count(),
              oldest: sql<number | null>`min(${photos.capturedAt})`,
            })
            .from(photos)
            .where(eq(photos.location, 'nas'))
            .get();
          return { usedBytes: row?.usedBytes ?? 0, items: row?.items ?? 0, oldest: row?.oldest ?? null };
        },
        oldest: (limit): StorageItem[] =>
          db
            .select()
            .from(photos)
            .where(onNas)
            .orderBy(asc(photos.capturedAt), asc(photos.id))
            .limit(limit)
            .all()
            .map((row) => ({
              key: String(row.id),
              at: row.capturedAt,
              bytes: row.bytes,
              cameraId: row.cameraId,
              relPath: row.relPath,
            })),
        remove: async (items) => {
          const ids = items.map((item) => Number(item.key));
          await remove(
            db
              .select()
              .from(photos)
              .where(and(inArray(photos.id, ids), onNas))
              .all(),
          );
        },
      };
    },
  };
}

export type Gallery = ReturnType<typeof createGallery>;
