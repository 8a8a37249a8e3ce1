import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { devices } from '../devices/devices.schema.js';

/** A firmware image the owner uploaded, signed by the hub when it arrived. */
export const firmwareImages = sqliteTable('firmware_images', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  version: text('version').notNull().unique(),
  size: integer('size').notNull(),
  sha256: text('sha256').notNull().unique(),
  /** Ed25519 over the manifest (docs/protocols.md, "Firmware updates"), hex. */
  signature: text('signature').notNull(),
  /** As uploaded, for people; the file is kept at `<data>/firmware/<sha256>.bin`. */
  fileName: text('file_name').notNull(),
  notes: text('notes').notNull().default(''),
  uploadedBy: integer('uploaded_by'),
  createdAt: integer('created_at').notNull(),
});

/**
 * Where one camera is with one image: offered in an upload reply, downloading (it fetched the image),
 * installed (it reported running that version), rolled back (it came back on its old version), or
 * refused (its check of the signature, digest or size failed). The last two are final: that image is
 * not offered to that camera again.
 */
export const ROLLOUT_STATES = ['offered', 'downloading', 'installed', 'rolled_back', 'refused'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const firmwareRollouts = sqliteTable(
  'firmware_rollouts',
  {
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    imageId: integer('image_id')
      .notNull()
      .references(() => firmwareImages.id, { onDelete: 'cascade' }),
    state: text('state', { enum: ROLLOUT_STATES }).notNull(),
    /** What the camera said went wrong (refused, rolled back). */
    detail: text('detail'),
    /** The version the camera ran when the image was first offered. */
    fromVersion: text('from_version'),
    offeredAt: integer('offered_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.deviceId, table.imageId] })],
);
