/**
 * Camera events (person, pet, vehicle). Per recording camera: frames sampled from the camera's existing
 * fan-out (frames/sampler.ts), a motion gate so the detector runs only when something changes (or while
 * an event is open, to follow it), the inference service's object detector, and a tracker per label that
 * turns detections into events: opened after `minHits` frames, closed after `closeAfterSeconds` without
 * one, with the best-scoring frame as the snapshot. Closed events are linked to the segments covering
 * them (with padding); retention keeps linked footage while the event exists.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { and, eq, inArray, isNotNull, lt } from 'drizzle-orm';
import sharp from 'sharp';
import type { CameraRow } from '../../cameras/cameras.service.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/client.js';
import type { EventBus } from '../../events/bus.js';
import type { Logger } from '../../log/logger.js';
import type { AiConfig } from '../ai.config.js';
import { createMotionGate, type MaskShape, type MotionGate, rasterMask } from '../frames/motion.js';
import { createFrameSampler, type FrameSource } from '../frames/sampler.js';
import { householdLabel } from '../inference/labels.js';
import type { RgbImage } from '../inference/messages.js';
import type { InferencePool, InferenceResult } from '../inference/pool.js';
import type { DetectionSettings, EffectiveDetectionSettings } from './detection-settings.js';
import { detectionView, snapshotFile } from './detections.repo.js';
import { type DetectionLabel, detectionEvents } from './detections.schema.js';

type DetectionConfig = AiConfig['detections'];
export type DetectionEventRow = typeof detectionEvents.$inferSelect;

interface Track {
  label: DetectionLabel;
  eventId: number | null;
  firstAt: number;
  lastSeen: number;
  hits: number;
  bestScore: number;
  /** The best frame until it is written as the snapshot (pending tracks keep it in memory). */
  bestImage: RgbImage | null;
  bestAt: number;
  snapshotScore: number;
  zone: string | null;
}

interface CameraRuntime {
  camera: CameraRow;
  settings: EffectiveDetectionSettings;
  stop(): void;
  gate: MotionGate;
  tracks: Map<DetectionLabel, Track>;
  stats: { sampled: number; gated: number; analysed: number; lastFrameAt: number | null };
}

export interface CameraDetectionStats {
  cameraId: string;
  sampled: number;
  /** Frames the motion gate (or an open event) passed to the detector. */
  gated: number;
  /** Frames the detector answered. */
  detected: number;
  lastFrameAt: number | null;
}

function inShape(shape: MaskShape, x: number, y: number): boolean {
  return (
    rasterMask([shape], 100, 100)[
      Math.min(99, Math.floor(y * 100)) * 100 + Math.min(99, Math.floor(x * 100))
    ] === 1
  );
}

export function createDetectionService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  dataDir: string;
  config: DetectionConfig;
  pool: Pick<InferencePool, 'submit'>;
  cameras: { listForRecording(): CameraRow[]; onChange(listener: (id: string) => void): () => void };
  /** Per camera: on/off, masks, zones, scores; a change applies at once (no restart). */
  settings: Pick<DetectionSettings, 'effective' | 'onChange'>;
  /** The camera's existing fan-out, or null when it has none to sample. */
  frameSource(camera: CameraRow): FrameSource | null;
  /** Care rules hear of each event as it opens (e.g. "person at the door at night"). */
  signal?: (cameraId: string, signal: { at: number; kind: string; state: string; value: number }) => void;
}) {
  const { db, config, log } = deps;
  const runtimes = new Map<string, CameraRuntime>();

  function publish(change: 'opened' | 'updated' | 'closed', id: number) {
    const row = db.select().from(detectionEvents).where(eq(detectionEvents.id, id)).get();
    if (row) deps.bus.publish('detections', { change, event: detectionView(row) });
  }

  async function writeSnapshot(cameraId: string, eventId: number, track: Track) {
    const image = track.bestImage;
    if (!image) return;
    track.bestImage = null;
    track.snapshotScore = track.bestScore;
    const day = new Date(track.bestAt).toISOString().slice(0, 10);
    const relative = path.join(cameraId, day, `${eventId}.jpg`);
    const file = snapshotFile(deps.dataDir, relative);
    if (!file) return;
    try {
      const jpeg = await sharp(Buffer.from(image.pixels), {
        raw: { width: image.width, height: image.height, channels: 3 },
      })
        .jpeg({ quality: 80 })
        .toBuffer();
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, jpeg);
      renameSync(`${file}.tmp`, file);
      const updated = db
        .update(detectionEvents)
        .set({ snapshot: relative, snapshotAt: track.bestAt })
        .where(eq(detectionEvents.id, eventId))
        .run();
      // Deleted by an owner while it was still open: no file without its row.
      if (updated.changes === 0) rmSync(file, { force: true });
    } catch (error) {
      log.warn({ err: (error as Error).message, eventId }, 'could not write a detection snapshot');
    }
  }

  /** Inserts the links between events and the segments around them that are not there yet. */
  function linkSegments(since: number) {
    const pad = config.paddingSeconds * 1000;
    db.$client
      .prepare(
        `insert or ignore into detection_event_segments (event_id, segment_id)
         select e.id, s.id from detection_events e
         join segments s on s.camera_id = e.camera_id
           and s.end_at > e.start_at - @pad and s.start_at < coalesce(e.end_at, @now) + @pad
         where e.end_at is null or e.end_at >= @since`,
      )
      .run({ pad, now: deps.clock.now(), since });
  }

  function close(runtime: CameraRuntime, track: Track) {
    runtime.tracks.delete(track.label);
    if (track.eventId === null) return;
    db.update(detectionEvents)
      .set({ endAt: track.lastSeen, hits: track.hits, score: track.bestScore })
      .where(eq(detectionEvents.id, track.eventId))
      .run();
    linkSegments(track.lastSeen - 1);
    publish('closed', track.eventId);
    // A state rule ("a person at the door at night") resolves when the person has gone.
    deps.signal?.(runtime.camera.id, {
      at: track.lastSeen,
      kind: track.label,
      state: 'gone',
      value: track.bestScore,
    });
  }

  function closeIdle(runtime: CameraRuntime, now: number) {
    for (const track of [...runtime.tracks.values()])
      if (now - track.lastSeen > config.closeAfterSeconds * 1000) close(runtime, track);
  }

  function zoneOf(
    zones: EffectiveDetectionSettings['zones'],
    box: { x: number; y: number; w: number; h: number },
  ): string | null | false {
    if (zones.length === 0) return null;
    const cx = box.x + box.w / 2;
    const cy = box.y + box.h / 2;
    return zones.find((zone) => inShape(zone.shape, cx, cy))?.name ?? false;
  }

  function onResult(result: InferenceResult) {
    const runtime = runtimes.get(result.job.cameraId);
    if (!runtime || result.output.model !== 'objects') return;
    runtime.stats.analysed += 1;
    const at = result.job.at;
    const { minScore, zones } = runtime.settings;
    const best = new Map<DetectionLabel, { score: number; zone: string | null }>();
    for (const object of result.output.objects) {
      const label = householdLabel(object.label);
      if (!label || object.score < minScore[label]) continue;
      const zone = zoneOf(zones, object.box);
      if (zone === false) continue;
      if ((best.get(label)?.score ?? 0) < object.score) best.set(label, { score: object.score, zone });
    }
    for (const [label, seen] of best) {
      let track = runtime.tracks.get(label);
      if (!track) {
        track = {
          label,
          eventId: null,
          firstAt: at,
          lastSeen: at,
          hits: 0,
          bestScore: 0,
          bestImage: null,
          bestAt: at,
          snapshotScore: 0,
          zone: seen.zone,
        };
        runtime.tracks.set(label, track);
      }
      track.hits += 1;
      track.lastSeen = Math.max(track.lastSeen, at);
      if (seen.score > track.bestScore) {
        track.bestScore = seen.score;
        track.bestImage = result.job.image;
        track.bestAt = at;
      }
      if (track.eventId === null && track.hits >= config.minHits) {
        const row = db
          .insert(detectionEvents)
          .values({
            cameraId: runtime.camera.id,
            label,
            startAt: track.firstAt,
            score: track.bestScore,
            hits: track.hits,
            zone: track.zone,
            createdAt: deps.clock.now(),
          })
          .returning({ id: detectionEvents.id })
          .get();
        track.eventId = row.id;
        const id = row.id;
        void writeSnapshot(runtime.camera.id, id, track).then(() => publish('opened', id));
        deps.signal?.(runtime.camera.id, {
          at: track.firstAt,
          kind: label,
          state: 'detected',
          value: track.bestScore,
        });
        log.info(
          { cameraId: runtime.camera.id, label, eventId: id, score: track.bestScore },
          'detection event',
        );
      } else if (track.eventId !== null && track.bestScore >= track.snapshotScore + 0.05) {
        const id = track.eventId;
        db.update(detectionEvents)
          .set({ score: track.bestScore, hits: track.hits })
          .where(eq(detectionEvents.id, id))
          .run();
        void writeSnapshot(runtime.camera.id, id, track).then(() => publish('updated', id));
      }
    }
    closeIdle(runtime, at);
  }

  const gateFor = (settings: EffectiveDetectionSettings) =>
    createMotionGate({ ...config.motion, mask: settings.mask });

  function attach(camera: CameraRow, settings: EffectiveDetectionSettings) {
    const source = deps.frameSource(camera);
    if (!source) return;
    const runtime: CameraRuntime = {
      camera,
      settings,
      gate: gateFor(settings),
      tracks: new Map(),
      stats: { sampled: 0, gated: 0, analysed: 0, lastFrameAt: null },
      stop: () => {},
    };
    const sampler = createFrameSampler({
      cameraId: camera.id,
      source,
      log: log.child({ camera: camera.id }),
      config: config.sampler,
      onFrame: (frame) => {
        runtime.stats.sampled += 1;
        runtime.stats.lastFrameAt = frame.at;
        const motion = runtime.gate.push(frame.grey, frame.at);
        closeIdle(runtime, frame.at);
        // An open (or confirming) event keeps the detector on: a person standing still is still there.
        if (!motion.motion && runtime.tracks.size === 0) return;
        runtime.stats.gated += 1;
        deps.pool.submit({ cameraId: camera.id, at: frame.at, model: 'objects', image: frame.image });
      },
    });
    sampler.start();
    runtime.stop = () => {
      sampler.stop();
      for (const track of [...runtime.tracks.values()]) close(runtime, track);
    };
    runtimes.set(camera.id, runtime);
  }

  /** Starts and stops cameras' samplers as cameras and their settings say, and hands running ones new settings. */
  function sync() {
    if (!config.enabled) return;
    const wanted = new Map<string, { camera: CameraRow; settings: EffectiveDetectionSettings }>();
    for (const camera of deps.cameras.listForRecording()) {
      const settings = deps.settings.effective(camera);
      if (settings.enabled) wanted.set(camera.id, { camera, settings });
    }
    for (const [id, runtime] of runtimes)
      if (!wanted.has(id) || wanted.get(id)!.camera.sourceUrl !== runtime.camera.sourceUrl) {
        runtime.stop();
        runtimes.delete(id);
      }
    for (const [id, { camera, settings }] of wanted) {
      const runtime = runtimes.get(id);
      if (!runtime) {
        attach(camera, settings);
        continue;
      }
      // The mask is rasterised into the gate once per picture size: a new mask needs a new gate, whose first
      // frame only learns the background.
      if (JSON.stringify(settings.mask) !== JSON.stringify(runtime.settings.mask))
        runtime.gate = gateFor(settings);
      runtime.settings = settings;
    }
  }

  const unsubscribe: (() => void)[] = [];

  return {
    onResult,
    start(): void {
      sync();
      unsubscribe.push(
        deps.cameras.onChange(() => sync()),
        deps.settings.onChange(() => sync()),
      );
    },
    stop(): void {
      for (const off of unsubscribe.splice(0)) off();
      for (const runtime of runtimes.values()) runtime.stop();
      runtimes.clear();
    },
    /** Closes events gone quiet (also when no frames come at all) and links newly indexed footage. */
    tick(): void {
      const now = deps.clock.now();
      for (const runtime of runtimes.values()) closeIdle(runtime, now);
      linkSegments(now - 15 * 60_000);
    },
    /** Deletes events older than `keepDays`: their snapshots go, and their footage is no longer kept. */
    prune(): number {
      const cutoff = deps.clock.now() - config.keepDays * 86_400_000;
      const old = db
        .select({ id: detectionEvents.id, snapshot: detectionEvents.snapshot })
        .from(detectionEvents)
        .where(and(isNotNull(detectionEvents.endAt), lt(detectionEvents.endAt, cutoff)))
        .all();
      if (old.length === 0) return 0;
      db.delete(detectionEvents)
        .where(
          inArray(
            detectionEvents.id,
            old.map((row) => row.id),
          ),
        )
        .run();
      for (const row of old) {
        const file = row.snapshot ? snapshotFile(deps.dataDir, row.snapshot) : null;
        if (file) rmSync(file, { force: true });
      }
      return old.length;
    },
    stats(): CameraDetectionStats[] {
      return [...runtimes.values()].map((runtime) => ({
        cameraId: runtime.camera.id,
        sampled: runtime.stats.sampled,
        gated: runtime.stats.gated,
        detected: runtime.stats.analysed,
        lastFrameAt: runtime.stats.lastFrameAt,
      }));
    },
  };
}

export type DetectionService = ReturnType<typeof createDetectionService>;
