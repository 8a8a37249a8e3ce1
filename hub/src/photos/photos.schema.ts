import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { devices } from '../devices/devices.schema.js';

export const PHOTO_STATES = ['queued', 'processing', 'completed', 'failed'] as const;
export type PhotoState = (typeof PHOTO_STATES)[number];
export const WAKE_REASONS = ['timer', 'pir', 'manual', 'command'] as const;
export type WakeReason = (typeof WAKE_REASONS)[number];
export const PHOTO_LOCATIONS = ['nas', 'spool'] as const;

/**
 * One JPEG a camera uploaded. The row is committed only after the file is complete and fsynced where
 * `location`/`relPath` say, so a row always has its file; (device, burst, seq) makes a retried upload a no-op.
 */
export const photos = sqliteTable(
  'photos',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Not a foreign key: photos outlive a camera that is removed, until retention takes them. */
    cameraId: text('camera_id').notNull(),
    deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
    burstId: text('burst_id').notNull(),
    seq: integer('seq').notNull(),
    /** The device's capture time, or the hub's receive time when the device clock was implausible. */
    capturedAt: integer('captured_at').notNull(),
    /** What the device said, kept when it was not trusted. */
    deviceTime: integer('device_time'),
    clockSuspect: integer('clock_suspect', { mode: 'boolean' }).notNull().default(false),
    receivedAt: integer('received_at').notNull(),
    wakeReason: text('wake_reason', { enum: WAKE_REASONS }).notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    location: text('location', { enum: PHOTO_LOCATIONS }).notNull(),
    relPath: text('rel_path').notNull(),
    state: text('state', { enum: PHOTO_STATES }).notNull().default('queued'),
    error: text('error'),
    /** Variance of the Laplacian of a 320-px greyscale copy: higher is sharper. */
    sharpness: real('sharpness'),
    /** 0..1: penalises dark, bright and clipped pictures. */
    exposure: real('exposure'),
    score: real('score'),
    /** The best shot of its burst. */
    best: integer('best', { mode: 'boolean' }).notNull().default(false),
    /** Kept by hand; retention never deletes a favourite. */
    favorite: integer('favorite', { mode: 'boolean' }).notNull().default(false),
    batteryMv: integer('battery_mv'),
    rssi: integer('rssi'),
    firmware: text('firmware'),
    latitude: real('latitude'),
    longitude: real('longitude'),
  },
  (t) => [
    uniqueIndex('photos_device_burst_seq_idx').on(t.deviceId, t.burstId, t.seq),
    index('photos_camera_captured_idx').on(t.cameraId, t.capturedAt),
    index('photos_state_idx').on(t.state),
    index('photos_location_captured_idx').on(t.location, t.capturedAt),
  ],
);

/** What a battery camera should run with; `version` goes up on every change. */
export const cameraDeviceSettings = sqliteTable('camera_device_settings', {
  deviceId: integer('device_id')
    .primaryKey()
    .references(() => devices.id, { onDelete: 'cascade' }),
  /** CameraSettings of @hearth/hub/protocol, without the version. */
  settings: text('settings', { mode: 'json' }).notNull(),
  version: integer('version').notNull(),
  /** The version the device last reported applying. */
  appliedVersion: integer('applied_version').notNull().default(0),
  updatedAt: integer('updated_at').notNull(),
});

/** Commands waiting for a device: sent with every reply until the device acknowledges the id. */
export const deviceCommands = sqliteTable(
  'device_commands',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    seconds: integer('seconds'),
    createdAt: integer('created_at').notNull(),
    firstSentAt: integer('first_sent_at'),
    ackedAt: integer('acked_at'),
    /** How it reached the camera: `ble` (at once, in range) or `upload` (in the reply to its next upload). */
    deliveredVia: text('delivered_via', { enum: ['ble', 'upload'] }),
  },
  (t) => [index('device_commands_device_idx').on(t.deviceId, t.ackedAt)],
);
