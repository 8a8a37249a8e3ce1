import path from 'node:path';
import { createBackup, type Destination, newestBackupAt, spoolBackupDir } from '../backup/backup.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import type { FsWorker, NasGuard } from '../storage/index.js';
import type { Db } from './client.js';

/**
 * The `db.backup` job (`POST /api/system/backup`, and every `backup.intervalHours` when
 * `backup.schedule` is "hub"): the same archive as `hearth backup`, made by the same code, into
 * `<nasDir>/backups` while the NAS is healthy, else the spool `<dataDir>/backups`. With "timer" the
 * systemd timer runs `hearth backup` instead and the hub only backs up when asked.
 */
export function registerDatabaseBackups(deps: {
  db: Db;
  queue: JobQueue;
  clock: Clock;
  dataDir: string;
  config: Config['backup'];
  /** The hub's NAS worker and guard; without them every backup goes to the spool. */
  nas?: { root: string; fs: FsWorker; guard: NasGuard };
}) {
  const nas = deps.nas && {
    dir: path.join(deps.nas.root, 'backups'),
    fs: deps.nas.fs,
    guard: deps.nas.guard,
  };
  deps.queue.define({
    kind: 'db.backup',
    maxAttempts: 3,
    async handle() {
      const destination: Destination = nas?.guard.current().healthy
        ? { kind: 'nas', ...nas }
        : { kind: 'local', dir: spoolBackupDir(deps.dataDir), label: 'spool' };
      await createBackup({
        db: deps.db,
        dataDir: deps.dataDir,
        destination,
        keep: deps.config.keep,
        now: deps.clock.now(),
      });
    },
  });
  return {
    /** Loop pass: enqueue a backup when the newest is older than the interval and none is waiting. */
    async enqueueIfDue(): Promise<void> {
      if (deps.config.schedule !== 'hub') return;
      const newest = await newestBackupAt({ dataDir: deps.dataDir, nas });
      if (newest !== null && deps.clock.now() - newest < deps.config.intervalHours * 3600_000) return;
      if (deps.queue.list({ kind: 'db.backup', status: 'queued', limit: 1 }).length > 0) return;
      deps.queue.enqueue('db.backup', { reason: 'scheduled' });
    },
  };
}
