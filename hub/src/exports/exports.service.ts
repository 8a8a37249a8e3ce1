import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log/logger.js';
import type { ServableFile } from '../recording/file-response.js';
import type { StorageCategory } from '../retention/retention.service.js';
import { zoneOffsetMs } from '../settings/time-zone.js';
import {
  type FsWorker,
  isStorageError,
  type NasGuard,
  resolveUnder,
  type Transfer,
} from '../storage/index.js';
import { createExportRunner, type SegmentFileOf } from './export-runner.js';
import { createExportRepo, type ExportRow } from './exports.repo.js';

export const EXPORT_JOB = 'export.clip';
/** The longest clip one export may cover. */
export const MAX_EXPORT_MS = 6 * 3600_000;
/** Exports waiting or running at once; more is refused (429) rather than queued without bound. */
const MAX_PENDING = 20;
/** What `GET /api/exports` lists at most (exports live a day; a household makes few). */
const LIST_LIMIT = 200;

export interface ExportStorage {
  nasRoot: string;
  /** The worker every NAS access goes through (a hung NAS times out there, not in the hub). */
  fs: FsWorker;
  guard: NasGuard;
  transfer: Transfer;
}

/**
 * An export as the API shows it: times in ms since the epoch like segments' `startAt`/`endAt` (the range
 * is picked on the same timeline), the download's file name, no paths.
 */
export interface ExportView {
  id: number;
  cameraId: string;
  from: number;
  to: number;
  state: ExportRow['state'];
  progress: number;
  bytes: number | null;
  error: string | null;
  location: ExportRow['location'];
  createdBy: number | null;
  createdAt: number;
  finishedAt: number | null;
  expiresAt: number | null;
  fileName: string;
}

/** `porch_2026-11-23_1400-1410.mp4` in the household's zone; seconds only when the range has them. */
export function exportFileName(
  row: Pick<ExportRow, 'cameraId' | 'fromAt' | 'toAt'>,
  timeZone: string,
): string {
  const wall = (ms: number) => new Date(ms + zoneOffsetMs(ms, timeZone)).toISOString();
  const from = wall(row.fromAt);
  const to = wall(row.toAt);
  const withSeconds = from.slice(17, 19) !== '00' || to.slice(17, 19) !== '00';
  const time = (text: string) => text.slice(11, withSeconds ? 19 : 16).replaceAll(':', '');
  const toDay = to.slice(0, 10) === from.slice(0, 10) ? '' : `${to.slice(0, 10)}_`;
  return `${row.cameraId}_${from.slice(0, 10)}_${time(from)}-${toDay}${time(to)}.mp4`;
}

/**
 * Clip export: a member asks for a range of one camera's footage; an `export.clip` job copies it into
 * one MP4 in `<dataDir>/exports-tmp`, then stores it on the NAS (`exports/<id>.mp4`) or, when the NAS
 * is down, in `<dataDir>/exports`. Rows and files go `exports.keepHours` after they finish.
 */
export function createExportService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  queue: JobQueue;
  cameraExists: (id: string) => boolean;
  segmentFile: SegmentFileOf;
  /** The household's time zone, for readable file names. */
  timeZone: () => string;
  storage: ExportStorage;
  dataDir: string;
  config: Config['exports'];
}) {
  const { clock, log, storage } = deps;
  const repo = createExportRepo(deps.db);
  const tmpDir = path.join(deps.dataDir, 'exports-tmp');
  const localDir = path.join(deps.dataDir, 'exports');
  const nasDir = path.join(storage.nasRoot, 'exports');

  function view(row: ExportRow): ExportView {
    return {
      id: row.id,
      cameraId: row.cameraId,
      from: row.fromAt,
      to: row.toAt,
      state: row.state,
      progress: row.progress,
      bytes: row.bytes,
      error: row.error,
      location: row.location,
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      finishedAt: row.finishedAt,
      expiresAt: row.expiresAt,
      fileName: exportFileName(row, deps.timeZone()),
    };
  }

  function publish(row: ExportRow): void {
    deps.bus.publish('exports', { change: 'export', export: view(row) });
  }

  /** Removes a stored file. False when it is on a NAS that is down now: the sweep removes it later. */
  async function deleteFile(row: Pick<ExportRow, 'location' | 'relPath'>): Promise<boolean> {
    if (!row.location || !row.relPath) return true;
    if (row.location === 'local') {
      await rm(resolveUnder(localDir, row.relPath), { force: true });
      return true;
    }
    const health = storage.guard.current();
    // A full NAS is there and needs the room.
    if (!health.healthy && health.reason !== 'full') return false;
    await storage.fs.unlink(resolveUnder(storage.nasRoot, row.relPath));
    return true;
  }

  const runner = createExportRunner({
    repo,
    clock,
    log,
    segmentFile: deps.segmentFile,
    storage,
    tmpDir,
    localDir,
    keepMs: deps.config.keepHours * 3600_000,
    stallTimeoutMs: deps.config.stallSeconds * 1000,
    publish,
    deleteFile,
  });

  deps.queue.define<{ exportId?: unknown } | null>({
    kind: EXPORT_JOB,
    // One at a time: a Pi's SD card and network are shared with recording.
    concurrency: 1,
    maxAttempts: 3,
    timeoutMs: 30 * 60_000,
    handle: (payload, context) => runner.run(payload, context),
  });

  /** The id an export file or temporary is named after (`<id>.mp4`, `<id>-1.mp4`, `<id>.mp4.partial-…`). */
  function idOf(name: string): number | null {
    const match = /^(\d{1,15})(?:-\d+)?\.mp4(?:$|\.partial-)/.exec(name);
    return match ? Number(match[1]) : null;
  }

  async function listNames(dir: string): Promise<string[]> {
    return readdir(dir).catch(() => []);
  }

  /** Files left by a crash, by a delete while the NAS was down, or by a row removed before its file. */
  async function sweep(): Promise<number> {
    const stored = repo.storedFiles();
    const inUse = (name: string) => {
      const id = idOf(name);
      return id !== null && runner.isActive(id);
    };
    let removed = 0;
    for (const name of await listNames(tmpDir)) {
      if (inUse(name)) continue;
      await rm(path.join(tmpDir, name), { force: true, recursive: true });
      removed++;
    }
    for (const name of await listNames(localDir)) {
      if (stored.has(`local:${name}`) || inUse(name)) continue;
      await rm(path.join(localDir, name), { force: true, recursive: true });
      removed++;
    }
    if (storage.guard.current().healthy) {
      const entries = await storage.fs.readdir(nasDir, { limit: 10_000 }).catch((error: unknown) => {
        if (isStorageError(error) && error.errno === 'ENOENT') return [];
        throw error;
      });
      for (const entry of entries) {
        // Only names that are ours: anything else someone put in that folder stays.
        if (idOf(entry.name) === null || entry.type !== 'file') continue;
        if (stored.has(`nas:exports/${entry.name}`) || inUse(entry.name)) continue;
        await storage.fs.unlink(path.join(nasDir, entry.name));
        removed++;
      }
    }
    return removed;
  }

  /** Rows whose job is gone or dead without having finished them (a crash on the last attempt). */
  function failAbandoned(now: number): void {
    for (const row of repo.inStates(['queued', 'running'])) {
      if (runner.isActive(row.id)) continue;
      let status: string | undefined;
      try {
        status = row.jobId === null ? undefined : deps.queue.get(row.jobId).status;
      } catch {
        status = undefined;
      }
      if (status === 'queued' || status === 'running') continue;
      const failed = repo.update(row.id, {
        state: 'failed',
        error: row.error ?? 'The export was interrupted.',
        finishedAt: now,
        expiresAt: now + deps.config.keepHours * 3600_000,
      });
      if (failed) publish(failed);
    }
  }

  return {
    view,

    create(input: { cameraId: string; from: number; to: number; userId: number }): ExportRow {
      if (!deps.cameraExists(input.cameraId)) throw notFound('Camera');
      if (repo.footage(input.cameraId, input.from, input.to).length === 0)
        throw new AppError(422, 'no_footage', 'There is no recorded footage of this camera in that range.');
      if (repo.countInStates(['queued', 'running']) >= MAX_PENDING)
        throw new AppError(
          429,
          'too_many_exports',
          `${MAX_PENDING} exports are waiting already; try again when some are done.`,
          { retryAfterSeconds: 60 },
          { 'Retry-After': '60' },
        );
      // Row and job together or neither: a row without a job would wait forever.
      const row = deps.db.transaction(() => {
        const { id } = repo.insert({
          cameraId: input.cameraId,
          fromAt: input.from,
          toAt: input.to,
          createdBy: input.userId,
          createdAt: clock.now(),
        });
        const job = deps.queue.enqueue(EXPORT_JOB, { exportId: id });
        return repo.update(id, { jobId: job.id })!;
      });
      publish(row);
      return row;
    },

    list(): ExportRow[] {
      return repo.list(LIST_LIMIT);
    },

    get(id: number): ExportRow {
      const row = repo.get(id);
      if (!row) throw notFound('Export');
      return row;
    },

    /** Deletes the row at once; a running job is stopped and its file removed (on a down NAS: later). */
    async remove(id: number): Promise<void> {
      const row = repo.get(id);
      if (!row || !repo.remove(id)) throw notFound('Export');
      runner.cancel(id);
      deps.bus.publish('exports', { change: 'removed', id });
      await deleteFile(row).catch((error: unknown) =>
        log.warn({ export: id, err: error }, 'could not remove an export file; the sweep will'),
      );
    },

    /** The finished file for an HTTP answer; NAS reads go through the fs worker. */
    async openFile(id: number): Promise<{ file: ServableFile; row: ExportRow }> {
      const row = repo.get(id);
      if (!row) throw notFound('Export');
      if (row.state !== 'done' || !row.location || !row.relPath)
        throw conflict(`The export is ${row.state}, not done.`);
      const gone = () => new AppError(410, 'gone', 'The export file is missing; export the range again.');
      if (row.location === 'nas') {
        if (!storage.guard.current().healthy)
          throw new AppError(503, 'nas_down', 'The NAS is not reachable right now.');
        const file = resolveUnder(storage.nasRoot, row.relPath);
        const info = await storage.fs.stat(file).catch(() => null);
        if (!info) throw gone();
        return {
          row,
          file: { size: info.bytes, read: (range) => storage.fs.createReadStream(file, range ?? {}) },
        };
      }
      const file = resolveUnder(localDir, row.relPath);
      const info = await stat(file).catch(() => null);
      if (!info) throw gone();
      return { row, file: { size: info.size, read: (range) => createReadStream(file, range ?? {}) } };
    },

    /** Finished clips on the NAS as a category of the storage budget: the oldest may go to make room. */
    storageCategory(): StorageCategory {
      return {
        name: 'exports',
        usage: () => repo.nasUsage(),
        oldest: (limit) =>
          repo.oldestOnNas(limit).map((row) => ({
            key: String(row.id),
            at: row.finishedAt ?? row.createdAt,
            bytes: row.bytes ?? 0,
            cameraId: row.cameraId,
            ...(row.relPath ? { relPath: row.relPath } : {}),
          })),
        // Row first: a crash before the unlink leaves a stray file, which the expire loop's sweep removes.
        remove: async (items) => {
          for (const item of items) {
            const row = repo.get(Number(item.key));
            if (!row || runner.isActive(row.id) || !repo.remove(row.id)) continue;
            deps.bus.publish('exports', { change: 'removed', id: row.id });
            await deleteFile(row);
          }
        },
      };
    },

    /**
     * One pass of the `exports.expire` loop: exports finished (done or failed) `keepHours` ago go with
     * their files, rows a crash left unfinished are marked failed, and stray files are swept.
     */
    async expire(now = clock.now()): Promise<{ expired: number; swept: number }> {
      failAbandoned(now);
      let expired = 0;
      for (const row of repo.expiredBy(now)) {
        if (runner.isActive(row.id) || !repo.remove(row.id)) continue;
        expired++;
        deps.bus.publish('exports', { change: 'removed', id: row.id });
        await deleteFile(row).catch((error: unknown) =>
          log.warn({ export: row.id, err: error }, 'could not remove an expired export file; the sweep will'),
        );
      }
      const swept = await sweep();
      if (expired || swept) log.info({ expired, swept }, 'exports cleaned up');
      return { expired, swept };
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
