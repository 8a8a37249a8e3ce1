import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { devices } from '../devices/devices.schema.js';

export const CAMERA_KINDS = ['esp32', 'mjpeg', 'rtsp', 'demo', 'node'] as const;
export type CameraKind = (typeof CAMERA_KINDS)[number];
export const POWER_PROFILES = ['mains', 'battery'] as const;
export type PowerProfile = (typeof POWER_PROFILES)[number];
/** Which cameras keep recording longest when the storage is full and nothing is left to delete. */
export const CAMERA_PRIORITIES = ['low', 'normal', 'high'] as const;
export type CameraPriority = (typeof CAMERA_PRIORITIES)[number];

export const cameras = sqliteTable('cameras', {
  /** Slug; names the camera's NAS folder, so it never changes after creation. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind', { enum: CAMERA_KINDS }).notNull(),
  /** May hold credentials: never returned in full, never logged. */
  sourceUrl: text('source_url'),
  deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
  /** `battery` cameras are never streamed continuously: they send photo bursts. */
  powerProfile: text('power_profile', { enum: POWER_PROFILES }).notNull().default('mains'),
  record: integer('record', { mode: 'boolean' }).notNull().default(true),
  segmentSeconds: integer('segment_seconds').notNull().default(60),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  priority: text('priority', { enum: CAMERA_PRIORITIES }).notNull().default('normal'),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});
