import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import { backupDatabase } from './backup.js';
import type { Db } from './client.js';

const PREFIX = 'hearth-';

function backupsIn(dir: string): { file: string; mtimeMs: number }[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith(PREFIX) && name.endsWith('.db'))
      .map((name) => ({ file: path.join(dir, name), mtimeMs: statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtimeMs - a.mtimeMs);
  } catch {
    return [];
  }
}

/** The `db.backup` job (nightly and on demand) keeping the newest `keep` copies in `<dataDir>/backups`. */
export function registerDatabaseBackups(deps: {
  db: Db;
  queue: JobQueue;
  clock: Clock;
  dataDir: string;
  config: Config['backup'];
}) {
  const dir = path.join(deps.dataDir, 'backups');
  deps.queue.define({
    kind: 'db.backup',
    maxAttempts: 3,
    async handle() {
      const stamp = new Date(deps.clock.now())
        .toISOString()
        .replace(/[-:]/g, '')
        .replace('T', '-')
        .slice(0, 15);
      await backupDatabase(deps.db, path.join(dir, `${PREFIX}${stamp}.db`));
      for (const old of backupsIn(dir).slice(Math.max(1, deps.config.keep)))
        rmSync(old.file, { force: true });
    },
  });
  return {
    /** Loop pass: enqueue a backup when the newest is older than the interval and none is waiting. */
    enqueueIfDue(): void {
      if (deps.config.keep === 0) return;
      const newest = backupsIn(dir)[0];
      if (newest && deps.clock.now() - newest.mtimeMs < deps.config.intervalHours * 3600_000) return;
      if (deps.queue.list({ kind: 'db.backup', status: 'queued', limit: 1 }).length > 0) return;
      deps.queue.enqueue('db.backup', { reason: 'scheduled' });
    },
  };
}
