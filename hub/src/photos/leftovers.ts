import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { type FsWorker, isStorageError } from '../storage/index.js';
import { photos } from './photos.schema.js';

/** An upload places its files and commits their rows within a second; older strays are leftovers. */
const GRACE_MS = 10 * 60_000;

/**
 * What a crash between placing a photo and committing its row leaves behind: files under `photos/`
 * without a row (NAS and spool), interrupted copies, and upload temporaries. A photo with its row is
 * never touched.
 */
export async function sweepPhotoLeftovers(deps: {
  db: Db;
  fs: FsWorker;
  nasRoot: string;
  nasHealthy: boolean;
  spoolDir: string;
  incomingDir: string;
  now: number;
  /** When this hub process started: an older stray cannot belong to an upload still under way. */
  startedAt: number;
}): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const cutoff = Math.max(deps.startedAt, deps.now - GRACE_MS);
  const known = (location: 'nas' | 'spool') =>
    new Set(
      deps.db
        .select({ relPath: photos.relPath })
        .from(photos)
        .where(and(eq(photos.location, location)))
        .all()
        .map((row) => row.relPath),
    );

  for (const name of await readdir(deps.incomingDir).catch(() => [] as string[])) {
    const file = path.join(deps.incomingDir, name);
    const info = await stat(file).catch(() => null);
    if (info && info.mtimeMs < cutoff) {
      await rm(file, { force: true });
      removed.push(`incoming/${name}`);
    }
  }

  if (deps.nasHealthy) {
    const onNas = known('nas');
    let entries: Awaited<ReturnType<FsWorker['walk']>> & unknown[] = [];
    try {
      entries = (await deps.fs.walk(path.join(deps.nasRoot, 'photos'), {
        includePartials: true,
      })) as typeof entries;
    } catch (error) {
      if (!(isStorageError(error) && error.errno === 'ENOENT')) throw error;
    }
    for (const entry of entries) {
      const relPath = `photos/${entry.relPath}`;
      if ((entry.partial || !onNas.has(relPath)) && entry.mtimeMs < cutoff) {
        await deps.fs.unlink(path.join(deps.nasRoot, relPath));
        removed.push(`nas:${relPath}`);
      }
    }
  }

  const inSpool = known('spool');
  const spoolPhotos = path.join(deps.spoolDir, 'photos');
  const names = (await readdir(spoolPhotos, { recursive: true }).catch(() => [] as string[])) as string[];
  for (const name of names) {
    const file = path.join(spoolPhotos, name);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) continue;
    const relPath = `photos/${name.split(path.sep).join('/')}`;
    if (!inSpool.has(relPath) && info.mtimeMs < cutoff) {
      await rm(file, { force: true });
      removed.push(`spool:${relPath}`);
    }
  }
  return { removed };
}
