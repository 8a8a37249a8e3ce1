import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_DIR } from '../db/client.js';

/**
 * The database file as it is: read-only and without migrations, unlike `openDatabase`. A diagnosis must
 * not change what it diagnoses (a half-applied migration, a newer schema after a downgrade), and it must
 * work on a schema older than this code, which is why the readers here use plain SQL.
 */
export function openForReading(file: string): Database.Database {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  return sqlite;
}

/** `PRAGMA quick_check`: ['ok'], or SQLite's own words for each problem (at most `max`), one per line. */
export function quickCheck(sqlite: Database.Database, max = 20): string[] {
  const rows = sqlite.pragma(`quick_check(${max})`) as { quick_check: string }[];
  // A row may hold several problems of one b-tree, under a "*** in database main ***" heading.
  return rows
    .flatMap((row) => row.quick_check.split('\n'))
    .filter((line) => line && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
}

export interface MigrationState {
  /** Migrations of this build the database has not had yet (their tags), oldest first. */
  pending: string[];
  /** The database was migrated by a newer build than this one (a downgrade). */
  newer: boolean;
}

/** The same rule as drizzle's migrator: a migration is applied when its `when` ≤ the newest `created_at`. */
export function migrationState(sqlite: Database.Database): MigrationState {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number; tag: string }[];
  };
  const table = sqlite
    .prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'")
    .get();
  const newest = table
    ? Number(
        (
          sqlite.prepare('select max(created_at) as at from __drizzle_migrations').get() as {
            at: number | null;
          }
        ).at ?? 0,
      )
    : 0;
  const latestKnown = Math.max(0, ...journal.entries.map((entry) => entry.when));
  return {
    pending: journal.entries.filter((entry) => entry.when > newest).map((entry) => entry.tag),
    newer: newest > latestKnown,
  };
}

/** True when the table exists: a database behind on migrations may lack the newer features' tables. */
export function hasTable(sqlite: Database.Database, name: string): boolean {
  return !!sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name);
}
