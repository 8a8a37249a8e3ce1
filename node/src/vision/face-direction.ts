/**
 * Face direction from the cradle camera (issue 13): pictures sampled from the node's own camera feed go
 * through the shared inference service (`@hearth/hub/ai`: human's face model in one worker thread, stale
 * pictures dropped, never queued) and become `direction` readings, front | left | right | down | no_face,
 * with the yaw as the value and the face score as the confidence; the pitch goes as a `face_pitch` reading
 * beside it (a reading has one value). The care rule "face not front for 30 s" is a `state` rule on them.
 */
import {
  createInferencePool,
  type FaceDirection,
  type FaceReading,
  faceDirection,
  faceDirectionConfigSchema,
  type InferencePool,
  inferenceConfigSchema,
} from '@hearth/hub/ai';
import { z } from 'zod';
import type { AgentLog } from '../agent.js';
import type { NodeCameraConfig } from '../cameras.js';
import type { NewReading } from '../outbox.js';
import type { SensorDriver, SensorHealth } from '../sensors/driver.js';
import { analysisSize, type FeedFramesHandle, startFeedFrames } from './feed-frames.js';

export const faceDirectionSensorSchema = z
  .object({
    type: z.literal('face_direction'),
    /** The readings' sensor. */
    name: z.string().min(1).max(64),
    /** Which of this node's cameras (its `id` in `cameras`). */
    camera: z.string().min(1),
    /** Pictures analysed per second. */
    fps: z.number().min(0.2).max(5).default(2),
    /** The analysed picture is at most this wide (the camera's shape kept). */
    maxWidth: z.number().int().min(160).max(1280).default(640),
    /** minScore (no face below), turnedYaw (left/right from), downPitch (down from), in degrees. */
    thresholds: faceDirectionConfigSchema.prefault({}),
    /** A new direction counts once seen in this many pictures in a row (one odd picture is not a turn). */
    confirmFrames: z.number().int().min(1).max(10).default(2),
    /** While the direction stays the same it is sent again this often, so the hub sees it is still so. */
    repeatSeconds: z.number().int().min(1).max(300).default(10),
    /** `auto`: tfjs-node when installed, else wasm, else cpu. */
    backend: inferenceConfigSchema.shape.backend,
  })
  .strict();
export type FaceDirectionSensorConfig = z.infer<typeof faceDirectionSensorSchema>;

export interface FaceSample {
  /** When the picture was taken (ms). */
  at: number;
  /** The most certain face, or null. */
  face: FaceReading | null;
}

const round1 = (degrees: number) => Math.round(degrees * 10) / 10;

/**
 * From analysed pictures to readings: a direction is reported when it changes (once confirmed, dated at its
 * first picture, so a care rule's "for 30 s" counts from when it began) and again every `repeatSeconds`
 * while it holds.
 */
export function directionReporter(
  config: Pick<FaceDirectionSensorConfig, 'name' | 'thresholds' | 'confirmFrames' | 'repeatSeconds'>,
) {
  let reported: FaceDirection | null = null;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  /** A direction seen but not yet confirmed: its first picture and how many in a row. */
  let candidate: { direction: FaceDirection; first: FaceSample; count: number } | null = null;

  function readings(direction: FaceDirection, sample: FaceSample): NewReading[] {
    lastSentAt = sample.at;
    const face = direction === 'no_face' ? null : sample.face;
    const base = { at: sample.at, sensor: config.name };
    if (!face) return [{ ...base, kind: 'direction', state: direction }];
    const confidence = Math.min(1, Math.max(0, face.score));
    return [
      { ...base, kind: 'direction', state: direction, value: round1(face.yaw), confidence },
      { ...base, kind: 'face_pitch', value: round1(face.pitch), confidence },
    ];
  }

  return {
    observe(sample: FaceSample): NewReading[] {
      const direction = faceDirection(sample.face, config.thresholds);
      if (direction === reported) {
        candidate = null;
        return sample.at - lastSentAt >= config.repeatSeconds * 1000 ? readings(direction, sample) : [];
      }
      candidate =
        candidate?.direction === direction
          ? { ...candidate, count: candidate.count + 1 }
          : { direction, first: sample, count: 1 };
      if (candidate.count < config.confirmFrames) return [];
      reported = direction;
      const first = candidate.first;
      candidate = null;
      return readings(direction, first);
    },
    current: () => reported,
  };
}

/** The inference service wants a pino logger; it only ever calls these three. */
function poolLog(log: AgentLog) {
  const line = (message: string, fields: object) =>
    `face direction: ${message} ${JSON.stringify(fields)}`.slice(0, 500);
  return {
    info: (fields: object, message: string) => log.info(line(message, fields)),
    warn: (fields: object, message: string) => log.warn(line(message, fields)),
    error: (fields: object, message: string) => log.warn(line(message, fields)),
  } as unknown as Parameters<typeof createInferencePool>[0]['log'];
}

const RESTART_DELAY_MS = 2000;

export function faceDirectionSensor(
  config: FaceDirectionSensorConfig,
  options: {
    camera: NodeCameraConfig;
    /** The camera's feed on loopback once the feeds run; null: no feed (it failed to start). */
    feedUrl: () => Promise<string | null>;
    log: AgentLog;
  },
): SensorDriver {
  const size = analysisSize(options.camera.source, config.maxWidth);
  const reporter = directionReporter(config);
  let pool: InferencePool | null = null;
  let frames: FeedFramesHandle | null = null;
  let retry: NodeJS.Timeout | undefined;
  let stopped = true;
  let lastError: string | null = null;
  let lastResultAt = 0;
  let picturesIn = 0;

  function watch(url: string) {
    retry = undefined;
    if (stopped || !pool) return;
    const running = pool;
    const handle = startFeedFrames({
      url,
      fps: config.fps,
      ...size,
      onFrame: (frame) => {
        picturesIn += 1;
        running.submit({
          cameraId: options.camera.id,
          at: frame.at,
          model: 'face',
          image: { width: frame.width, height: frame.height, pixels: frame.pixels },
        });
      },
    });
    frames = handle;
    void handle.exited.then((reason) => {
      if (frames === handle) frames = null;
      if (stopped || reason === null) return;
      // The feed restarts with its camera (or is not up yet): read it again shortly.
      lastError = `camera feed: ${reason}`;
      retry = setTimeout(() => watch(url), RESTART_DELAY_MS);
    });
  }

  return {
    name: config.name,
    type: 'face_direction',
    start(emit) {
      stopped = false;
      pool = createInferencePool({
        models: ['face'],
        clock: { now: Date.now },
        log: poolLog(options.log),
        config: {
          backend: config.backend,
          workers: 1,
          // Only the newest picture matters; one older than two sampling intervals says nothing now.
          queue: { perCamera: 1, maxAgeMs: Math.max(1000, Math.round(2000 / config.fps)) },
        },
        onResult: ({ job, output }) => {
          if (output.model !== 'face') return;
          lastResultAt = Date.now();
          const face = [...output.faces].sort((a, b) => b.score - a.score)[0] ?? null;
          for (const reading of reporter.observe({ at: job.at, face })) emit(reading);
        },
      });
      // Models load while the camera feed starts; a failure shows in health().
      void pool.start();
      void options.feedUrl().then(
        (url) => {
          if (url) watch(url);
          else lastError = `camera ${options.camera.id} has no feed`;
        },
        (error: Error) => {
          lastError = error.message;
        },
      );
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await frames?.stop();
      frames = null;
      await pool?.close();
    },
    health(): SensorHealth {
      const base = { name: config.name, kind: 'face_direction' };
      const inference = pool?.health();
      if (inference?.state === 'failed')
        return { ...base, healthy: false, detail: `inference: ${inference.error}`.slice(0, 200) };
      // Results stopped (the feed is down, the worker is stuck): the readings are no longer news.
      const silentMs = Date.now() - lastResultAt;
      const stale = silentMs > Math.max(10_000, (3 * 1000) / config.fps);
      if (stale && lastError) return { ...base, healthy: false, detail: lastError.slice(0, 200) };
      const model = inference?.models[0];
      const ms = model?.msMean == null ? '–' : `${Math.round(model.msMean)}`;
      const dropped = inference
        ? Object.values(inference.queue.dropped).reduce((sum, count) => sum + count, 0)
        : 0;
      return {
        ...base,
        healthy: !stale || picturesIn === 0,
        detail: (
          `${reporter.current() ?? 'no result yet'}; ${ms} ms per picture on ${inference?.backend ?? '–'}, ` +
          `${picturesIn} pictures, ${dropped} dropped`
        ).slice(0, 200),
      };
    },
  };
}
