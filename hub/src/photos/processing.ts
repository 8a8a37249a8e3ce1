import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import sharp from 'sharp';
import type { PictureAnalyser } from '../ai/inference/analyse.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log/logger.js';
import { bestShotScore, readBurst, type SubjectReading } from './best-shot.js';
import { photos } from './photos.schema.js';
import type { PhotoRow } from './photos.service.js';

export const PHOTO_JOB = 'photos.process';
export const THUMB_WIDTH = 320;
export const PREVIEW_WIDTH = 1280;
const METRIC_WIDTH = 320;
/** How long one picture may wait for the inference service's answer (its first start: up to 60 s more). */
const ANSWER_MS = 10_000;
/** After the service missed that, bursts are ranked without it for this long rather than each waiting. */
const ANALYSIS_PAUSE_MS = 5 * 60_000;

export type Derived = 'thumb' | 'preview' | 'enlarged';

/** Derived images live on the hub's disk: they are remade from the original whenever needed. */
export const derivedPath = (dataDir: string, id: number, kind: Derived) =>
  path.join(dataDir, 'photos-derived', String(id), `${kind}.jpg`);

export interface PhotoMetrics {
  /** Variance of the 3×3 Laplacian over a 320-px-wide greyscale copy: edges make it large, blur small. */
  sharpness: number;
  /** 1 for a well-exposed picture; less for dark, bright or clipped ones. */
  exposure: number;
}

/** Sharpness and exposure from the decoded pixels (EXIF orientation does not matter for either). */
export async function measure(image: Buffer): Promise<PhotoMetrics> {
  const { data, info } = await sharp(image)
    .greyscale()
    .resize({ width: METRIC_WIDTH, withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  let sum = 0;
  let sumSquares = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const laplacian = data[i - width]! + data[i + width]! + data[i - 1]! + data[i + 1]! - 4 * data[i]!;
      sum += laplacian;
      sumSquares += laplacian * laplacian;
      count++;
    }
  }
  const mean = count ? sum / count : 0;
  const sharpness = count ? sumSquares / count - mean * mean : 0;
  let luminance = 0;
  let clipped = 0;
  for (const value of data) {
    luminance += value;
    if (value <= 4 || value >= 251) clipped++;
  }
  const meanLuminance = luminance / data.length / 255;
  // Mid-grey is best; every step towards black or white, and every clipped pixel, costs.
  const exposure = Math.max(0, 1 - 2 * Math.abs(meanLuminance - 0.5)) * (1 - clipped / data.length);
  return { sharpness, exposure };
}

/** A photo's quality as one number: sharpness matters most, exposure scales it (subjects: best-shot.ts). */
export const score = (m: PhotoMetrics) => Math.log1p(m.sharpness) * (0.25 + 0.75 * m.exposure);

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * The `photos.process` job: thumbnail and preview of each photo (EXIF orientation applied), sharpness and
 * exposure, then the best shot of each burst marked (faces and subjects counted when the inference
 * service answers, best-shot.ts) and a 2× enlargement of it made. Failures retry with
 * the queue's backoff; the last failing attempt marks its photos `failed` with the error.
 */
export function registerPhotoProcessing(deps: {
  db: Db;
  queue: JobQueue;
  bus: EventBus;
  log: Logger;
  dataDir: string;
  /** The original's bytes wherever it is now (NAS through the fs worker, or the spool). */
  readOriginal: (photo: PhotoRow) => Promise<Buffer>;
  /** Resolves when no upload is being received (or after a bounded wait): uploads go first. */
  uploadsIdle?: () => Promise<void>;
  /** The inference service; without it a burst is ranked by sharpness and exposure alone. */
  analyse?: PictureAnalyser['analyse'];
  maxAttempts?: number;
}) {
  const { db } = deps;
  const maxAttempts = deps.maxAttempts ?? 4;
  let analysisPausedUntil = 0;

  function setState(ids: number[], patch: Partial<PhotoRow>) {
    db.update(photos).set(patch).where(inArray(photos.id, ids)).run();
    for (const id of ids) deps.bus.publish('photos', { change: 'updated', id, ...patch });
  }

  async function processOne(photo: PhotoRow): Promise<void> {
    const original = await deps.readOriginal(photo);
    const upright = sharp(original).rotate();
    const [thumb, preview, metrics] = await Promise.all([
      upright
        .clone()
        .resize({ width: THUMB_WIDTH, withoutEnlargement: true })
        .jpeg({ quality: 75 })
        .toBuffer(),
      upright
        .clone()
        .resize({ width: PREVIEW_WIDTH, withoutEnlargement: true })
        .jpeg({ quality: 82 })
        .toBuffer(),
      measure(original),
    ]);
    await writeAtomically(derivedPath(deps.dataDir, photo.id, 'thumb'), thumb);
    await writeAtomically(derivedPath(deps.dataDir, photo.id, 'preview'), preview);
    db.update(photos)
      .set({
        sharpness: metrics.sharpness,
        exposure: metrics.exposure,
        score: score(metrics),
        state: 'completed',
        error: null,
      })
      .where(eq(photos.id, photo.id))
      .run();
    deps.bus.publish('photos', { change: 'updated', id: photo.id, state: 'completed' });
  }

  /**
   * Faces and subjects of a burst's photos (from their previews), or null: a single photo is its burst's
   * best anyway, and a service that did not answer is not waited for again until the pause is over.
   */
  async function burstSubjects(measured: PhotoRow[]): Promise<SubjectReading[] | null> {
    if (!deps.analyse || measured.length < 2 || performance.now() < analysisPausedUntil) return null;
    try {
      const previews = measured.map((p) => () => readFile(derivedPath(deps.dataDir, p.id, 'preview')));
      const readings = await readBurst(previews, deps.analyse, ANSWER_MS);
      if (!readings) {
        analysisPausedUntil = performance.now() + ANALYSIS_PAUSE_MS;
        deps.log.warn(
          { pauseMs: ANALYSIS_PAUSE_MS },
          'the inference service did not answer: bursts are ranked by sharpness and exposure for now',
        );
      }
      return readings;
    } catch (error) {
      // A preview deleted meanwhile (the photo removed) must not fail its burst's ranking.
      deps.log.warn({ err: error }, 'best shot analysis failed; ranked by sharpness and exposure');
      return null;
    }
  }

  /** Marks the best of a burst once every photo of it is measured, and enlarges that one. */
  async function pickBest(deviceId: number | null, burstId: string): Promise<void> {
    if (deviceId === null) return;
    const burst = db
      .select()
      .from(photos)
      .where(and(eq(photos.deviceId, deviceId), eq(photos.burstId, burstId)))
      .all();
    const measured = burst.filter((p) => p.score !== null);
    if (measured.length === 0) return;
    const readings = await burstSubjects(measured);
    const ranked = measured.map((photo, i) => ({
      photo,
      score: bestShotScore(
        score({ sharpness: photo.sharpness!, exposure: photo.exposure! }),
        readings?.[i] ?? null,
      ),
    }));
    for (const r of ranked)
      if (r.score !== r.photo.score)
        db.update(photos).set({ score: r.score }).where(eq(photos.id, r.photo.id)).run();
    const best = ranked.reduce((a, b) => (b.score > a.score ? b : a)).photo;
    // The enlargement exists before the flag says so: a reader that sees `best` finds its file.
    const original = await deps.readOriginal(best);
    const meta = await sharp(original).rotate().metadata();
    const width = (meta.autoOrient?.width ?? meta.width ?? 0) * 2;
    const enlarged = await sharp(original)
      .rotate()
      .resize({ width, kernel: sharp.kernel.lanczos3 })
      .jpeg({ quality: 88 })
      .toBuffer();
    await writeAtomically(derivedPath(deps.dataDir, best.id, 'enlarged'), enlarged);
    if (!best.best) {
      db.transaction((tx) => {
        tx.update(photos)
          .set({ best: false })
          .where(and(eq(photos.deviceId, deviceId), eq(photos.burstId, burstId)))
          .run();
        tx.update(photos).set({ best: true }).where(eq(photos.id, best.id)).run();
      });
      for (const other of burst)
        if (other.best && other.id !== best.id)
          await rm(derivedPath(deps.dataDir, other.id, 'enlarged'), { force: true });
    }
    deps.bus.publish('photos', { change: 'best', id: best.id, burstId });
  }

  deps.queue.define<{ ids?: unknown }>({
    kind: PHOTO_JOB,
    // One at a time: a Pi's four cores are shared with recording.
    concurrency: 1,
    maxAttempts,
    timeoutMs: 5 * 60_000,
    async handle(payload, context) {
      const ids = Array.isArray(payload?.ids)
        ? payload.ids.filter((id): id is number => Number.isInteger(id))
        : [];
      const rows = ids.length ? db.select().from(photos).where(inArray(photos.id, ids)).all() : [];
      const todo = rows.filter((row) => row.state !== 'completed');
      if (todo.length)
        setState(
          todo.map((r) => r.id),
          { state: 'processing' },
        );
      try {
        for (const photo of todo) {
          await deps.uploadsIdle?.();
          await processOne(photo);
        }
        const bursts = new Map(rows.map((row) => [`${row.deviceId}:${row.burstId}`, row]));
        for (const row of bursts.values()) {
          await deps.uploadsIdle?.();
          await pickBest(row.deviceId, row.burstId);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const unfinished = db
          .select({ id: photos.id })
          .from(photos)
          .where(and(inArray(photos.id, ids), inArray(photos.state, ['queued', 'processing'])))
          .all()
          .map((row) => row.id);
        const last = context.job.attempts >= maxAttempts;
        if (unfinished.length)
          setState(
            unfinished,
            last ? { state: 'failed', error: message } : { state: 'queued', error: message },
          );
        deps.log.warn(
          { photos: unfinished, attempt: context.job.attempts, err: error },
          'photo processing failed',
        );
        throw error;
      }
    },
  });

  return {
    enqueue(ids: number[]): void {
      if (ids.length) deps.queue.enqueue(PHOTO_JOB, { ids });
    },
    /** Photos stored but never given a job (a crash between the commit and the enqueue). */
    enqueueOrphans(): number {
      const queued = db.select({ id: photos.id }).from(photos).where(eq(photos.state, 'queued')).all();
      const inJobs = new Set<number>();
      const waiting = [
        ...deps.queue.list({ kind: PHOTO_JOB, status: 'queued', limit: 100_000 }),
        ...deps.queue.list({ kind: PHOTO_JOB, status: 'running', limit: 100_000 }),
      ];
      for (const job of waiting)
        for (const id of (job.payload as { ids?: number[] } | null)?.ids ?? []) inJobs.add(id);
      const orphans = queued.map((row) => row.id).filter((id) => !inJobs.has(id));
      for (let i = 0; i < orphans.length; i += 20)
        deps.queue.enqueue(PHOTO_JOB, { ids: orphans.slice(i, i + 20) });
      return orphans.length;
    },
    readDerived: (id: number, kind: Derived) => readFile(derivedPath(deps.dataDir, id, kind)),
  };
}
