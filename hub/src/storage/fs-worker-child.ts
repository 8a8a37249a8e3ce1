// The process that touches the NAS. Started by fs-worker.ts with child_process.fork: a hung mount
// blocks this process's thread pool, which the hub can SIGKILL and replace, never the hub's own.
// Only Node built-ins and this folder's leaf modules are imported, so it starts fast.
import { randomBytes } from 'node:crypto';
import type { Dir, Dirent, Stats } from 'node:fs';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import {
  link,
  lstat,
  mkdir,
  open,
  opendir,
  readFile,
  realpath,
  rename,
  stat,
  statfs,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { errnoOf, StorageError, toStorageError } from './errors.js';
import { isPartialName, partialName } from './paths.js';
import type {
  DirEntry,
  Fence,
  FileStat,
  FileType,
  FromChild,
  FsSpace,
  MountInfo,
  OpName,
  OpTable,
  ToChild,
  WalkArgs,
  WalkEntry,
  WalkSummary,
} from './protocol.js';

const CHUNK = 1024 * 1024;
const PROGRESS_EVERY_MS = 100;

function send(message: FromChild): void {
  process.send?.(message);
}

function absolute(p: unknown): string {
  if (typeof p !== 'string' || !path.isAbsolute(p)) {
    throw new StorageError('io', `path must be absolute: ${JSON.stringify(p)}`, { errno: 'EINVAL' });
  }
  return path.resolve(p);
}

function typeOf(s: Stats | Dirent): FileType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Throttled "still working" signal: the parent's timeout measures silence, not total duration. */
function progressReporter(id: number): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    send({ t: 'progress', id, bytes });
  };
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } catch (error) {
    // Some network and FUSE filesystems refuse fsync on a directory; their renames are synchronous
    // on the server anyway, so there is nothing more we could do.
    const errno = errnoOf(error);
    if (errno !== 'EINVAL' && errno !== 'ENOTSUP' && errno !== 'EOPNOTSUPP' && errno !== 'EBADF') throw error;
  } finally {
    await handle.close();
  }
}

async function checkFence(fence: Fence, target: string): Promise<void> {
  const root = absolute(fence.root);
  const rel = path.relative(root, target);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new StorageError('io', `${target} is not inside ${root}`, { errno: 'EINVAL' });
  }
  let rootStat: Stats;
  try {
    rootStat = await stat(root);
  } catch (error) {
    throw new StorageError('unhealthy', `storage root ${root} is not there (${errnoOf(error) ?? error})`);
  }
  if (fence.dev !== undefined && rootStat.dev !== fence.dev) {
    throw new StorageError('unhealthy', `storage root ${root} is no longer the checked device (unmounted?)`);
  }
  try {
    const marker = await stat(path.join(root, fence.marker));
    if (!marker.isFile()) throw new Error('not a file');
  } catch {
    throw new StorageError('unhealthy', `storage root ${root} has lost its marker ${fence.marker}`);
  }
}

/** Creates the missing directories between root (which must exist) and dir, one level at a time. */
async function mkdirsUnder(root: string, dir: string): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel === '') return;
  let current = root;
  for (const part of rel.split(path.sep)) {
    current = path.join(current, part);
    try {
      await mkdir(current);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
    }
  }
}

async function prepareParent(target: string, fence: Fence | null): Promise<void> {
  if (fence) {
    await checkFence(fence, target);
    await mkdirsUnder(absolute(fence.root), path.dirname(target));
  } else {
    await mkdir(path.dirname(target), { recursive: true });
  }
}

/**
 * rename() that fails with 'exists' instead of replacing. Node has no renameat2(RENAME_NOREPLACE);
 * link() is the portable atomic "create this name only if free" for files (NFS, ext4, tmpfs, FUSE).
 * Filesystems without hard links (some SMB setups), and directories, fall back to check-then-rename,
 * which only races against another writer choosing the same name at the same instant.
 */
async function renameNoReplace(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'EEXIST') throw new StorageError('exists', `${to} already exists`, { errno });
    if (errno !== 'EPERM' && errno !== 'ENOTSUP' && errno !== 'EOPNOTSUPP' && errno !== 'ENOSYS') throw error;
    try {
      await lstat(to);
      throw new StorageError('exists', `${to} already exists`, { errno: 'EEXIST' });
    } catch (statError) {
      if (errnoOf(statError) !== 'ENOENT') throw statError;
    }
    await rename(from, to);
    return;
  }
  await unlink(from);
}

async function unlinkQuietly(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

/**
 * The one way anything is created on a storage root: whenever the process dies, the real name holds
 * either nothing or the complete, fsynced file; at worst a `.partial-` name is left for cleanup.
 */
async function atomicCreate(
  dest: string,
  fence: Fence | null,
  fill: (out: FileHandle) => Promise<{ bytes: number; expected: number }>,
): Promise<{ bytes: number }> {
  await prepareParent(dest, fence);
  const tmp = partialName(dest, randomBytes(6).toString('hex'));
  const out = await open(tmp, 'wx');
  let result: { bytes: number; expected: number };
  let ino: number;
  try {
    result = await fill(out);
    await out.sync();
    ino = (await out.stat()).ino;
  } catch (error) {
    await out.close().catch(() => undefined);
    await unlinkQuietly(tmp);
    throw error;
  }
  await out.close();
  if (result.bytes !== result.expected) {
    await unlinkQuietly(tmp);
    throw new StorageError(
      'size_mismatch',
      `copied ${result.bytes} bytes but the source had ${result.expected} when the copy started`,
    );
  }
  try {
    await renameNoReplace(tmp, dest);
  } catch (error) {
    await unlinkQuietly(tmp);
    throw error;
  }
  await fsyncDir(path.dirname(dest));
  const landed = await stat(dest);
  if (landed.size !== result.bytes) {
    // Ours (same inode) but wrong: take it back rather than leave a short file under the real name.
    if (landed.ino === ino) await unlinkQuietly(dest);
    throw new StorageError(
      'size_mismatch',
      `${dest} is ${landed.size} bytes after the copy, expected ${result.bytes}`,
    );
  }
  return { bytes: result.bytes };
}

async function writeAll(
  out: FileHandle,
  buffer: Uint8Array,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await out.write(buffer, done, length - done, position + done);
    if (bytesWritten === 0) throw new StorageError('io', 'write made no progress', { errno: 'EIO' });
    done += bytesWritten;
  }
}

async function copyIn(
  id: number,
  src: string,
  dest: string,
  fence: Fence | null,
): Promise<{ bytes: number }> {
  const source = await open(absolute(src), 'r');
  try {
    const sourceStat = await source.stat();
    if (!sourceStat.isFile())
      throw new StorageError('io', `${src} is not a regular file`, { errno: 'EINVAL' });
    const progress = progressReporter(id);
    return await atomicCreate(absolute(dest), fence, async (out) => {
      const buffer = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      // Read to EOF rather than to the size seen at open: a source still growing must be caught
      // as a mismatch, not silently cut.
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, CHUNK, total);
        if (bytesRead === 0) break;
        await writeAll(out, buffer, bytesRead, total);
        total += bytesRead;
        progress(total);
      }
      // Keep the source's mtime: for recordings it is when the segment finished, which reindexing
      // and retention read back from the NAS.
      await out.utimes(sourceStat.atimeMs / 1000, sourceStat.mtimeMs / 1000);
      return { bytes: total, expected: sourceStat.size };
    });
  } finally {
    await source.close();
  }
}

async function writeFileOp(dest: string, data: Uint8Array, fence: Fence | null): Promise<{ bytes: number }> {
  return atomicCreate(absolute(dest), fence, async (out) => {
    await writeAll(out, data, data.byteLength, 0);
    return { bytes: data.byteLength, expected: data.byteLength };
  });
}

async function writeProbe(dir: string): Promise<void> {
  const target = absolute(dir);
  // One level only: a probe must never build a path under a root that is not there.
  try {
    await mkdir(target);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
  }
  const file = path.join(target, `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  const payload = randomBytes(64);
  const handle = await open(file, 'wx');
  try {
    await writeAll(handle, payload, payload.length, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    const back = await readFile(file);
    if (!back.equals(payload))
      throw new StorageError('io', 'probe file read back differently', { errno: 'EIO' });
  } finally {
    await unlinkQuietly(file);
  }
}

function toFileStat(s: Stats): FileStat {
  return { type: typeOf(s), bytes: s.size, mtimeMs: s.mtimeMs, dev: s.dev, ino: s.ino };
}

async function mountInfo(p: string): Promise<MountInfo> {
  const realPath = await realpath(absolute(p));
  const own = await stat(realPath);
  const parent = path.dirname(realPath);
  if (parent === realPath) return { realPath, dev: own.dev, parentDev: own.dev, mountPoint: true };
  const parentStat = await stat(parent);
  return { realPath, dev: own.dev, parentDev: parentStat.dev, mountPoint: own.dev !== parentStat.dev };
}

async function statfsOp(p: string): Promise<FsSpace> {
  const s = await statfs(absolute(p));
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

async function readdirOp(p: string, limit: number): Promise<DirEntry[]> {
  const dir = await opendir(absolute(p));
  const entries: DirEntry[] = [];
  for await (const entry of dir) {
    if (entries.length >= limit) {
      await dir.close().catch(() => undefined);
      throw new StorageError('io', `${p} has more than ${limit} entries; use walk`, { errno: 'E2BIG' });
    }
    entries.push({ name: entry.name, type: typeOf(entry) });
  }
  return entries;
}

async function readOp(
  id: number,
  p: string,
  start: number,
  end: number,
  chunkBytes: number,
): Promise<{ bytes: number }> {
  const handle = await open(absolute(p), 'r');
  try {
    const limit = end < 0 ? Number.POSITIVE_INFINITY : end;
    let position = start;
    while (position < limit) {
      const want = Math.min(chunkBytes, limit - position);
      // A fresh buffer per chunk: it is handed to the IPC channel, not reused.
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      send({ t: 'batch', id, data: bytesRead === want ? buffer : buffer.subarray(0, bytesRead) });
      if (!(await nextBatchWanted(id))) break;
    }
    return { bytes: position - start };
  } finally {
    await handle.close();
  }
}

async function unlinkOp(p: string): Promise<boolean> {
  try {
    await unlink(absolute(p));
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

async function renameOp(from: string, to: string, fence: Fence | null): Promise<void> {
  const target = absolute(to);
  await prepareParent(target, fence);
  await renameNoReplace(absolute(from), target);
  await fsyncDir(path.dirname(target));
}

// Walks wait for the parent to ask for the next batch, so a tree of millions of files never
// sits in memory on either side.
const waiting = new Map<number, (more: boolean) => void>();
const cancelled = new Set<number>();

function nextBatchWanted(id: number): Promise<boolean> {
  if (cancelled.has(id)) return Promise.resolve(false);
  return new Promise((resolve) => waiting.set(id, resolve));
}

async function walk(id: number, rootArg: string, options: WalkArgs): Promise<WalkSummary> {
  const root = absolute(rootArg);
  const rootStat = await stat(root);
  if (!rootStat.isDirectory())
    throw new StorageError('io', `${root} is not a directory`, { errno: 'ENOTDIR' });
  const stack: string[] = [''];
  let batch: WalkEntry[] = [];
  let files = 0;
  let lastSent = Date.now();
  /** Sends a full batch and waits for the parent; false when the parent cancelled. */
  const sendBatch = async (): Promise<boolean> => {
    send({ t: 'batch', id, data: batch });
    batch = [];
    lastSent = Date.now();
    return nextBatchWanted(id);
  };
  const keepAlive = (): void => {
    if (Date.now() - lastSent < PROGRESS_EVERY_MS) return;
    send({ t: 'progress', id, bytes: files });
    lastSent = Date.now();
  };
  const finish = async (truncated: boolean): Promise<WalkSummary> => {
    if (batch.length > 0 && !(await sendBatch())) return { files, truncated: true };
    return { files, truncated };
  };

  while (stack.length > 0) {
    const relDir = stack.pop()!;
    let dir: Dir;
    try {
      dir = await opendir(relDir === '' ? root : path.join(root, relDir), { bufferSize: 64 });
    } catch (error) {
      // A folder deleted while we walk (retention runs meanwhile) is simply gone.
      if (relDir !== '' && errnoOf(error) === 'ENOENT') continue;
      throw error;
    }
    let pending: string[] = [];
    const statPending = async (): Promise<void> => {
      const names = pending;
      pending = [];
      // A few stats in flight hide network round trips without flooding the server. lstat also
      // settles entries whose type the directory listing did not give (DT_UNKNOWN on some servers).
      const results = await Promise.all(
        names.map((rel) =>
          lstat(path.join(root, rel)).then(
            (s) => ({ rel, s }),
            () => null,
          ),
        ),
      );
      for (const result of results) {
        if (!result) continue;
        if (result.s.isDirectory()) stack.push(result.rel);
        else if (result.s.isFile()) {
          const partial = isPartialName(result.rel);
          if (partial && !options.includePartials) continue;
          batch.push({ relPath: result.rel, bytes: result.s.size, mtimeMs: result.s.mtimeMs, partial });
          files++;
        }
      }
    };
    try {
      for await (const entry of dir) {
        if (cancelled.has(id)) return { files, truncated: true };
        if (!options.includeHidden && entry.name.startsWith('.')) continue;
        if (entry.isSymbolicLink()) continue;
        const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory()) {
          stack.push(rel);
          continue;
        }
        if (files + pending.length >= options.maxEntries) {
          await statPending();
          if (files >= options.maxEntries) return await finish(true);
        }
        pending.push(rel);
        if (pending.length >= 16) await statPending();
        if (batch.length >= options.batchSize) {
          if (!(await sendBatch())) return { files, truncated: true };
        } else keepAlive();
      }
      await statPending();
    } finally {
      await dir.close().catch(() => undefined);
    }
  }
  return finish(false);
}

const handlers: { [K in OpName]: (id: number, args: OpTable[K]['args']) => Promise<OpTable[K]['result']> } = {
  stat: async (_id, [p]) => toFileStat(await stat(absolute(p))),
  mountInfo: (_id, [p]) => mountInfo(p),
  statfs: (_id, [p]) => statfsOp(p),
  readdir: (_id, [p, limit]) => readdirOp(p, limit),
  mkdirp: async (_id, [p, fence]) => {
    const target = absolute(p);
    if (fence) {
      await checkFence(fence, target);
      await mkdirsUnder(absolute(fence.root), target);
    } else {
      await mkdir(target, { recursive: true });
    }
  },
  writeProbe: async (_id, [dir]) => {
    await writeProbe(dir);
  },
  writeFile: (_id, [p, data, fence]) => writeFileOp(p, data, fence),
  copyIn: (id, [src, dest, fence]) => copyIn(id, src, dest, fence),
  unlink: (_id, [p]) => unlinkOp(p),
  rename: async (_id, [from, to, fence]) => {
    await renameOp(from, to, fence);
  },
  walk: (id, [root, options]) => walk(id, root, options),
  read: (id, [p, start, end, chunkBytes]) => readOp(id, p, start, end, chunkBytes),
};

process.on('message', (message: ToChild) => {
  if (message.t === 'more' || message.t === 'cancel') {
    if (message.t === 'cancel') cancelled.add(message.id);
    const resume = waiting.get(message.id);
    waiting.delete(message.id);
    resume?.(message.t === 'more');
    return;
  }
  const handler = handlers[message.op] as ((id: number, args: unknown) => Promise<unknown>) | undefined;
  if (!handler) {
    send({ t: 'err', id: message.id, error: { code: 'io', message: `unknown operation ${message.op}` } });
    return;
  }
  handler(message.id, message.args).then(
    (value) => {
      cancelled.delete(message.id);
      send({ t: 'ok', id: message.id, value });
    },
    (error: unknown) => {
      cancelled.delete(message.id);
      const e = toStorageError(error);
      send({
        t: 'err',
        id: message.id,
        error:
          e.errno === undefined
            ? { code: e.code, message: e.message }
            : { code: e.code, message: e.message, errno: e.errno },
      });
    },
  );
});

// The hub went away (or closed us): nothing else will ever ask for work.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
