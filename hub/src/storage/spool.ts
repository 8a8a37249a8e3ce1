import { randomBytes } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, StorageError } from './errors.js';
import { isPartialName, partialName, resolveUnder, safeRelPath, withSuffix } from './paths.js';

export interface SpoolEntry {
  relPath: string;
  absPath: string;
  bytes: number;
  mtimeMs: number;
}

export interface SpoolOptions {
  /** On a local disk: the spool is where files go when the NAS cannot be reached. */
  dir: string;
  quotaBytes: number;
  /**
   * Files deleted to stay under quota, oldest first. Called before put() resolves; if it throws, put()
   * rejects with that error even though the file was spooled, so it should not.
   */
  onDrop(dropped: { relPath: string; bytes: number }[]): void;
}

/**
 * A bounded local folder of files waiting for the NAS, keyed by the path they will have there.
 * The folder itself is the state (no index to get out of step after a crash); operations are
 * serialised so quota enforcement never races a put.
 */
export interface Spool {
  readonly dir: string;
  readonly quotaBytes: number;
  /**
   * Moves localFile to `<dir>/<relPath>` (a `-1`, `-2` … suffix if that name is taken; the entry says
   * which), then deletes the oldest other files until usage is within quota, reporting them to onDrop.
   * A file larger than the whole quota is refused with StorageError 'quota' and left where it was.
   */
  put(localFile: string, relPath: string): Promise<SpoolEntry>;
  /** Oldest first (mtime, then relPath). */
  list(): Promise<SpoolEntry[]>;
  /** True if removed, false if it was not there. */
  remove(relPath: string): Promise<boolean>;
  usedBytes(): Promise<number>;
  /**
   * Protects a file from quota drops while it is being copied out (usage may then exceed the quota by
   * the held files); call the result to release.
   */
  hold(relPath: string): () => void;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Cross-device move: copy beside the destination, fsync, rename into place, then remove the source. */
async function copyAcross(source: string, dest: string, from: Stats): Promise<void> {
  const tmp = partialName(dest, randomBytes(6).toString('hex'));
  try {
    await copyFile(source, tmp, constants.COPYFILE_EXCL);
    const handle = await open(tmp, 'r+');
    try {
      await handle.utimes(from.atimeMs / 1000, from.mtimeMs / 1000);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, dest);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await fsyncDir(path.dirname(dest));
  await unlink(source);
}

export function createSpool(options: SpoolOptions): Spool {
  const dir = path.resolve(options.dir);
  if (!(options.quotaBytes > 0)) throw new RangeError('spool quota must be positive');
  const held = new Map<string, number>();
  let tail: Promise<unknown> = Promise.resolve();

  /** Runs fn after every earlier operation, whatever their outcome. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Everything in the folder. Temporary copy names found here belong to a put that crashed (puts are
   * serialised, so none is in progress) and are removed.
   */
  async function scan(): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let names: Dirent[];
      try {
        names = await readdir(relDir === '' ? dir : path.join(dir, relDir), { withFileTypes: true });
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return;
        throw error;
      }
      for (const entry of names) {
        const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        const abs = path.join(dir, rel);
        if (entry.isDirectory()) {
          await walk(rel);
          continue;
        }
        if (!entry.isFile()) continue;
        if (isPartialName(entry.name)) {
          await unlink(abs).catch(() => undefined);
          continue;
        }
        try {
          const s = await lstat(abs);
          out.push({ relPath: rel, absPath: abs, bytes: s.size, mtimeMs: s.mtimeMs });
        } catch (error) {
          if (errnoOf(error) !== 'ENOENT') throw error;
        }
      }
    };
    await walk('');
    out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
    return out;
  }

  /** Removes folders left empty, up to (not including) the spool root. */
  async function pruneEmpty(relPath: string): Promise<void> {
    let current = path.posix.dirname(relPath);
    while (current !== '.' && current !== '') {
      try {
        await rmdir(path.join(dir, current));
      } catch {
        return;
      }
      current = path.posix.dirname(current);
    }
  }

  async function removeFile(relPath: string): Promise<boolean> {
    try {
      await unlink(resolveUnder(dir, relPath));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return false;
      throw error;
    }
    await pruneEmpty(relPath);
    return true;
  }

  return {
    dir,
    quotaBytes: options.quotaBytes,
    async put(localFile, relPath) {
      const wanted = safeRelPath(relPath);
      return serial(async () => {
        const source = await stat(localFile);
        if (!source.isFile())
          throw new StorageError('io', `${localFile} is not a regular file`, { errno: 'EINVAL' });
        if (source.size > options.quotaBytes) {
          throw new StorageError(
            'quota',
            `${localFile} (${source.size} bytes) is larger than the whole spool quota (${options.quotaBytes} bytes)`,
          );
        }
        let n = 0;
        while (await exists(resolveUnder(dir, withSuffix(wanted, n)))) n++;
        const rel = withSuffix(wanted, n);
        const dest = resolveUnder(dir, rel);
        await mkdir(path.dirname(dest), { recursive: true });
        try {
          await rename(localFile, dest);
          await fsyncDir(path.dirname(dest));
        } catch (error) {
          if (errnoOf(error) !== 'EXDEV') throw error;
          await copyAcross(localFile, dest, source);
        }
        const landed = await lstat(dest);
        const entry: SpoolEntry = {
          relPath: rel,
          absPath: dest,
          bytes: landed.size,
          mtimeMs: landed.mtimeMs,
        };

        const all = await scan();
        let used = all.reduce((sum, e) => sum + e.bytes, 0);
        const dropped: { relPath: string; bytes: number }[] = [];
        for (const victim of all) {
          if (used <= options.quotaBytes) break;
          if (victim.relPath === rel || held.has(victim.relPath)) continue;
          if (await removeFile(victim.relPath))
            dropped.push({ relPath: victim.relPath, bytes: victim.bytes });
          used -= victim.bytes;
        }
        if (dropped.length > 0) options.onDrop(dropped);
        return entry;
      });
    },
    list: () => serial(scan),
    async remove(relPath) {
      const rel = safeRelPath(relPath);
      return serial(() => removeFile(rel));
    },
    usedBytes: () => serial(async () => (await scan()).reduce((sum, e) => sum + e.bytes, 0)),
    hold(relPath) {
      const rel = safeRelPath(relPath);
      held.set(rel, (held.get(rel) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const count = (held.get(rel) ?? 1) - 1;
        if (count <= 0) held.delete(rel);
        else held.set(rel, count);
      };
    },
  };
}
