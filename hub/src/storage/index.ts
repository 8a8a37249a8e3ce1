// @hearth/hub/storage: files on a NAS that may vanish or hang, a local spool for when it does, and
// one place that decides where a finished file goes. Generic over files and relative paths, so
// recordings, photos, exports and the edge-node agent share it.
export { isStorageError, StorageError, type StorageErrorCode } from './errors.js';
export {
  type CallOptions,
  type CopyOptions,
  createFsWorker,
  type DirEntry,
  type Fence,
  type FileStat,
  type FileType,
  type FsSpace,
  type FsWorker,
  type FsWorkerOptions,
  type MountInfo,
  type WalkEntry,
  type WalkListOptions,
  type WalkOptions,
  type WalkSummary,
} from './fs-worker.js';
export {
  commandNasGuard,
  createNasGuard,
  type NasDownReason,
  type NasGuard,
  type NasGuardOptions,
  type NasHealth,
} from './nas-guard.js';
export { isPartialName, MARKER_NAME, PROBE_DIR, resolveUnder, safeRelPath, withSuffix } from './paths.js';
export { createSpool, type Spool, type SpoolEntry, type SpoolOptions } from './spool.js';
export {
  createTransfer,
  type Moved,
  type Placement,
  type Transfer,
  type TransferOptions,
} from './transfer.js';
