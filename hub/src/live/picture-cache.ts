import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A folder of small files (JPEGs) on the hub's own disk with a bound on their total size; the least
 * recently used go first. The index lives in memory and is rebuilt from the folder (mtime = last use)
 * on first use, so the bound holds across restarts. Keys are file names the caller builds from ids.
 * Never on the NAS: a cache read must not be able to hang.
 */
export function createPictureCache(options: { dir: string; maxBytes: number }) {
  const { dir, maxBytes } = options;
  const entries = new Map<string, { bytes: number; usedAt: number }>();
  let total = 0;
  let loaded: Promise<void> | undefined;

  function checkKey(key: string) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(key)) throw new Error(`bad cache key ${key}`);
  }

  function load(): Promise<void> {
    loaded ??= (async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(dir)) {
        const file = path.join(dir, name);
        // Leftovers of a write a crash interrupted.
        if (name.includes('.tmp-')) {
          await rm(file, { force: true });
          continue;
        }
        const info = await stat(file).catch(() => null);
        if (!info?.isFile()) continue;
        entries.set(name, { bytes: info.size, usedAt: info.mtimeMs });
        total += info.size;
      }
      await evict();
    })();
    return loaded;
  }

  async function evict(): Promise<void> {
    if (total <= maxBytes) return;
    const oldest = [...entries].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [key, entry] of oldest) {
      if (total <= maxBytes) break;
      // Another eviction running beside this one may have taken it already.
      if (entries.get(key) !== entry) continue;
      entries.delete(key);
      total -= entry.bytes;
      await rm(path.join(dir, key), { force: true });
    }
  }

  return {
    async get(key: string): Promise<Buffer | null> {
      checkKey(key);
      await load();
      const entry = entries.get(key);
      if (!entry) return null;
      const data = await readFile(path.join(dir, key)).catch(() => null);
      if (!data) {
        entries.delete(key);
        total -= entry.bytes;
        return null;
      }
      const now = Date.now();
      entry.usedAt = now;
      // The use time survives a restart as the file's mtime; a failure only makes the entry look older.
      void utimes(path.join(dir, key), now / 1000, now / 1000).catch(() => {});
      return data;
    },

    /** Stores atomically (temporary file, then rename): a reader never sees half a picture. */
    async put(key: string, data: Buffer): Promise<void> {
      checkKey(key);
      await load();
      if (data.length > maxBytes) return;
      const file = path.join(dir, key);
      const temporary = `${file}.tmp-${randomBytes(4).toString('hex')}`;
      await writeFile(temporary, data, { mode: 0o600 });
      await rename(temporary, file);
      const previous = entries.get(key);
      if (previous) total -= previous.bytes;
      entries.set(key, { bytes: data.length, usedAt: Date.now() });
      total += data.length;
      await evict();
    },

    async stats(): Promise<{ files: number; bytes: number; maxBytes: number }> {
      await load();
      return { files: entries.size, bytes: total, maxBytes };
    },
  };
}

export type PictureCache = ReturnType<typeof createPictureCache>;
