import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { subjects } from '../../care/care.schema.js';

/**
 * Each subject's routine models, one row per trained version: the model itself (JSON, a few kB), the
 * window it learned from and its figures. At most one version per subject is active; older ones stay
 * for rollback until pruned.
 */
export const routineModels = sqliteTable(
  'routine_models',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subjectId: integer('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    /** 1, 2, 3… per subject. */
    version: integer('version').notNull(),
    active: integer('active', { mode: 'boolean' }).notNull().default(false),
    trainedAt: integer('trained_at').notNull(),
    /** The readings it learned from: [windowFrom, windowTo), ms. */
    windowFrom: integer('window_from').notNull(),
    windowTo: integer('window_to').notNull(),
    daysUsed: integer('days_used').notNull(),
    streams: integer('streams').notNull(),
    slots: integer('slots').notNull(),
    /** Training days the model itself scores as anomalous (replayed through the scorer, not held out). */
    flaggedDays: integer('flagged_days').notNull(),
    trainMs: integer('train_ms').notNull(),
    /** False: too little data to score; `note` says why. */
    ready: integer('ready', { mode: 'boolean' }).notNull(),
    note: text('note'),
    model: text('model', { mode: 'json' }).notNull(),
  },
  (table) => [
    uniqueIndex('routine_models_version').on(table.subjectId, table.version),
    uniqueIndex('routine_models_active').on(table.subjectId).where(sql`${table.active} = 1`),
    index('routine_models_subject').on(table.subjectId, table.trainedAt),
  ],
);
