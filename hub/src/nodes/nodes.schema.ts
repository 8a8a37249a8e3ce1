import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { devices } from '../devices/devices.schema.js';

/** One-time codes the owner makes for `hearth-node enrol`: only a hash is kept; 15 minutes, single use. */
export const nodeEnrolmentCodes = sqliteTable('node_enrolment_codes', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  codeHash: text('code_hash').notNull().unique(),
  /** The name the node gets. */
  name: text('name').notNull(),
  createdBy: integer('created_by'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
});

/** What a node said in its latest heartbeat, and how far its readings are acknowledged. */
export const nodeStatus = sqliteTable('node_status', {
  deviceId: integer('device_id')
    .primaryKey()
    .references(() => devices.id, { onDelete: 'cascade' }),
  /** The heartbeat as sent (docs/protocols.md, "Edge nodes"), JSON. */
  heartbeat: text('heartbeat', { mode: 'json' }),
  heartbeatAt: integer('heartbeat_at'),
  /** The highest sequence number below which every reading is stored. */
  ackedSeq: integer('acked_seq').notNull().default(0),
});

export const nodeReadings = sqliteTable(
  'node_readings',
  {
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    at: integer('at').notNull(),
    receivedAt: integer('received_at').notNull(),
    sensor: text('sensor').notNull(),
    kind: text('kind').notNull(),
    value: real('value'),
    state: text('state'),
    confidence: real('confidence'),
  },
  (table) => [
    primaryKey({ columns: [table.deviceId, table.seq] }),
    index('node_readings_kind_at').on(table.deviceId, table.kind, table.at),
  ],
);

export const NODE_COMMAND_STATES = ['queued', 'delivered', 'done', 'failed', 'expired'] as const;
export type NodeCommandState = (typeof NODE_COMMAND_STATES)[number];

export const nodeCommands = sqliteTable(
  'node_commands',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    args: text('args', { mode: 'json' }).notNull(),
    state: text('state', { enum: NODE_COMMAND_STATES }).notNull(),
    detail: text('detail'),
    createdBy: integer('created_by'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    deliveredAt: integer('delivered_at'),
    finishedAt: integer('finished_at'),
  },
  (table) => [index('node_commands_device_state').on(table.deviceId, table.state)],
);
