import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { users } from '../../accounts/accounts.schema.js';
import { subjects } from '../../care/care.schema.js';
import { devices } from '../../devices/devices.schema.js';

export const CRY_LABELS = ['crying', 'not_crying'] as const;
export type CryLabel = (typeof CRY_LABELS)[number];

/**
 * Short audio snippets from a subject's node, kept briefly so a member can label them "crying" or
 * "not crying"; labelled ones stay as the household's training set.
 */
export const cryClips = sqliteTable(
  'cry_clips',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    deviceId: integer('device_id').references(() => devices.id, { onDelete: 'set null' }),
    recordedAt: integer('recorded_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** WAV file (16 kHz mono s16le), relative to the data folder's `cry-clips/`. */
    file: text('file').notNull(),
    bytes: integer('bytes').notNull(),
    /** What the active detector said when the clip was kept (0–1). */
    probability: real('probability'),
    label: text('label', { enum: CRY_LABELS }),
    labelledBy: integer('labelled_by').references(() => users.id, { onDelete: 'set null' }),
    labelledAt: integer('labelled_at'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [index('cry_clips_subject').on(table.subjectId, table.recordedAt)],
);

/**
 * Each subject's trained cry classifiers, one row per version, with the figures it scored on held-out
 * clips. At most one version per subject is active; none active means the default detector.
 */
export const cryModels = sqliteTable(
  'cry_models',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    active: integer('active', { mode: 'boolean' }).notNull().default(false),
    /** How it classifies, e.g. `logistic-mel40`. */
    kind: text('kind').notNull(),
    trainedAt: integer('trained_at').notNull(),
    trainedBy: integer('trained_by').references(() => users.id, { onDelete: 'set null' }),
    clips: integer('clips').notNull(),
    positives: integer('positives').notNull(),
    negatives: integer('negatives').notNull(),
    /** Held-out figures: precision, recall, accuracy, and the test-set sizes. */
    metrics: text('metrics', { mode: 'json' }).notNull(),
    /** The model file, relative to the data folder's `models/cry/`; checked against `sha256` on load. */
    file: text('file').notNull(),
    sha256: text('sha256').notNull(),
    bytes: integer('bytes').notNull(),
    trainMs: integer('train_ms').notNull(),
    note: text('note'),
  },
  (table) => [
    uniqueIndex('cry_models_version').on(table.subjectId, table.version),
    uniqueIndex('cry_models_active').on(table.subjectId).where(sql`${table.active} = 1`),
  ],
);
