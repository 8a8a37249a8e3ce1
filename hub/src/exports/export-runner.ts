import { mkdir, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { JobContext } from '../jobs/queue.js';
import type { Logger } from '../log/logger.js';
import { type ClipInput, exportClip, MediaError } from '../media/index.js';
import type { Segment } from '../recording/segments.repo.js';
import { isStorageError } from '../storage/index.js';
import type { ExportRepo, ExportRow } from './exports.repo.js';
import type { ExportStorage } from './exports.service.js';

export type SegmentFileOf = (segment: Pick<Segment, 'location' | 'relPath'>) => string;

/** Free space the hub keeps for recording's spool and the database after an export is written. */
const KEEP_FREE_BYTES = 1024 ** 3;
/** Progress events at most this often (the brief: ≤ 4 per second); state changes always go out. */
const PROGRESS_EVERY_MS = 250;

/** A failure that another attempt cannot fix: the export fails at once, the job ends normally. */
class FinalFailure extends Error {}

/**
 * The `export.clip` job: checks the footage, runs media.exportClip into the work folder, stores the clip
 * on the NAS or locally, and keeps the export row and the live stream told. A failure that may pass
 * (NAS down or hung, an I/O error) puts the row back to `queued` with the reason until the queue's last
 * attempt, which marks it failed.
 */
export function createExportRunner(deps: {
  repo: ExportRepo;
  clock: Clock;
  log: Logger;
  segmentFile: SegmentFileOf;
  storage: ExportStorage;
  tmpDir: string;
  localDir: string;
  keepMs: number;
  stallTimeoutMs: number;
  publish(row: ExportRow): void;
  deleteFile(row: Pick<ExportRow, 'location' | 'relPath'>): Promise<boolean>;
}) {
  const { repo, clock, log, storage } = deps;
  /** Exports being produced now, each with the switch a DELETE pulls. */
  const active = new Map<number, AbortController>();

  function change(id: number, patch: Partial<Omit<ExportRow, 'id'>>): ExportRow | undefined {
    const row = repo.update(id, patch);
    if (row) deps.publish(row);
    return row;
  }

  /** Segments of the range as ffmpeg inputs, after checking every file is where the index says. */
  async function inputsFor(row: ExportRow): Promise<{ inputs: ClipInput[]; bytes: number }> {
    const footage = repo.footage(row.cameraId, row.fromAt, row.toAt);
    if (footage.length === 0)
      throw new FinalFailure('The footage in this range was deleted before the export ran.');
    const first = footage[0]!;
    const changed = footage.find(
      (s) => s.codec !== first.codec || s.width !== first.width || s.height !== first.height,
    );
    if (changed) {
      // One MP4 holds one video format; a stream copy cannot change resolution half-way.
      throw new FinalFailure(
        `The recording changes from ${first.codec} ${first.width}×${first.height} to ${changed.codec} ` +
          `${changed.width}×${changed.height} at ${new Date(changed.startAt).toISOString()}; export the parts separately.`,
      );
    }
    if (footage.some((s) => s.location === 'nas') && !storage.guard.current().healthy)
      throw new Error('The NAS is not reachable.');
    const inputs: ClipInput[] = [];
    let bytes = 0;
    for (const segment of footage) {
      const file = await locate(segment);
      if (!file) {
        // Retention or a reconcile may remove a segment between the request and now.
        log.warn({ file: segment.relPath }, 'segment missing from its place; the export goes without it');
        continue;
      }
      inputs.push({ file, startAt: segment.startAt, endAt: segment.endAt });
      bytes += segment.bytes;
    }
    if (inputs.length === 0)
      throw new FinalFailure('None of the footage in this range is where the index says.');
    return { inputs, bytes };
  }

  /**
   * Where a segment's file is now. The spool drain moves files to the NAS while exports run: it copies,
   * removes the spooled file, then updates the row, so a spooled file that is gone is looked for on the NAS
   * under the same name, and the row is read again. (A move after this check makes ffmpeg fail to open
   * the file; the attempt fails and the retry finds it.)
   */
  async function locate(segment: Segment): Promise<string | null> {
    const candidates: Pick<Segment, 'location' | 'relPath'>[] = [segment];
    if (segment.location !== 'nas') candidates.push({ location: 'nas', relPath: segment.relPath });
    const now = repo.segment(segment.id);
    if (now && (now.location !== segment.location || now.relPath !== segment.relPath)) candidates.push(now);
    for (const candidate of candidates) {
      if (candidate.location === 'nas' && !storage.guard.current().healthy) continue;
      const file = deps.segmentFile(candidate);
      if (await present(candidate.location, file)) return file;
    }
    return null;
  }

  /** NAS files are checked through the fs worker: a hung NAS times out there, not in the hub's threads. */
  async function present(location: Segment['location'], file: string): Promise<boolean> {
    if (location !== 'nas')
      return stat(file).then(
        () => true,
        () => false,
      );
    try {
      await storage.fs.stat(file);
      return true;
    } catch (error) {
      if (isStorageError(error) && error.errno === 'ENOENT') return false;
      throw error;
    }
  }

  async function ensureSpace(bytes: number): Promise<void> {
    const space = await statfs(deps.tmpDir);
    const free = space.bavail * space.bsize;
    if (free - bytes < KEEP_FREE_BYTES) {
      const mb = (n: number) => `${Math.round(n / 1024 ** 2)} MB`;
      throw new FinalFailure(
        `Not enough free space on the hub for this export: it needs about ${mb(bytes)} and ${mb(free)} is free (${mb(KEEP_FREE_BYTES)} stays reserved for recording).`,
      );
    }
  }

  /** The NAS when healthy (exports/<id>.mp4), else `<dataDir>/exports`; the work file is gone after. */
  async function store(id: number, work: string): Promise<Pick<ExportRow, 'location' | 'relPath' | 'bytes'>> {
    if (storage.guard.current().healthy) {
      try {
        const placed = await storage.transfer.placeOnNas(work, `exports/${id}.mp4`);
        return { location: 'nas', relPath: placed.relPath, bytes: placed.bytes };
      } catch (error) {
        log.warn({ export: id, err: error }, 'the NAS refused the clip; keeping it on the hub');
      }
    }
    await mkdir(deps.localDir, { recursive: true, mode: 0o700 });
    const relPath = `${id}.mp4`;
    const dest = path.join(deps.localDir, relPath);
    // Same file system (both under the data folder): an atomic rename, never a copy.
    await rename(work, dest);
    return { location: 'local', relPath, bytes: (await stat(dest)).size };
  }

  async function removeWork(id: number): Promise<void> {
    const names = await readdir(deps.tmpDir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => name.startsWith(`${id}.`))
        .map((name) => rm(path.join(deps.tmpDir, name), { force: true })),
    );
  }

  function describe(error: unknown): string {
    // Said once, whether another attempt follows or not: `queued` with an error means "will retry".
    if (error instanceof MediaError && error.code === 'timeout')
      return `Reading the footage stalled: ${error.message}.`;
    return error instanceof Error ? error.message : String(error);
  }

  async function run(payload: { exportId?: unknown } | null, context: JobContext): Promise<void> {
    const id = Number.isSafeInteger(payload?.exportId) ? (payload!.exportId as number) : null;
    const row = id === null ? undefined : repo.get(id);
    // Deleted while queued, or finished by an earlier attempt: nothing to do.
    if (id === null || !row || row.state === 'done' || row.state === 'failed') return;
    const cancel = new AbortController();
    active.set(id, cancel);
    const signal = AbortSignal.any([context.signal, cancel.signal]);
    const work = path.join(deps.tmpDir, `${id}.mp4`);
    let lastProgressAt = performance.now();
    try {
      await mkdir(deps.tmpDir, { recursive: true, mode: 0o700 });
      await removeWork(id);
      if (!change(id, { state: 'running', progress: 0, error: null })) return;
      const { inputs, bytes } = await inputsFor(row);
      await ensureSpace(bytes);
      await exportClip({
        inputs,
        from: row.fromAt,
        to: row.toAt,
        output: work,
        signal,
        stallTimeoutMs: deps.stallTimeoutMs,
        onProgress: (fraction) => {
          // Wall time, not the hub clock: this paces the live stream, it dates nothing.
          const now = performance.now();
          if (fraction >= 1 || now - lastProgressAt < PROGRESS_EVERY_MS) return;
          lastProgressAt = now;
          change(id, { progress: fraction });
        },
      });
      signal.throwIfAborted();
      const stored = await store(id, work);
      const now = clock.now();
      const done = change(id, {
        ...stored,
        state: 'done',
        progress: 1,
        error: null,
        finishedAt: now,
        expiresAt: now + deps.keepMs,
      });
      if (!done) {
        // Deleted while it was being stored: the row is gone, so is the file.
        await deps.deleteFile(stored);
      }
    } catch (error) {
      await removeWork(id);
      // A DELETE: the row is gone already and nobody waits for this job.
      if (cancel.signal.aborted) return;
      const final = error instanceof FinalFailure;
      const lastAttempt = context.job.attempts >= context.job.maxAttempts;
      const message = describe(error);
      const now = clock.now();
      try {
        if (final || lastAttempt)
          change(id, {
            state: 'failed',
            progress: 0,
            error: message,
            finishedAt: now,
            expiresAt: now + deps.keepMs,
          });
        else change(id, { state: 'queued', progress: 0, error: message });
      } catch (dbError) {
        // The hub is stopping and the database already closed: the job is requeued at the next start.
        log.warn({ export: id, err: dbError }, 'could not record an export failure');
      }
      log.warn({ export: id, attempt: context.job.attempts, final, err: error }, 'export failed');
      if (!final) throw error;
    } finally {
      active.delete(id);
    }
  }

  return {
    run,
    isActive: (id: number) => active.has(id),
    cancel(id: number): void {
      active.get(id)?.abort(new Error('export deleted'));
    },
  };
}
