import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { cameras } from '../../cameras/cameras.schema.js';
import { segments } from '../../recording/recording.schema.js';

export const DETECTION_LABELS = ['person', 'pet', 'vehicle'] as const;
export type DetectionLabel = (typeof DETECTION_LABELS)[number];

/**
 * Something the detector saw on a camera for a while: a person at the door, the cat on the sofa. An
 * event is open (`endAt` null) while detections keep arriving and closes after a quiet spell.
 */
export const detectionEvents = sqliteTable(
  'detection_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    cameraId: text('camera_id')
      .notNull()
      .references(() => cameras.id, { onDelete: 'cascade' }),
    label: text('label', { enum: DETECTION_LABELS }).notNull(),
    startAt: integer('start_at').notNull(),
    /** Last frame the label was seen in; null while the event is still open. */
    endAt: integer('end_at'),
    /** Best detector score over the event (0–1). */
    score: real('score').notNull(),
    /** The frame with the best score, JPEG, relative to the data folder's `snapshots/`. */
    snapshot: text('snapshot'),
    snapshotAt: integer('snapshot_at'),
    /** Frames in which the detector saw the label. */
    hits: integer('hits').notNull().default(0),
    /** Which of the camera's zones it was seen in (null: the whole picture). */
    zone: text('zone'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [
    index('detection_events_camera_start').on(table.cameraId, table.startAt),
    index('detection_events_start').on(table.startAt),
  ],
);

/** The recorded segments an event covers: retention keeps them while the event exists. */
export const detectionEventSegments = sqliteTable(
  'detection_event_segments',
  {
    eventId: integer('event_id')
      .notNull()
      .references(() => detectionEvents.id, { onDelete: 'cascade' }),
    segmentId: integer('segment_id')
      .notNull()
      .references(() => segments.id, { onDelete: 'cascade' }),
  },
  (table) => [
    primaryKey({ columns: [table.eventId, table.segmentId] }),
    index('detection_event_segments_segment').on(table.segmentId),
  ],
);
