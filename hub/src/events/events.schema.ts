import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What the hub itself wants a person to know: "NAS down", "recorder failing", "job dead-lettered". */
export const systemEvents = sqliteTable(
  'system_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    kind: text('kind').notNull(),
    severity: text('severity', { enum: SEVERITIES }).notNull(),
    /** What it is about, e.g. `device:3`, `job:17`, `nas`. */
    subject: text('subject'),
    /** English text for logs and the CLI; the UI words known kinds itself from `details`. */
    message: text('message').notNull(),
    details: text('details', { mode: 'json' }),
  },
  (t) => [index('system_events_at_idx').on(t.at)],
);
