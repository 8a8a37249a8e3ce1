import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { segments } from '../recording/recording.schema.js';
import type { Segment } from '../recording/segments.repo.js';

/** The one query pictures need that the segment repo does not have. */
export function createPictureRepo(db: Db) {
  return {
    /** A camera's newest segment: one step down the (camera_id, start_at) index. */
    newestSegment(cameraId: string): Segment | undefined {
      return db
        .select()
        .from(segments)
        .where(eq(segments.cameraId, cameraId))
        .orderBy(desc(segments.startAt))
        .limit(1)
        .get();
    },
  };
}

export type PictureRepo = ReturnType<typeof createPictureRepo>;
