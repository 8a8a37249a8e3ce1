import { eq } from 'drizzle-orm';
import { cameras } from '../cameras/cameras.schema.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { probeSegment } from '../media/index.js';
import { type FsWorker, isStorageError } from '../storage/index.js';
import type { SegmentLocation } from './recording.schema.js';
import { parseRelPath } from './segment-names.js';
import { type SegmentRepo, segmentFromProbe } from './segments.repo.js';

export interface ReindexReport {
  scanned: number;
  added: number;
  removed: number;
  unreadable: number;
}

/**
 * Makes the index match the files under one root (NAS or spool): files without rows are probed
 * and added, rows without files are removed. The walk and every NAS access run in the fs worker,
 * so a hung NAS times out instead of freezing the caller. Files are added oldest first per camera,
 * so the clock checks see them in order. Safe while the hub records: inserts are idempotent, and a
 * row is removed only when its file is still missing after the walk.
 */
export async function reconcileRoot(deps: {
  db: Db;
  fs: FsWorker;
  segments: SegmentRepo;
  clock: Clock;
  root: string;
  location: Exclude<SegmentLocation, 'staging'>;
  onProgress?: (done: number, total: number) => void;
}): Promise<ReindexReport> {
  const { db, segments } = deps;
  const report: ReindexReport = { scanned: 0, added: 0, removed: 0, unreadable: 0 };
  const files = (await deps.fs.walk(deps.root, { maxEntries: 10_000_000 }))
    .filter((entry) => entry.relPath.startsWith('videos/') && entry.relPath.endsWith('.mp4'))
    .map((entry) => ({ ...entry, name: parseRelPath(entry.relPath) }))
    .filter((entry): entry is typeof entry & { name: NonNullable<typeof entry.name> } => entry.name !== null)
    .sort((a, b) => a.name.startAt - b.name.startAt || a.relPath.localeCompare(b.relPath));
  const known = segments.relPathsAt(deps.location);
  const present = new Set<string>();
  for (const file of files) {
    report.scanned += 1;
    present.add(file.relPath);
    if (known.has(file.relPath)) {
      // indexed where it is
    } else if (segments.byRelPath(file.relPath)) {
      // Moved by a drain whose row update a crash cut short.
      segments.move(file.relPath, deps.location);
    } else {
      try {
        const probe = await probeSegment(`${deps.root}/${file.relPath}`, { timeoutMs: 15_000 });
        ensureCamera(db, file.name.cameraId, deps.clock);
        segments.insert(
          segmentFromProbe(
            file.name,
            probe,
            { location: deps.location, relPath: file.relPath },
            deps.clock.now(),
          ),
        );
        report.added += 1;
      } catch {
        report.unreadable += 1;
      }
    }
    deps.onProgress?.(report.scanned, files.length);
  }
  for (const relPath of known.keys()) {
    if (present.has(relPath)) continue;
    // The walk is a snapshot: a segment placed after it listed that folder has its row by now
    // (the file always lands before its row), so only a file that is still missing loses its row.
    if (await existsUnder(deps.fs, deps.root, relPath)) continue;
    segments.removeByRelPath(relPath);
    report.removed += 1;
  }
  return report;
}

async function existsUnder(fs: FsWorker, root: string, relPath: string): Promise<boolean> {
  try {
    await fs.stat(`${root}/${relPath}`);
    return true;
  } catch (error) {
    // Anything but "not there" (a timeout, an I/O error) must not cost a row.
    if (isStorageError(error) && error.errno === 'ENOENT') return false;
    throw error;
  }
}

/** Footage of a camera the database does not know (a restored NAS): a disabled placeholder keeps it reachable. */
function ensureCamera(db: Db, id: string, clock: Clock): void {
  if (db.select({ id: cameras.id }).from(cameras).where(eq(cameras.id, id)).get()) return;
  const now = new Date(clock.now());
  db.insert(cameras)
    .values({
      id,
      name: id,
      kind: 'node',
      record: false,
      enabled: false,
      segmentSeconds: 60,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .run();
}
