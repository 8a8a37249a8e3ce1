import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Files whose segment row is already gone but whose unlink may not have happened yet. Written in
 * the same transaction that deletes the row; cleared after the unlink. Finished at start-up.
 */
export const pendingDeletions = sqliteTable('pending_deletions', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** Relative to the NAS root. */
  relPath: text('rel_path').notNull().unique(),
  createdAt: integer('created_at').notNull(),
});

/** What the deleter removed, newest last; the Storage page lists the recent ones. */
export const retentionDeletions = sqliteTable(
  'retention_deletions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    /** recordings, or the registered category the item belonged to. */
    category: text('category').notNull().default('recordings'),
    /** Empty for an item of a category that is not a camera's. */
    cameraId: text('camera_id').notNull(),
    relPath: text('rel_path').notNull(),
    startAt: integer('start_at').notNull(),
    bytes: integer('bytes').notNull(),
    /** max_days | category | global | global_min_broken */
    reason: text('reason').notNull(),
  },
  (t) => [index('retention_deletions_at_idx').on(t.at)],
);
