import { createReadStream, existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import {
  MediaError,
  probeSegment,
  type RecorderHandle,
  segmentLastKeyframe,
  startRecorder,
  trimToLastFragment,
} from '@hearth/hub/media';
import { parseSegmentName, segmentRelPath } from '@hearth/hub/protocol';
import { createFsWorker, createNasGuard, createSpool, createTransfer } from '@hearth/hub/storage';
import { z } from 'zod';
import type { AgentLog } from './agent.js';
import type { CameraFeeds } from './feeds.js';
import type { Outbox } from './outbox.js';
import type { SensorHealth } from './sensors/driver.js';

const frameShape = {
  width: z.number().int().min(160).max(1920).multipleOf(2).default(1280),
  height: z.number().int().min(120).max(1080).multipleOf(2).default(720),
  fps: z.number().int().min(1).max(30).default(15),
};

export const nodeCameraSchema = z
  .object({
    /** The hub's camera id (kind `node`, linked to this node). */
    id: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
    source: z.discriminatedUnion('type', [
      z.object({ type: z.literal('demo'), label: z.string().max(40).default('Edge node') }).strict(),
      /** H.264 over RTSP or HTTP (an IP camera, MediaMTX), copied, not re-encoded. */
      z.object({ type: z.literal('stream'), url: z.string().url() }).strict(),
      /** A USB camera (V4L2) through ffmpeg: H.264 from the camera is copied, MJPEG or raw is encoded once. */
      z
        .object({
          type: z.literal('v4l2'),
          device: z
            .string()
            .regex(/^\/dev\/[\w./-]+$/, 'a device under /dev')
            .default('/dev/video0'),
          inputFormat: z.enum(['h264', 'mjpeg', 'yuyv422']).default('mjpeg'),
          ...frameShape,
        })
        .strict(),
      /** The Raspberry Pi camera through rpicam-vid (libcamera-vid on older systems), H.264 from its encoder. */
      z
        .object({
          type: z.literal('rpicam'),
          command: z.string().min(1).default('rpicam-vid'),
          ...frameShape,
        })
        .strict(),
    ]),
    segmentSeconds: z.number().int().min(1).max(300).default(60),
  })
  .strict();
export type NodeCameraConfig = z.infer<typeof nodeCameraSchema>;

export interface CameraStorageConfig {
  stateDir: string;
  nasDir: string;
  /** False only where the NAS is a plain folder (tests, a laptop). */
  nasRequireMount: boolean;
  spoolQuotaBytes: number;
}

/**
 * The node's own cameras, recorded with the hub's recorder and storage modules: ffmpeg writes segments to
 * local staging; each finished one is probed, placed on the NAS the node mounts (the hub's layout) or in the
 * node's spool while that NAS is away, and every segment that reached the NAS is reported to the hub. The
 * list of reports to make is in the outbox database, so a restart does not forget one.
 */
export async function startCameras(options: {
  cameras: NodeCameraConfig[];
  storage: CameraStorageConfig;
  outbox: Outbox;
  /** Where each camera's one capture is read from (feeds.ts). */
  feeds: CameraFeeds;
  report: (relPath: string) => Promise<'done' | 'retry'>;
  log: AgentLog;
}) {
  const { storage, outbox, log } = options;
  const staging = path.join(storage.stateDir, 'staging');
  mkdirSync(staging, { recursive: true });
  const fs = createFsWorker();
  const guard = createNasGuard({
    root: storage.nasDir,
    fs,
    requireMountPoint: storage.nasRequireMount,
    createMarker: false,
    intervalMs: 5000,
  });
  const spool = createSpool({
    dir: path.join(storage.stateDir, 'spool'),
    quotaBytes: storage.spoolQuotaBytes,
    onDrop: (dropped) => log.warn(`spool full: dropped ${dropped.length} oldest segment(s)`),
  });
  const transfer = createTransfer({ nasRoot: storage.nasDir, fs, guard, spool });
  const recorders = new Map<string, RecorderHandle>();
  const errors = new Map<string, string>();
  let stopping = false;
  let reporting: Promise<void> | null = null;
  /** Each camera's newest finished segment, wherever it was placed: what capture_photo takes a frame from. */
  const newest = new Map<string, { file: string; size: number; initBytes: number; endAt: number }>();

  /** Reports every placed segment the hub has not taken yet, oldest first; stops at the first "later". */
  function reportPending() {
    reporting ??= (async () => {
      for (const relPath of outbox.unreportedSegments()) {
        if (stopping) break;
        if ((await options.report(relPath)) === 'retry') break;
        outbox.segmentReported(relPath);
      }
    })()
      .catch((error: Error) => log.warn(`segment report failed: ${error.message}`))
      .finally(() => {
        reporting = null;
      });
    return reporting;
  }

  async function finalize(file: string) {
    const name = parseSegmentName(path.basename(file));
    if (!name || !existsSync(file)) return;
    let probe: Awaited<ReturnType<typeof probeSegment>>;
    try {
      probe = await probeSegment(file);
      if (!probe.complete) {
        await trimToLastFragment(file);
        probe = { ...probe, bytes: probe.playableBytes };
      }
    } catch (error) {
      if (error instanceof MediaError && error.code === 'unreadable') return unlinkSync(file);
      throw error;
    }
    const placed = await transfer.place(file, segmentRelPath(path.basename(file), name));
    newest.set(name.cameraId, {
      file: path.join(
        placed.location === 'nas' ? storage.nasDir : path.join(storage.stateDir, 'spool'),
        placed.relPath,
      ),
      size: probe.bytes,
      initBytes: probe.initHeaderBytes,
      endAt: name.startAt + probe.durationMs,
    });
    if (placed.location === 'nas') {
      outbox.segmentPlaced(placed.relPath);
      void reportPending();
    }
  }

  /** Recorder restarts since the camera's last finished segment. */
  const failures = new Map<string, number>();

  function record(camera: NodeCameraConfig) {
    if (stopping) return;
    const handle = startRecorder(
      {
        // The capture is local: a second of probing is plenty (and shorter than any segment).
        input: { kind: 'stream', url: options.feeds.localUrl(camera.id), analyzeDurationMs: 1000 },
        segmentSeconds: camera.segmentSeconds,
        stagingDir: staging,
        cameraId: camera.id,
      },
      {
        onSegment: (file) => {
          failures.delete(camera.id);
          void finalize(file).catch((error: Error) =>
            log.warn(`segment ${path.basename(file)}: ${error.message}`),
          );
        },
      },
    );
    recorders.set(camera.id, handle);
    errors.delete(camera.id);
    void handle.exited.then((exit) => {
      if (stopping) return;
      errors.set(camera.id, exit.lastError ?? `ffmpeg exited (${exit.code ?? exit.signal})`);
      // The capture has its own back-off; this one only spares a loop while the capture is down.
      const attempt = failures.get(camera.id) ?? 0;
      failures.set(camera.id, attempt + 1);
      setTimeout(() => record(camera), Math.min(10_000, 1000 * 2 ** attempt));
    });
  }

  /** Moves what waits in the spool to the NAS (one drain at a time: the transfer queues them). */
  function drain() {
    if (!guard.current().healthy) return;
    void transfer
      .drainSpool((moved) => outbox.segmentPlaced(moved.relPath))
      .then(() => reportPending())
      .catch((error: Error) => log.warn(`spool drain stopped: ${error.message}`));
  }
  // At once when the NAS comes back; and every so often, for a copy that failed while it looked healthy.
  guard.onChange(drain);
  guard.start();
  // Segments a killed agent left finished in staging.
  for (const file of readdirSync(staging))
    if (file.endsWith('.mp4')) void finalize(path.join(staging, file)).catch(() => undefined);
  for (const camera of options.cameras) record(camera);
  void reportPending();
  const retry = setInterval(() => {
    drain();
    void reportPending();
  }, 10_000);

  return {
    health(): SensorHealth[] {
      return options.cameras.map((camera) => {
        // The capture's own error says more (a missing device) than the recorder's (no data).
        const capture = options.feeds.health(camera.id);
        const detail = capture.detail ?? errors.get(camera.id);
        return {
          name: camera.id,
          kind: camera.source.type,
          healthy: capture.healthy && !errors.has(camera.id),
          ...(detail ? { detail: detail.slice(0, 200) } : {}),
        };
      });
    },
    nasHealthy: () => guard.current().healthy,
    /**
     * A photo now: the last keyframe of the camera's newest finished segment (at most one segment old), as a
     * JPEG, with the time it shows. Null before the first segment is finished.
     */
    async snapshot(cameraId?: string): Promise<{ cameraId: string; jpeg: Buffer; at: number } | null> {
      const id = cameraId ?? options.cameras[0]?.id;
      const segment = id ? newest.get(id) : undefined;
      if (!id || !segment) return null;
      const jpeg = await segmentLastKeyframe(
        {
          read: ({ start, end }) => createReadStream(segment.file, { start, end }),
          size: segment.size,
          initBytes: segment.initBytes,
        },
        { quality: 3 },
      );
      return { cameraId: id, jpeg, at: segment.endAt };
    },
    async stop() {
      stopping = true;
      clearInterval(retry);
      await Promise.all([...recorders.values()].map((handle) => handle.stop()));
      await reporting;
      guard.stop();
      await fs.close();
    },
  };
}
