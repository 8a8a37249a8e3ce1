import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const DEVICE_KINDS = ['camera', 'node'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export const DEVICE_STATUSES = ['new', 'online', 'offline'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const devices = sqliteTable('devices', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  kind: text('kind', { enum: DEVICE_KINDS }).notNull(),
  /** MAC address or board serial, when known (BLE adoption fills it). */
  hardwareId: text('hardware_id').unique(),
  status: text('status', { enum: DEVICE_STATUSES }).notNull().default('new'),
  lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }),
  /** As the device last reported them (photo uploads, BLE status). */
  batteryMv: integer('battery_mv'),
  rssi: integer('rssi'),
  firmware: text('firmware'),
  lastWakeReason: text('last_wake_reason'),
  lastWakeAt: integer('last_wake_at'),
  /** When the hub last reached it over Bluetooth (a link, or a scan that saw it). */
  bleSeenAt: integer('ble_seen_at'),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

export const deviceTokens = sqliteTable(
  'device_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    /** First characters of the token, so a person can tell tokens apart in a list. */
    prefix: text('prefix').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('device_tokens_device_idx').on(t.deviceId)],
);
