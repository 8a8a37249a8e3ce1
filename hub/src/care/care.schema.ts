import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { users } from '../accounts/accounts.schema.js';
import { cameras } from '../cameras/cameras.schema.js';
import { devices } from '../devices/devices.schema.js';

export const SUBJECT_KINDS = ['baby', 'elder', 'pet', 'other'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** The people (and pets) the household watches over: the dashboard is organised by these. */
export const subjects = sqliteTable('subjects', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  kind: text('kind', { enum: SUBJECT_KINDS }).notNull(),
  notes: text('notes').notNull().default(''),
  /** A photo of the gallery shown on the subject's tile. */
  photoId: integer('photo_id'),
  /** `HH:MM-HH:MM` in the household time zone: info and warning alerts stay silent then, emergencies never. */
  quietHours: text('quiet_hours'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Which nodes and cameras watch a subject: their readings are evaluated against the subject's rules. */
export const subjectDevices = sqliteTable(
  'subject_devices',
  {
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.subjectId, table.deviceId] })],
);

export const subjectCameras = sqliteTable(
  'subject_cameras',
  {
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    cameraId: text('camera_id')
      .notNull()
      .references(() => cameras.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.subjectId, table.cameraId] })],
);

/** Members follow the subjects they want alerts about (everyone is told of an escalation). */
export const subjectFollowers = sqliteTable(
  'subject_followers',
  {
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.subjectId, table.userId] })],
);

export const RULE_KINDS = ['threshold', 'state', 'absence', 'check_in'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const ALERT_SEVERITIES = ['info', 'warning', 'emergency'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const careRules = sqliteTable('care_rules', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  subjectId: integer('subject_id')
    .notNull()
    .references(() => subjects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  kind: text('kind', { enum: RULE_KINDS }).notNull(),
  /** The reading kind it watches (temperature, crying, direction, motion, heartbeat, check_in…). */
  readingKind: text('reading_kind').notNull(),
  /** The rule's own parameters (care/rules.ts, RuleParams), JSON. */
  params: text('params', { mode: 'json' }).notNull(),
  severity: text('severity', { enum: ALERT_SEVERITIES }).notNull(),
  /** A new firing this soon after the last one is not a new alert. */
  dedupSeconds: integer('dedup_seconds').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const RULE_STATES = ['ok', 'pending', 'firing', 'acknowledged'] as const;
export type RuleStateName = (typeof RULE_STATES)[number];

/**
 * Each rule's state machine, written at every transition so a restarted hub carries on where it was:
 * a pending duration keeps its start, a firing alert keeps its incident (no duplicate, none lost).
 */
export const careRuleStates = sqliteTable('care_rule_states', {
  ruleId: integer('rule_id')
    .primaryKey()
    .references(() => careRules.id, { onDelete: 'cascade' }),
  state: text('state', { enum: RULE_STATES }).notNull(),
  /** When the condition started to hold (pending), or stopped holding while firing (resolving). */
  since: integer('since'),
  /** The last matching reading's time (absence rules), or the last reading seen at all. */
  lastSeenAt: integer('last_seen_at'),
  incidentId: integer('incident_id'),
  lastFiredAt: integer('last_fired_at'),
  updatedAt: integer('updated_at').notNull(),
});

export const incidents = sqliteTable(
  'incidents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ruleId: integer('rule_id').references(() => careRules.id, { onDelete: 'set null' }),
    subjectId: integer('subject_id').references(() => subjects.id, { onDelete: 'set null' }),
    severity: text('severity', { enum: ALERT_SEVERITIES }).notNull(),
    title: text('title').notNull(),
    /** Quiet hours: recorded, shown in the log, nobody woken. */
    silent: integer('silent', { mode: 'boolean' }).notNull().default(false),
    firedAt: integer('fired_at').notNull(),
    /** The readings that made it fire, as they came. */
    evidence: text('evidence', { mode: 'json' }).notNull(),
    acknowledgedAt: integer('acknowledged_at'),
    acknowledgedBy: integer('acknowledged_by').references(() => users.id, { onDelete: 'set null' }),
    escalations: integer('escalations').notNull().default(0),
    lastEscalatedAt: integer('last_escalated_at'),
    resolvedAt: integer('resolved_at'),
  },
  (table) => [index('incidents_fired').on(table.firedAt), index('incidents_open').on(table.resolvedAt)],
);

/** Everything that happened to an incident: notified, escalated, acknowledged (by whom), resolved, notes. */
export const incidentLog = sqliteTable(
  'incident_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    at: integer('at').notNull(),
    kind: text('kind').notNull(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    detail: text('detail', { mode: 'json' }),
  },
  (table) => [index('incident_log_incident').on(table.incidentId, table.at)],
);

export const ROLLUP_RESOLUTIONS = ['minute', 'hour'] as const;
export type RollupResolution = (typeof ROLLUP_RESOLUTIONS)[number];

/**
 * Readings summed up per minute and per hour (kept for two years; the raw readings for days): min, max,
 * sum and count of the values; for states, the count and the last one. Filled incrementally from the raw
 * readings past `rollup_progress`.
 */
export const readingRollups = sqliteTable(
  'reading_rollups',
  {
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    sensor: text('sensor').notNull(),
    kind: text('kind').notNull(),
    resolution: text('resolution', { enum: ROLLUP_RESOLUTIONS }).notNull(),
    bucketStart: integer('bucket_start').notNull(),
    count: integer('count').notNull(),
    valueCount: integer('value_count').notNull(),
    min: real('min'),
    max: real('max'),
    sum: real('sum'),
    lastState: text('last_state'),
    lastAt: integer('last_at').notNull(),
  },
  (table) => [
    // In the order history queries narrow by: node, kind, resolution, then a time range (any sensor).
    primaryKey({ columns: [table.deviceId, table.kind, table.resolution, table.bucketStart, table.sensor] }),
  ],
);

/** How far the rollups have read `node_readings` (its rowid). */
export const rollupProgress = sqliteTable('rollup_progress', {
  id: integer('id').primaryKey(),
  lastRowId: integer('last_row_id').notNull(),
});
