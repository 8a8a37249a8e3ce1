import { createReadStream, existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { CameraRow, CameraService } from '../cameras/cameras.service.js';
import type { MjpegSources } from '../cameras/mjpeg-sources.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { AppError } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import {
  MediaError,
  probeSegment,
  type RecorderInput,
  startRecorder,
  stopOrphanRecorders,
  trimToLastFragment,
} from '../media/index.js';
import type { FsWorker, NasGuard, NasHealth, Spool, Transfer } from '../storage/index.js';
import type { ServableFile } from './file-response.js';
import { parseSegmentName, segmentRelPath } from './segment-names.js';
import { type SegmentRepo, segmentFromProbe } from './segments.repo.js';
import { type RecorderState, type Supervisor, superviseRecorder } from './supervisor.js';

export interface RecordingStorage {
  nasRoot: string;
  /** The worker every NAS access goes through. */
  fs: FsWorker;
  spoolRoot: string;
  guard: NasGuard;
  spool: Spool;
  transfer: Transfer;
}

const missingFile = () =>
  new AppError(
    404,
    'not_found',
    'The file is not where the index says; the next reconciliation will fix the index.',
  );

function inputFor(camera: CameraRow): RecorderInput | null {
  switch (camera.kind) {
    case 'demo':
      return { kind: 'demo', label: camera.name };
    case 'rtsp':
      return { kind: 'stream', url: camera.sourceUrl! };
    case 'mjpeg':
    case 'esp32':
      // Frames come from the hub's one upstream connection, never a second client on the camera.
      return { kind: 'mjpeg-pipe', fps: 10 };
    default:
      // Node cameras are recorded by their edge node, which reports its segments.
      return null;
  }
}

/**
 * Continuous recording: one supervised ffmpeg per recording camera writing into local staging,
 * each finished segment probed, placed on the NAS (or the spool while the NAS is unhealthy)
 * and indexed. Nothing here writes to the NAS except through `storage.transfer`.
 */
export function createRecordingService(deps: {
  cameras: CameraService;
  segments: SegmentRepo;
  storage: RecordingStorage;
  mjpeg: MjpegSources;
  config: Config['recording'] & { stagingDir: string };
  clock: Clock;
  log: Logger;
  systemEvents: SystemEventService;
  bus: EventBus;
  /** The spool is shared (photos wait in it too): told of every file the drain moved to the NAS. */
  onSpoolMoved?: (moved: { spooledAs: string; relPath: string }) => void;
}) {
  const { cameras, segments, storage, config, log } = deps;
  const supervisors = new Map<string, Supervisor>();
  const states = new Map<string, RecorderState>();
  const finalizing = new Map<string, Promise<void>>();
  /** Cameras whose ffmpeg is closing its last segment: the watcher must leave that file alone. */
  const stopping = new Set<string>();
  /** Camera changes apply one after another, so a burst of edits never runs two recorders. */
  const changes = new Map<string, Promise<void>>();
  /** Cameras retention paused for want of space. */
  const pausedForSpace = new Set<string>();
  let watcher: FSWatcher | undefined;
  let running = false;

  mkdirSync(config.stagingDir, { recursive: true });

  async function finalizeOnce(file: string): Promise<void> {
    const startedAt = performance.now();
    const fileName = path.basename(file);
    const name = parseSegmentName(fileName);
    // A late watcher event can name a file another signal already finalized.
    if (!name || !existsSync(file)) return;
    let probe: Awaited<ReturnType<typeof probeSegment>>;
    try {
      probe = await probeSegment(file);
      if (!probe.complete) {
        // Cut short by a crash inside a fragment: keep exactly what plays.
        const trimmed = await trimToLastFragment(file);
        log.info({ file: fileName, trimmedBytes: trimmed }, 'recovered a segment a crash cut short');
        probe = { ...probe, bytes: probe.playableBytes, complete: true };
      }
    } catch (error) {
      if (error instanceof MediaError && error.code === 'unreadable') {
        // Killed before its first fragment: only `ftyp`, nothing to play.
        unlinkSync(file);
        log.info({ file: fileName }, 'discarded a segment with no playable fragment');
        return;
      }
      throw error;
    }
    const placement = await storage.transfer.place(file, segmentRelPath(fileName, name));
    const row = segments.insert(segmentFromProbe(name, probe, placement, deps.clock.now()));
    deps.bus.publish('recording', {
      change: 'segment',
      segment: row,
      finalizeMs: performance.now() - startedAt,
    });
  }

  /** Each staging file is finalized once, however many signals (ffmpeg, watcher, sweep) name it. */
  function finalize(file: string): Promise<void> {
    const existing = finalizing.get(file);
    if (existing) return existing;
    const job = finalizeOnce(file)
      .catch((error: Error) =>
        log.error({ file, err: error }, 'could not finalize a segment; it stays in staging'),
      )
      .finally(() => finalizing.delete(file));
    finalizing.set(file, job);
    return job;
  }

  function setState(cameraId: string, state: RecorderState) {
    const before = states.get(cameraId);
    states.set(cameraId, state);
    deps.bus.publish('recording', { change: 'recorder', cameraId, ...state });
    if (state.state === 'reconnecting' || state.state === 'failed') {
      if (before?.state !== state.state)
        deps.systemEvents.record({
          kind: `recorder.${state.state}`,
          severity: state.state === 'failed' ? 'error' : 'warning',
          subject: `camera:${cameraId}`,
          message: `Recorder for ${cameraId} is ${state.state}: ${state.lastError}`,
          details: { cameraId, error: state.lastError },
        });
    } else if (
      state.state === 'recording' &&
      (before?.state === 'reconnecting' || before?.state === 'failed')
    ) {
      deps.systemEvents.record({
        kind: 'recorder.recovered',
        severity: 'info',
        subject: `camera:${cameraId}`,
        message: `Recorder for ${cameraId} is recording again.`,
        details: { cameraId },
      });
    }
  }

  /** Read from the folder itself: the watcher may not have seen a file ffmpeg created a moment ago. */
  function stagingFilesOf(cameraId?: string): string[] {
    let names: string[];
    try {
      names = readdirSync(config.stagingDir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith('.mp4') && (!cameraId || name.startsWith(`${cameraId}_`)))
      .map((name) => path.join(config.stagingDir, name));
  }

  function startCamera(camera: CameraRow) {
    const input = inputFor(camera);
    if (!input || !camera.enabled || !camera.record || camera.powerProfile !== 'mains') {
      states.set(camera.id, { state: 'disabled', lastError: null, since: deps.clock.now(), restarts: 0 });
      return;
    }
    if (pausedForSpace.has(camera.id)) {
      setState(camera.id, {
        state: 'paused',
        lastError: 'storage full: only protected footage is left to delete',
        since: deps.clock.now(),
        restarts: 0,
      });
      return;
    }
    const supervisor = superviseRecorder({
      cameraId: camera.id,
      input,
      segmentSeconds: camera.segmentSeconds,
      stagingDir: config.stagingDir,
      startRecorder,
      onSegment: (file) => void finalize(file),
      onExit: () => {
        for (const file of stagingFilesOf(camera.id)) void finalize(file);
      },
      onState: (state) => setState(camera.id, state),
      ...(input.kind === 'mjpeg-pipe'
        ? {
            attachFrames: (write: (jpeg: Buffer) => void) =>
              deps.mjpeg.forCamera(camera).subscribe((frame) => write(frame.jpeg)),
          }
        : {}),
      log: log.child({ camera: camera.id }),
      stallSeconds: config.stallSeconds,
      backoffBaseMs: config.restartBackoffBaseMs,
      backoffMaxMs: config.restartBackoffMaxMs,
    });
    supervisors.set(camera.id, supervisor);
    states.set(camera.id, supervisor.state());
  }

  async function stopCamera(id: string) {
    const supervisor = supervisors.get(id);
    if (!supervisor) return;
    stopping.add(id);
    supervisors.delete(id);
    try {
      await supervisor.stop();
    } finally {
      stopping.delete(id);
    }
    states.set(id, { state: 'disabled', lastError: null, since: deps.clock.now(), restarts: 0 });
  }

  function beginCamera(id: string) {
    if (!running) return;
    if (!cameras.exists(id)) {
      states.delete(id);
      return;
    }
    startCamera(cameras.getForRecording(id));
  }

  /**
   * Applies a camera change after any earlier change of the same camera has finished; a camera
   * with nothing running gets its new state before the API answers.
   */
  function restartCamera(id: string) {
    const pending = changes.get(id);
    if (!pending && !supervisors.has(id)) {
      beginCamera(id);
      return;
    }
    const next = (pending ?? Promise.resolve())
      .then(async () => {
        await stopCamera(id);
        beginCamera(id);
      })
      .catch((error: Error) => log.error({ camera: id, err: error }, 'could not apply a camera change'));
    changes.set(id, next);
    void next.finally(() => {
      if (changes.get(id) === next) changes.delete(id);
    });
  }

  /** Where a segment's file is now. */
  function segmentFile(segment: { location: 'nas' | 'spool' | 'staging'; relPath: string }): string {
    if (segment.location === 'nas') return path.join(storage.nasRoot, segment.relPath);
    if (segment.location === 'spool') return path.join(storage.spoolRoot, segment.relPath);
    return path.join(config.stagingDir, path.basename(segment.relPath));
  }

  let lastNas: NasHealth | undefined;
  function onNasChange(health: NasHealth) {
    deps.bus.publish('recording', { change: 'nas', health });
    const before = lastNas;
    lastNas = health;
    if (!before && health.healthy) return; // the normal start: nothing to tell anyone
    if (health.reason === 'full') {
      deps.systemEvents.record({
        kind: 'storage.full',
        severity: 'error',
        subject: 'nas',
        message:
          'The NAS is full: recordings wait in the local spool while retention deletes the oldest footage.',
        details: { freeBytes: health.freeBytes, totalBytes: health.totalBytes },
      });
      return;
    }
    // One down reason turning into another is the same outage.
    if (before && !before.healthy && !health.healthy && before.reason !== 'full') return;
    deps.systemEvents.record({
      kind: health.healthy ? 'nas.up' : 'nas.down',
      severity: health.healthy ? 'info' : 'error',
      subject: 'nas',
      message: health.healthy
        ? 'The NAS is back; spooled recordings are moving to it.'
        : `The NAS is not usable (${health.reason}); recordings go to the local spool.`,
      details: { reason: health.reason },
    });
    if (health.healthy) void drainSpool();
  }

  let draining: Promise<number> | undefined;
  function drainSpool(): Promise<number> {
    draining ??= storage.transfer
      .drainSpool((moved) => {
        segments.move(moved.spooledAs, 'nas', moved.relPath);
        deps.onSpoolMoved?.(moved);
      })
      .catch((error: Error) => {
        log.warn({ err: error }, 'spool drain stopped; it resumes when the NAS is healthy');
        return 0;
      })
      .finally(() => {
        draining = undefined;
      });
    return draining;
  }

  return {
    state(cameraId: string): RecorderState | null {
      return states.get(cameraId) ?? null;
    },

    nasHealth: () => storage.guard.current(),

    /** Cameras that record (or would, but for a storage pause), with their priority. */
    recordingCameras(): { cameraId: string; priority: CameraRow['priority'] }[] {
      return cameras
        .listForRecording()
        .filter((camera) => supervisors.has(camera.id) || pausedForSpace.has(camera.id))
        .map((camera) => ({ cameraId: camera.id, priority: camera.priority }));
    },

    /** Stops (or restarts) one camera's recorder for want of space; its segment in progress is finished. */
    setPaused(cameraId: string, paused: boolean): void {
      if (paused === pausedForSpace.has(cameraId)) return;
      if (paused) pausedForSpace.add(cameraId);
      else pausedForSpace.delete(cameraId);
      restartCamera(cameraId);
    },

    /** What the storage banner shows: the NAS as last checked, and how full the local spool is. */
    async storageStatus() {
      return {
        nas: storage.guard.current(),
        spool: {
          usedBytes: await storage.spool.usedBytes(),
          quotaBytes: storage.spool.quotaBytes,
          segments: segments.countAt('spool'),
        },
      };
    },

    /** The shared MJPEG connection of a camera: frames, drops by kind, last error. */
    sourceStatus: (cameraId: string) => deps.mjpeg.status(cameraId),

    segmentFile,

    /**
     * Opens a segment for an HTTP answer. NAS files are read through the fs worker, so a hung NAS
     * times out that request instead of tying up the hub's own I/O threads.
     */
    async openSegment(segment: {
      location: 'nas' | 'spool' | 'staging';
      relPath: string;
    }): Promise<ServableFile> {
      const file = segmentFile(segment);
      if (segment.location === 'nas') {
        if (!storage.guard.current().healthy)
          throw new AppError(503, 'nas_down', 'The NAS is not reachable right now.');
        const info = await storage.fs.stat(file).catch(() => null);
        if (!info) throw missingFile();
        return { size: info.bytes, read: (range) => storage.fs.createReadStream(file, range ?? {}) };
      }
      const info = await stat(file).catch(() => null);
      if (!info) throw missingFile();
      return { size: info.size, read: (range) => createReadStream(file, range ?? {}) };
    },

    async start(): Promise<void> {
      running = true;
      // A killed hub's demo and stream recorders keep writing into staging; end them before starting ours.
      const orphans = await stopOrphanRecorders(config.stagingDir);
      if (orphans.length) log.warn({ pids: orphans }, 'stopped ffmpeg processes a previous hub left running');
      storage.guard.onChange(onNasChange);
      await storage.guard.check();
      // Files already in staging when the hub starts were left by a crash: nothing writes them now.
      watcher = watch(config.stagingDir, { depth: 0, ignoreInitial: false, awaitWriteFinish: false });
      await new Promise<void>((resolve) => watcher!.once('ready', () => resolve()));
      for (const file of stagingFilesOf()) void finalize(file);
      // Only files no recorder of ours is writing: those ffmpeg reports itself when it closes them.
      watcher.on('add', (file) => {
        const name = parseSegmentName(path.basename(file));
        if (!running || !name || supervisors.has(name.cameraId) || stopping.has(name.cameraId)) return;
        void finalize(file);
      });
      for (const camera of cameras.listForRecording()) startCamera(camera);
      cameras.onChange(restartCamera);
    },

    drainSpool,

    async stop(): Promise<void> {
      running = false;
      await Promise.all([...changes.values()]);
      await Promise.all([...supervisors.keys()].map(stopCamera));
      await deps.mjpeg.stopAll();
      await watcher?.close();
      await Promise.allSettled([...finalizing.values()]);
      await draining;
    },
  };
}

export type RecordingService = ReturnType<typeof createRecordingService>;
