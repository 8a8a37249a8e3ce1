import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StorageError } from './errors.js';
import type {
  DirEntry,
  Fence,
  FileStat,
  FromChild,
  FsSpace,
  MountInfo,
  OpName,
  OpTable,
  ToChild,
  WalkEntry,
  WalkSummary,
} from './protocol.js';

export type {
  DirEntry,
  Fence,
  FileStat,
  FileType,
  FsSpace,
  MountInfo,
  WalkEntry,
  WalkSummary,
} from './protocol.js';

export interface FsWorkerOptions {
  /** How long a call may go without the child answering or reporting progress. Default 10 s. */
  timeoutMs?: number;
  /** How long a fresh child may take to start. Default 20 s (tsx compiles on first start in development). */
  startTimeoutMs?: number;
  /**
   * Killed children that have not died yet (stuck in the kernel on a hung mount). Past this many,
   * calls fail at once with 'unhealthy' instead of forking yet another process that would get stuck
   * the same way: on a Pi, each one is tens of megabytes. Default 2.
   */
  maxStuck?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface CopyOptions extends CallOptions {
  /** Refuse to create anything unless the storage root still carries its marker (see Fence). */
  fence?: Fence | null;
  /** Bytes copied so far, at most every 100 ms. */
  onProgress?: (bytes: number) => void;
}

export interface ReadOptions extends CallOptions {
  /** First byte, inclusive. Default 0. */
  start?: number;
  /** Last byte, inclusive (as fs.createReadStream and HTTP Range). Default: to the end. */
  end?: number;
  /** Bytes per message. Default 256 KiB. */
  chunkBytes?: number;
}

export interface WalkListOptions extends CallOptions {
  /** More files than this fails the walk (StorageError 'io', errno E2BIG). Default 1,000,000. */
  maxEntries?: number;
  /** List leftover `*.partial-*` files of interrupted copies (marked partial: true) for cleanup. */
  includePartials?: boolean;
  /** Include names starting with '.' (the marker, the probe folder, NAS snapshot folders). Default false. */
  includeHidden?: boolean;
  signal?: AbortSignal;
  onBatch?: undefined;
}

export interface WalkOptions extends CallOptions {
  /** Stop (truncated: true) after this many files. Default 10,000,000. */
  maxEntries?: number;
  /** Files per onBatch call. Default 1000. */
  batchSize?: number;
  /** List leftover `*.partial-*` files of interrupted copies (marked partial: true) for cleanup. */
  includePartials?: boolean;
  /** Include names starting with '.' (the marker, the probe folder, NAS snapshot folders). Default false. */
  includeHidden?: boolean;
  signal?: AbortSignal;
  /** Awaited before the next batch is read: the walk goes at the consumer's pace. */
  onBatch(entries: WalkEntry[]): void | Promise<void>;
}

/**
 * File operations on a storage root that may hang (NFS, SMB, FUSE), run in a child process: a hung
 * mount then blocks that process's thread pool, which is killed on timeout, and never the pool that
 * the hub's own fs, crypto and zlib calls share. All paths are absolute. One worker per storage root,
 * because a timeout restarts the child and fails every call in flight on it.
 */
export interface FsWorker {
  stat(path: string, options?: CallOptions): Promise<FileStat>;
  /** Real path, its device and its parent's: a mount point has a different device than its parent. */
  mountInfo(path: string, options?: CallOptions): Promise<MountInfo>;
  statfs(path: string, options?: CallOptions): Promise<FsSpace>;
  /** Small folders only (fails with errno E2BIG past `limit`, default 100,000); large trees: walk. */
  readdir(path: string, options?: CallOptions & { limit?: number }): Promise<DirEntry[]>;
  mkdirp(path: string, options?: CallOptions & { fence?: Fence | null }): Promise<void>;
  /** Creates (one level, never a chain), writes, fsyncs, reads back and removes a small file in dir. */
  writeProbe(dir: string, options?: CallOptions): Promise<void>;
  /** Atomic create without replacing, like copyIn but from memory. */
  writeFile(path: string, data: Uint8Array | string, options?: CopyOptions): Promise<{ bytes: number }>;
  /**
   * Copies a local file to `dest` atomically: writes `dest.partial-<random>`, fsyncs it, renames it to
   * dest without replacing (StorageError 'exists' if dest is taken), fsyncs the folder and checks the
   * size ('size_mismatch'). Creates missing folders. The source is left in place; its mtime is kept.
   */
  copyIn(localSrc: string, dest: string, options?: CopyOptions): Promise<{ bytes: number }>;
  /** True if removed, false if it was already gone. */
  unlink(path: string, options?: CallOptions): Promise<boolean>;
  /** Never replaces: 'exists' if `to` is taken. Creates missing folders of `to`. */
  rename(from: string, to: string, options?: CallOptions & { fence?: Fence | null }): Promise<void>;
  /**
   * Regular files under root (symlinks not followed, hidden names skipped), in batches, with bounded
   * memory on both sides. The timeout applies to the child's silence, not to the whole walk, and is
   * paused while onBatch runs. Check `truncated` before concluding that a file is absent.
   */
  walk(root: string, options: WalkOptions): Promise<WalkSummary>;
  /**
   * The same, collected into one array. Rather than return an incomplete list that a reconciler
   * would read as "these files are gone", more than maxEntries files fails with errno E2BIG.
   */
  walk(root: string, options?: WalkListOptions): Promise<WalkEntry[]>;
  /**
   * Reads a file through the child, e.g. to serve it over HTTP: on a hung NAS the stream errors with
   * StorageError 'timeout' instead of wedging the hub. Flow-controlled (a paused viewer pauses the
   * child, without counting against the timeout); destroying the stream cancels the read.
   */
  createReadStream(path: string, options?: ReadOptions): Readable;
  /** The current child's pid (undefined between children). For diagnostics and tests. */
  pid(): number | undefined;
  /** Restarts after timeouts or crashes, and killed children still stuck in the kernel. */
  stats(): { restarts: number; stuck: number };
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  op: OpName;
  timeoutMs: number;
  timer: NodeJS.Timeout | null;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?: ((bytes: number) => void) | undefined;
  onBatch?: ((data: never) => void | Promise<void>) | undefined;
}

interface Child {
  process: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  dead: boolean;
}

/** The child script beside this module, with this module's own extension (.ts under tsx, .js built). */
function childScript(): string {
  const self = fileURLToPath(import.meta.url);
  return path.join(path.dirname(self), `fs-worker-child${path.extname(self)}`);
}

/** The parent's loader flags (tsx in development), minus ones that must not be shared with a second process. */
function childExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--(inspect|debug|test|watch|prof|cpu-prof|heap-prof)/.test(arg));
}

export function createFsWorker(options: FsWorkerOptions = {}): FsWorker {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const startTimeout = options.startTimeoutMs ?? 20_000;
  const maxStuck = options.maxStuck ?? 2;
  const script = childScript();
  const stuck = new Set<ChildProcess>();
  let current: Child | null = null;
  let nextId = 1;
  let restarts = 0;
  let closed = false;

  function fail(child: Child, error: StorageError): void {
    const pending = [...child.pending.values()];
    child.pending.clear();
    for (const entry of pending) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  /** SIGKILL and forget: if the child sits in uninterruptible sleep on the mount, it dies when the mount answers. */
  function abandon(child: Child, error: StorageError): void {
    if (child.dead) return;
    child.dead = true;
    if (current === child) current = null;
    restarts++;
    fail(child, error);
    const proc = child.process;
    if (proc.exitCode === null && proc.signalCode === null) {
      // Counted until its 'exit' (handled in spawnChild) finally arrives.
      stuck.add(proc);
      proc.kill('SIGKILL');
    }
    if (proc.connected) proc.disconnect();
    proc.unref();
  }

  function spawnChild(): Child {
    const proc = fork(script, [], {
      execArgv: childExecArgv(),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    // An idle worker must not keep the hub (or a test) alive; calls in flight hold timers that do.
    proc.unref();
    proc.channel?.unref();
    const child: Child = { process: proc, ready: Promise.resolve(), pending: new Map(), dead: false };
    child.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StorageError('timeout', `storage worker did not start within ${startTimeout} ms`));
        abandon(child, new StorageError('timeout', 'storage worker did not start'));
      }, startTimeout);
      proc.once('message', (message: FromChild) => {
        if (message.t !== 'ready') return;
        clearTimeout(timer);
        resolve();
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new StorageError('io', `storage worker exited before it was ready (${signal ?? code})`));
      });
      proc.once('error', (error) => {
        clearTimeout(timer);
        reject(new StorageError('io', `storage worker could not start: ${error.message}`, { cause: error }));
      });
    });
    // Nobody may be awaiting ready yet; the rejection is delivered to callers through ensureChild.
    child.ready.catch(() => undefined);
    proc.on('message', (message: FromChild) => onMessage(child, message));
    proc.on('exit', (code, signal) => {
      stuck.delete(proc);
      if (child.dead) return;
      child.dead = true;
      if (current === child) current = null;
      restarts++;
      fail(child, new StorageError('io', `storage worker exited (${signal ?? code})`));
    });
    proc.on('error', () => {
      // 'exit' follows when the process existed; a failed spawn is reported through ready.
    });
    return child;
  }

  function arm(child: Child, id: number, entry: Pending): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (!child.pending.has(id)) return;
      child.pending.delete(id);
      entry.reject(new StorageError('timeout', `${entry.op} got no answer within ${entry.timeoutMs} ms`));
      abandon(child, new StorageError('timeout', `storage worker restarted: a ${entry.op} call timed out`));
    }, entry.timeoutMs);
  }

  function post(child: Child, message: ToChild): void {
    if (!child.dead && child.process.connected) child.process.send(message);
  }

  function onMessage(child: Child, message: FromChild): void {
    if (message.t === 'ready') return;
    const entry = child.pending.get(message.id);
    if (!entry) return;
    switch (message.t) {
      case 'ok':
        child.pending.delete(message.id);
        if (entry.timer) clearTimeout(entry.timer);
        entry.resolve(message.value);
        return;
      case 'err':
        child.pending.delete(message.id);
        if (entry.timer) clearTimeout(entry.timer);
        entry.reject(
          new StorageError(message.error.code, message.error.message, {
            ...(message.error.errno === undefined ? {} : { errno: message.error.errno }),
          }),
        );
        return;
      case 'progress':
        arm(child, message.id, entry);
        entry.onProgress?.(message.bytes);
        return;
      case 'batch': {
        if (entry.timer) clearTimeout(entry.timer);
        entry.timer = null;
        const id = message.id;
        Promise.resolve()
          .then(() => entry.onBatch?.(message.data as never))
          .then(
            () => {
              if (!child.pending.has(id)) return;
              arm(child, id, entry);
              post(child, { t: 'more', id });
            },
            (error: unknown) => {
              if (!child.pending.has(id)) return;
              child.pending.delete(id);
              post(child, { t: 'cancel', id });
              entry.reject(error);
            },
          );
        return;
      }
    }
  }

  async function ensureChild(): Promise<Child> {
    for (;;) {
      if (closed) throw new StorageError('io', 'storage worker is closed');
      if (!current) {
        if (stuck.size >= maxStuck) {
          throw new StorageError(
            'unhealthy',
            `${stuck.size} storage worker processes are stuck on the filesystem; not starting another`,
          );
        }
        current = spawnChild();
      }
      const child = current;
      await child.ready;
      if (!child.dead) return child;
    }
  }

  async function call<K extends OpName>(
    op: K,
    args: OpTable[K]['args'],
    opts: CallOptions & Pick<Pending, 'onProgress' | 'onBatch'> = {},
    signal?: AbortSignal,
  ): Promise<OpTable[K]['result']> {
    const child = await ensureChild();
    const id = nextId++;
    return new Promise<OpTable[K]['result']>((resolve, reject) => {
      const entry: Pending = {
        op,
        timeoutMs: opts.timeoutMs ?? defaultTimeout,
        timer: null,
        resolve: resolve as (value: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        onBatch: opts.onBatch,
      };
      if (signal) {
        const onAbort = (): void => {
          if (!child.pending.has(id)) return;
          child.pending.delete(id);
          if (entry.timer) clearTimeout(entry.timer);
          post(child, { t: 'cancel', id });
          reject(signal.reason);
        };
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const settle =
          <T>(fn: (value: T) => void) =>
          (value: T) => {
            signal.removeEventListener('abort', onAbort);
            fn(value);
          };
        entry.resolve = settle(entry.resolve);
        entry.reject = settle(entry.reject);
      }
      child.pending.set(id, entry);
      arm(child, id, entry);
      post(child, { t: 'call', id, op, args: args as unknown[] });
    });
  }

  function stream(root: string, o: WalkOptions): Promise<WalkSummary> {
    return call(
      'walk',
      [
        root,
        {
          maxEntries: o.maxEntries ?? 10_000_000,
          batchSize: o.batchSize ?? 1000,
          includePartials: o.includePartials ?? false,
          includeHidden: o.includeHidden ?? false,
        },
      ],
      { ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }), onBatch: o.onBatch },
      o.signal,
    );
  }

  async function walk(
    root: string,
    o: WalkOptions | WalkListOptions = {},
  ): Promise<WalkSummary | WalkEntry[]> {
    if (o.onBatch) return stream(root, o as WalkOptions);
    const maxEntries = o.maxEntries ?? 1_000_000;
    const all: WalkEntry[] = [];
    const summary = await stream(root, {
      ...o,
      maxEntries,
      onBatch: (entries) => {
        for (const entry of entries) all.push(entry);
      },
    });
    if (summary.truncated) {
      throw new StorageError('io', `${root} holds more than ${maxEntries} files; walk it in batches`, {
        errno: 'E2BIG',
      });
    }
    return all;
  }

  function createReadStream(p: string, o: ReadOptions = {}): Readable {
    const chunkBytes = o.chunkBytes ?? 256 * 1024;
    const cancel = new AbortController();
    let started = false;
    let resume: (() => void) | null = null;
    const stream = new Readable({
      highWaterMark: chunkBytes,
      read() {
        if (resume) {
          const go = resume;
          resume = null;
          go();
          return;
        }
        if (started) return;
        started = true;
        call(
          'read',
          [p, o.start ?? 0, o.end === undefined ? -1 : o.end + 1, chunkBytes],
          {
            ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
            onBatch: (data: Uint8Array) => {
              if (stream.destroyed) return;
              const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
              if (stream.push(view)) return;
              return new Promise<void>((resolve) => {
                resume = resolve;
              });
            },
          },
          cancel.signal,
        ).then(
          () => stream.push(null),
          (error: unknown) => {
            if (!stream.destroyed) stream.destroy(error as Error);
          },
        );
      },
      destroy(error, callback) {
        cancel.abort();
        callback(error);
      },
    });
    return stream;
  }

  return {
    createReadStream,
    stat: (p, o) => call('stat', [p], o),
    mountInfo: (p, o) => call('mountInfo', [p], o),
    statfs: (p, o) => call('statfs', [p], o),
    readdir: (p, o) => call('readdir', [p, o?.limit ?? 100_000], o),
    mkdirp: (p, o) => call('mkdirp', [p, o?.fence ?? null], o),
    writeProbe: (dir, o) => call('writeProbe', [dir], o),
    writeFile: (p, data, o) =>
      call(
        'writeFile',
        [p, typeof data === 'string' ? new TextEncoder().encode(data) : data, o?.fence ?? null],
        o,
      ),
    copyIn: (src, dest, o) => call('copyIn', [src, dest, o?.fence ?? null], o),
    unlink: (p, o) => call('unlink', [p], o),
    rename: (from, to, o) => call('rename', [from, to, o?.fence ?? null], o),
    walk: walk as FsWorker['walk'],
    pid: () => (current && !current.dead ? current.process.pid : undefined),
    stats: () => ({ restarts, stuck: stuck.size }),
    async close() {
      if (closed) return;
      closed = true;
      const child = current;
      current = null;
      if (!child || child.dead) return;
      fail(child, new StorageError('io', 'storage worker is closed'));
      const proc = child.process;
      const exited = new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) resolve();
        else proc.once('exit', () => resolve());
      });
      child.dead = true;
      // The child exits by itself when its channel closes; a child busy on a hung mount will not.
      if (proc.connected) proc.disconnect();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), 2000);
      });
      if ((await Promise.race([exited, late])) === 'late') {
        stuck.add(proc);
        proc.kill('SIGKILL');
        proc.unref();
      }
      clearTimeout(timer);
    },
  };
}
