import { stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, isStorageError, StorageError } from './errors.js';
import type { FsWorker } from './fs-worker.js';
import type { NasGuard } from './nas-guard.js';
import { resolveUnder, safeRelPath, withSuffix } from './paths.js';
import type { Spool } from './spool.js';

export interface Placement {
  location: 'nas' | 'spool';
  /** Where it ended, relative to the NAS root or the spool folder; differs from the request after a collision. */
  relPath: string;
  bytes: number;
}

export interface Moved {
  /** Its path on the NAS now. */
  relPath: string;
  /** Its path in the spool before; differs from relPath when the NAS already had that name. */
  spooledAs: string;
  bytes: number;
  from: 'spool';
}

export interface TransferOptions {
  /** The guard's root or a folder under it. */
  nasRoot: string;
  fs: FsWorker;
  guard: NasGuard;
  spool: Spool;
  /** Copies per collision before giving up. Default 1000. */
  maxSuffix?: number;
}

export interface Transfer {
  /**
   * Moves a finished local file to `<nasRoot>/<relPath>` when the NAS is healthy, else (or when the
   * copy fails) into the spool. Never overwrites: a taken name gets `-1`, `-2` … before its extension.
   * The local file is gone once this resolves. Rejects only when the file can go nowhere (e.g.
   * StorageError 'quota': larger than the whole spool), in which case it is still where it was.
   */
  place(localFile: string, relPath: string): Promise<Placement>;
  /**
   * Like place() but NAS only: rejects with StorageError 'unhealthy', 'timeout', 'io' … instead of
   * spooling, and leaves the local file in place on failure. For exports that must not wait in a spool.
   */
  placeOnNas(localFile: string, relPath: string): Promise<{ relPath: string; bytes: number }>;
  /**
   * Moves spooled files to the NAS, oldest first, while the guard says healthy; stops at the first
   * failure (reported to the guard) or when the signal aborts. Resolves to the number moved. Calls
   * made while one drain runs wait for it, then drain what is left.
   */
  drainSpool(onMoved: (moved: Moved) => void, options?: { signal?: AbortSignal }): Promise<number>;
}

export function createTransfer(options: TransferOptions): Transfer {
  const nasRoot = path.resolve(options.nasRoot);
  const { fs, guard, spool } = options;
  const maxSuffix = options.maxSuffix ?? 1000;
  const fromGuard = path.relative(guard.root, nasRoot);
  if (fromGuard.startsWith('..') || path.isAbsolute(fromGuard)) {
    throw new Error(`transfer root ${nasRoot} is not inside the guarded NAS root ${guard.root}`);
  }
  let draining: Promise<unknown> = Promise.resolve();

  /** Copies to the NAS under the first free name; the source stays. */
  async function copyToNas(localFile: string, relPath: string): Promise<{ relPath: string; bytes: number }> {
    for (let n = 0; n <= maxSuffix; n++) {
      // Re-read each time: a copy that fails mid-way may have made the guard withdraw it.
      const fence = guard.fence();
      if (!fence) {
        const health = guard.current();
        throw new StorageError('unhealthy', `NAS is not available (${health.reason ?? 'unknown'})`);
      }
      const candidate = withSuffix(relPath, n);
      try {
        const { bytes } = await fs.copyIn(localFile, resolveUnder(nasRoot, candidate), { fence });
        return { relPath: candidate, bytes };
      } catch (error) {
        if (!isStorageError(error, 'exists')) throw error;
      }
    }
    throw new StorageError('exists', `${relPath} and ${maxSuffix} suffixed names are all taken on the NAS`);
  }

  async function removeLocal(file: string): Promise<void> {
    await unlink(file).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
  }

  async function placeOnNas(localFile: string, relPath: string): Promise<{ relPath: string; bytes: number }> {
    const rel = safeRelPath(relPath);
    await stat(localFile);
    try {
      const placed = await copyToNas(localFile, rel);
      await removeLocal(localFile);
      return placed;
    } catch (error) {
      guard.reportFailure(error);
      throw error;
    }
  }

  async function place(localFile: string, relPath: string): Promise<Placement> {
    const rel = safeRelPath(relPath);
    // A missing source is the caller's problem, not the NAS's: find out before blaming the NAS.
    const source = await stat(localFile);
    if (!source.isFile())
      throw new StorageError('io', `${localFile} is not a regular file`, { errno: 'EINVAL' });
    if (guard.current().healthy) {
      try {
        const placed = await copyToNas(localFile, rel);
        await removeLocal(localFile);
        return { location: 'nas', ...placed };
      } catch (error) {
        guard.reportFailure(error);
        if (isStorageError(error, 'exists')) throw error;
      }
    }
    const spooled = await spool.put(localFile, rel);
    return { location: 'spool', relPath: spooled.relPath, bytes: spooled.bytes };
  }

  async function drainOnce(onMoved: (moved: Moved) => void, signal?: AbortSignal): Promise<number> {
    let moved = 0;
    // Files that cannot move for reasons of their own (every name taken) are left for a person.
    const skipped = new Set<string>();
    for (;;) {
      const waiting = (await spool.list()).filter((entry) => !skipped.has(entry.relPath));
      if (waiting.length === 0) return moved;
      for (const entry of waiting) {
        if (signal?.aborted || !guard.current().healthy) return moved;
        const release = spool.hold(entry.relPath);
        try {
          let placed: { relPath: string; bytes: number };
          try {
            placed = await copyToNas(entry.absPath, entry.relPath);
          } catch (error) {
            if (isStorageError(error, 'exists')) {
              skipped.add(entry.relPath);
              continue;
            }
            // The file may have left the spool meanwhile (removed by hand): not the NAS's fault.
            if (
              !(await stat(entry.absPath).then(
                () => true,
                () => false,
              ))
            )
              continue;
            guard.reportFailure(error);
            return moved;
          }
          await spool.remove(entry.relPath);
          moved++;
          onMoved({ relPath: placed.relPath, spooledAs: entry.relPath, bytes: placed.bytes, from: 'spool' });
        } finally {
          release();
        }
      }
    }
  }

  return {
    place,
    placeOnNas,
    drainSpool(onMoved, drainOptions = {}) {
      const run = draining.then(() => drainOnce(onMoved, drainOptions.signal));
      draining = run.catch(() => undefined);
      return run;
    },
  };
}
