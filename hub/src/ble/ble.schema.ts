import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { devices } from '../devices/devices.schema.js';

/** Where an adoption is; `adopted` and `failed` are final. */
export const ADOPTION_STATES = [
  'connecting',
  'waiting_for_button',
  'provisioning',
  'enrolling',
  'waiting_for_contact',
  'adopted',
  'failed',
] as const;
export type AdoptionState = (typeof ADOPTION_STATES)[number];

/**
 * One "Add camera" run, persisted step by step so a hub restart finds it: a run cut off before the
 * enrolment fails cleanly (nothing was created), one waiting for the camera's first upload keeps waiting.
 */
export const bleAdoptions = sqliteTable('ble_adoptions', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  address: text('address').notNull(),
  /** The camera's name in Hearth (and its id, slugged). */
  name: text('name').notNull(),
  cameraId: text('camera_id').notNull(),
  state: text('state', { enum: ADOPTION_STATES }).notNull(),
  errorCode: text('error_code'),
  error: text('error'),
  /** Created just before the enrolment; removed again if the adoption fails after it. */
  deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
  /** What the camera said about itself (Improv device info), and the URL it reported once on Wi-Fi. */
  firmware: text('firmware'),
  cameraUrl: text('camera_url'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  /** Until when the hub waits for the camera's first authenticated request. */
  contactBy: integer('contact_by'),
});

/**
 * The household Wi-Fi the hub hands to new cameras: one row. The password is sealed with AES-256-GCM
 * under a key kept in a 0600 file outside the database, so a database backup alone never reveals it.
 */
export const wifiCredentials = sqliteTable('wifi_credentials', {
  id: integer('id').primaryKey(),
  ssid: text('ssid').notNull(),
  /** base64 of iv (12) ‖ tag (16) ‖ ciphertext. */
  sealedPassword: text('sealed_password').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
