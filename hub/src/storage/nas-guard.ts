import path from 'node:path';
import { isStorageError } from './errors.js';
import type { Fence, FsWorker } from './fs-worker.js';
import { MARKER_NAME, PROBE_DIR } from './paths.js';

export type NasDownReason =
  | 'unchecked'
  | 'missing'
  | 'not_mounted'
  | 'no_marker'
  | 'probe_failed'
  | 'probe_timeout'
  /** Mounted and marked, but a write fails for want of space: retention may still delete. */
  | 'full';

export interface NasHealth {
  healthy: boolean;
  /** null when healthy. */
  reason: NasDownReason | null;
  /** The underlying error message, for logs and the UI's detail line. */
  detail?: string;
  checkedAt: number;
  freeBytes?: number;
  totalBytes?: number;
}

export interface NasGuardOptions {
  root: string;
  fs: FsWorker;
  /** False only where the "NAS" is a plain folder (the laptop demo). */
  requireMountPoint: boolean;
  /**
   * Write the marker when it is missing. Only for the demo: on an appliance the installer writes it
   * when the NAS is set up, so an empty, unmounted mount-point folder never passes as the NAS.
   */
  createMarker: boolean;
  intervalMs: number;
  /** Per-operation timeout of the checks; defaults to the worker's. */
  timeoutMs?: number;
  now?: () => number;
}

export interface NasGuard {
  readonly root: string;
  /** Runs a full check now (joins one already running) and never rejects. */
  check(): Promise<NasHealth>;
  current(): NasHealth;
  /**
   * What writers pass to the worker so that it re-verifies the root right before creating anything;
   * null unless the last check was healthy.
   */
  fence(): Fence | null;
  /**
   * A writer's operation on the NAS failed. A timeout marks the NAS down at once (so the next writer
   * does not wait out the same hang); any failure schedules an immediate re-check.
   */
  reportFailure(error: unknown): void;
  start(): void;
  stop(): void;
  /** Called on the first result and whenever healthy or the reason changes. Returns an unsubscribe. */
  onChange(listener: (health: NasHealth) => void): () => void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createNasGuard(options: NasGuardOptions): NasGuard {
  const root = path.resolve(options.root);
  const marker = path.join(root, MARKER_NAME);
  const now = options.now ?? Date.now;
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  const listeners = new Set<(health: NasHealth) => void>();
  let health: NasHealth = { healthy: false, reason: 'unchecked', checkedAt: now() };
  let fence: Fence | null = null;
  let inFlight: Promise<NasHealth> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let running = false;

  function publish(next: NasHealth): void {
    const flipped =
      next.healthy !== health.healthy || next.reason !== health.reason || health.reason === 'unchecked';
    health = next;
    if (!flipped) return;
    for (const listener of [...listeners]) listener(next);
  }

  function down(reason: NasDownReason, error?: unknown): NasHealth {
    return {
      healthy: false,
      reason,
      checkedAt: now(),
      ...(error === undefined ? {} : { detail: describe(error) }),
    };
  }

  /** A hang (timeout) or a worker that refuses because its predecessors are still hung are both "hung". */
  function failure(error: unknown): NasHealth {
    if (isStorageError(error, 'timeout') || isStorageError(error, 'unhealthy'))
      return down('probe_timeout', error);
    return down('probe_failed', error);
  }

  async function evaluate(): Promise<{ health: NasHealth; fence: Fence | null }> {
    const fs = options.fs;
    let dev: number;
    try {
      const info = await fs.stat(root, call);
      if (info.type !== 'dir')
        return { health: down('missing', new Error(`${root} is not a folder`)), fence: null };
      dev = info.dev;
    } catch (error) {
      if (isStorageError(error) && error.errno === 'ENOENT')
        return { health: down('missing', error), fence: null };
      return { health: failure(error), fence: null };
    }
    try {
      if (options.requireMountPoint) {
        const mount = await fs.mountInfo(root, call);
        if (!mount.mountPoint) {
          return {
            health: down(
              'not_mounted',
              new Error(`${root} is not a mount point (same device as its parent)`),
            ),
            fence: null,
          };
        }
      }
      let hasMarker = true;
      try {
        const found = await fs.stat(marker, call);
        hasMarker = found.type === 'file';
      } catch (error) {
        if (!(isStorageError(error) && error.errno === 'ENOENT')) throw error;
        hasMarker = false;
      }
      if (!hasMarker) {
        if (!options.createMarker) {
          return { health: down('no_marker', new Error(`${marker} is missing`)), fence: null };
        }
        await fs
          .writeFile(
            marker,
            `${JSON.stringify({ createdBy: 'hearth', createdAt: new Date(now()).toISOString() })}\n`,
            call,
          )
          .catch((error: unknown) => {
            // Another hub process may have written it in the meantime; that is just as good.
            if (!isStorageError(error, 'exists')) throw error;
          });
      }
      try {
        await fs.writeProbe(path.join(root, PROBE_DIR), call);
      } catch (error) {
        if (!(isStorageError(error) && (error.errno === 'ENOSPC' || error.errno === 'EDQUOT'))) throw error;
        const space = await fs.statfs(root, call);
        return {
          health: { ...down('full', error), freeBytes: space.freeBytes, totalBytes: space.totalBytes },
          fence: null,
        };
      }
      const space = await fs.statfs(root, call);
      return {
        health: {
          healthy: true,
          reason: null,
          checkedAt: now(),
          freeBytes: space.freeBytes,
          totalBytes: space.totalBytes,
        },
        fence: { root, marker: MARKER_NAME, dev },
      };
    } catch (error) {
      return { health: failure(error), fence: null };
    }
  }

  function check(): Promise<NasHealth> {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      let result: { health: NasHealth; fence: Fence | null };
      do {
        again = false;
        result = await evaluate();
      } while (again);
      fence = result.fence;
      publish(result.health);
      return result.health;
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void check().then(() => schedule(options.intervalMs));
    }, delayMs);
    timer.unref();
  }

  return {
    root,
    check,
    current: () => health,
    fence: () => (health.healthy ? fence : null),
    reportFailure(error) {
      if (isStorageError(error, 'exists')) return;
      if (isStorageError(error, 'timeout') && health.healthy) {
        fence = null;
        publish(down('probe_timeout', error));
      }
      // A check already under way may have started before the failure: make it look again.
      if (inFlight) again = true;
      void check();
    },
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The NAS as a maintenance command sees it (reindex, backup, doctor): one check when asked, never
 * creating the marker (only the hub, or the installer, decides that a share is the household's NAS).
 */
export function commandNasGuard(
  config: { nasDir: string; storage: { requireNasMount?: boolean | undefined } },
  fs: FsWorker,
): NasGuard {
  return createNasGuard({
    root: config.nasDir,
    fs,
    requireMountPoint: config.storage.requireNasMount ?? true,
    createMarker: false,
    intervalMs: 60_000,
  });
}
