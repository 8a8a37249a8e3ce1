import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { cameras } from '../cameras/cameras.schema.js';

export const SEGMENT_LOCATIONS = ['nas', 'spool', 'staging'] as const;
export type SegmentLocation = (typeof SEGMENT_LOCATIONS)[number];

/** One row per recorded fragmented-MP4 segment; rebuildable from the files alone (`hearth reindex`). */
export const segments = sqliteTable(
  'segments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    cameraId: text('camera_id')
      .notNull()
      .references(() => cameras.id, { onDelete: 'restrict' }),
    startAt: integer('start_at').notNull(),
    endAt: integer('end_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    bytes: integer('bytes').notNull(),
    codec: text('codec').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    /** Bytes of ftyp+moov: playback serves them as the HLS `EXT-X-MAP` byte range. */
    initBytes: integer('init_bytes').notNull(),
    location: text('location', { enum: SEGMENT_LOCATIONS }).notNull(),
    /** `videos/<camera>/<YYYY-MM-DD>/<camera>_<YYYYMMDD_HHMMSS>.mp4`, relative to the NAS or spool root. */
    relPath: text('rel_path').notNull().unique(),
    /** Dated before the build, or earlier than / overlapping the camera's previous segment. */
    clockSuspect: integer('clock_suspect', { mode: 'boolean' }).notNull().default(false),
    protected: integer('protected', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('segments_camera_start_idx').on(t.cameraId, t.startAt),
    index('segments_location_start_idx').on(t.location, t.startAt),
  ],
);
