import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { cameras } from '../../cameras/cameras.schema.js';

/**
 * A camera's person/pet detection settings as saved in the app. They replace the camera's entry in the
 * configuration file (`ai.detections.cameras.<id>`) as a whole; see detection-settings.ts.
 */
export const cameraDetectionSettings = sqliteTable('camera_detection_settings', {
  cameraId: text('camera_id')
    .primaryKey()
    .references(() => cameras.id, { onDelete: 'cascade' }),
  /** CameraDetectionSettings (ai.config.ts), as the PUT route parsed it. */
  settings: text('settings', { mode: 'json' }).notNull(),
  updatedAt: integer('updated_at').notNull(),
});
