import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { photos } from './photos.schema.js';

/** Keeps photo rows in step with the shared spool: moved to the NAS, or dropped at its quota. */
export function createPhotoFiles(db: Db) {
  return {
    moved(spooledAs: string, relPath: string): void {
      db.update(photos)
        .set({ location: 'nas', relPath })
        .where(and(eq(photos.location, 'spool'), eq(photos.relPath, spooledAs)))
        .run();
    },
    dropped(relPath: string): void {
      db.delete(photos)
        .where(and(eq(photos.location, 'spool'), eq(photos.relPath, relPath)))
        .run();
    },
  };
}
