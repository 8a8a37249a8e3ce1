// The messages between FsWorker (hub side) and fs-worker-child (the process that touches the NAS).
import type { StorageErrorCode } from './errors.js';

export type FileType = 'file' | 'dir' | 'symlink' | 'other';

export interface FileStat {
  type: FileType;
  bytes: number;
  mtimeMs: number;
  dev: number;
  ino: number;
}

export interface MountInfo {
  realPath: string;
  dev: number;
  parentDev: number;
  /** st_dev differs from the parent's, or the path is `/`. */
  mountPoint: boolean;
}

export interface FsSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface DirEntry {
  name: string;
  type: FileType;
}

/**
 * Checked by the child immediately before it creates anything: the root must still carry its
 * marker (and still be the same device). Between a guard's check and a copy the NAS can be unmounted;
 * without this, `mkdir -p` would quietly rebuild the folder tree on the SD card underneath.
 */
export interface Fence {
  root: string;
  marker: string;
  dev?: number;
}

export interface WalkEntry {
  /** Relative to the walk root, forward slashes. */
  relPath: string;
  bytes: number;
  mtimeMs: number;
  /** A leftover temporary name from an interrupted copy; only listed with includePartials. */
  partial: boolean;
}

export interface WalkSummary {
  files: number;
  /** maxEntries was reached: the listing is incomplete, so nothing may be concluded from absences. */
  truncated: boolean;
}

export interface WalkArgs {
  maxEntries: number;
  batchSize: number;
  includePartials: boolean;
  includeHidden: boolean;
}

export interface OpTable {
  stat: { args: [path: string]; result: FileStat };
  mountInfo: { args: [path: string]; result: MountInfo };
  statfs: { args: [path: string]; result: FsSpace };
  readdir: { args: [path: string, limit: number]; result: DirEntry[] };
  mkdirp: { args: [path: string, fence: Fence | null]; result: undefined };
  writeProbe: { args: [dir: string]; result: undefined };
  writeFile: { args: [path: string, data: Uint8Array, fence: Fence | null]; result: { bytes: number } };
  copyIn: { args: [src: string, dest: string, fence: Fence | null]; result: { bytes: number } };
  unlink: { args: [path: string]; result: boolean };
  rename: { args: [from: string, to: string, fence: Fence | null]; result: undefined };
  walk: { args: [root: string, options: WalkArgs]; result: WalkSummary };
  /** start inclusive, end exclusive (-1: to EOF). */
  read: { args: [path: string, start: number, end: number, chunkBytes: number]; result: { bytes: number } };
}

export type OpName = keyof OpTable;

export interface WireError {
  code: StorageErrorCode;
  message: string;
  errno?: string;
}

export type ToChild =
  | { t: 'call'; id: number; op: OpName; args: unknown[] }
  | { t: 'more'; id: number }
  | { t: 'cancel'; id: number };

export type FromChild =
  | { t: 'ready' }
  | { t: 'ok'; id: number; value: unknown }
  | { t: 'err'; id: number; error: WireError }
  | { t: 'progress'; id: number; bytes: number }
  /** A walk's WalkEntry[] or a read's bytes; the child waits for 'more' before sending the next. */
  | { t: 'batch'; id: number; data: WalkEntry[] | Uint8Array };
