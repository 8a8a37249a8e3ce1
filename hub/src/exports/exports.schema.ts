import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { users } from '../accounts/accounts.schema.js';

export const EXPORT_STATES = ['queued', 'running', 'done', 'failed'] as const;
export type ExportState = (typeof EXPORT_STATES)[number];
export const EXPORT_LOCATIONS = ['nas', 'local'] as const;
export type ExportLocation = (typeof EXPORT_LOCATIONS)[number];

/**
 * One clip a household member asked for: a range of one camera's footage copied into a single MP4.
 * Rows and their files go `exports.keepHours` after they finish (done or failed).
 */
export const clipExports = sqliteTable(
  'exports',
  {
    /** AUTOINCREMENT: an id is never reused, so a file named after one cannot be mistaken for another's. */
    id: integer('id').primaryKey({ autoIncrement: true }),
    /**
     * Not a foreign key: a clip outlives the footage it was cut from, and a camera without footage may be
     * deleted while its clips are still waiting to be downloaded.
     */
    cameraId: text('camera_id').notNull(),
    fromAt: integer('from_at').notNull(),
    toAt: integer('to_at').notNull(),
    /** `queued` also while a failed attempt waits for its retry (`error` says why). */
    state: text('state', { enum: EXPORT_STATES }).notNull().default('queued'),
    progress: real('progress').notNull().default(0),
    bytes: integer('bytes'),
    error: text('error'),
    /** Where the finished file is: the NAS (`exports/<id>.mp4`) or `<dataDir>/exports` when the NAS was down. */
    location: text('location', { enum: EXPORT_LOCATIONS }),
    relPath: text('rel_path'),
    /** The `export.clip` job producing it; a row whose job died without finishing it is marked failed. */
    jobId: integer('job_id'),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: integer('created_at').notNull(),
    finishedAt: integer('finished_at'),
    expiresAt: integer('expires_at'),
  },
  (t) => [index('exports_expires_idx').on(t.expiresAt), index('exports_created_idx').on(t.createdAt)],
);
