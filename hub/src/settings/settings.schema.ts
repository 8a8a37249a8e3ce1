import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Household settings and small hub state, one JSON value per key. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value', { mode: 'json' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});
