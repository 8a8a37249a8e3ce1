import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Db } from './client.js';

/**
 * A consistent copy of the live database through SQLite's online backup API, safe while the hub
 * writes. Writes from another connection restart a backup between steps, so after the first
 * step every step copies all remaining pages at once and the copy always converges.
 * Written beside the target and renamed into place: a crash never leaves a half backup under the name.
 */
export async function backupDatabase(
  db: Db,
  target: string,
): Promise<{ file: string; bytes: number; pages: number }> {
  const file = path.resolve(target);
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  try {
    const result = await db.$client.backup(partial, { progress: ({ totalPages }) => totalPages });
    const copy = new Database(partial, { fileMustExist: true });
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`backup failed its integrity check: ${String(check)}`);
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const fd = openSync(partial, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partial, file);
    const dir = openSync(path.dirname(file), 'r');
    fsyncSync(dir);
    closeSync(dir);
    const bytes = statSync(file).size;
    return { file, bytes, pages: result.totalPages };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}
