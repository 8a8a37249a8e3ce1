import { and, eq, inArray, isNull } from 'drizzle-orm';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { cameras } from '../cameras/cameras.schema.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import { type UpdateReport, updateReportSchema } from '../firmware/firmware.service.js';
import { AppError, conflict, tooManyRequests } from '../http/errors.js';
import { issuesOf } from '../http/validate.js';
import type { Logger } from '../log/logger.js';
import type { CameraSettings, DeviceCommand, FirmwareOffer } from '../protocol/compact.js';
import type { Transfer } from '../storage/index.js';
import type { DeviceSettings } from './device-settings.js';
import { photoView } from './gallery.js';
import { checkJpeg, InvalidJpeg } from './jpeg.js';
import { cameraDeviceSettings, deviceCommands, photos, WAKE_REASONS } from './photos.schema.js';
import type { ParsedUpload } from './upload-parser.js';

export type PhotoRow = typeof photos.$inferSelect;

/** What a device says about the photos of one upload (the `meta` part). */
export const uploadMetaSchema = z
  .object({
    burstId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1–64 letters, digits, _ or -'),
    /** Sequence number of the first photo in this upload; the others follow it. */
    seq: z.number().int().min(0).max(9999),
    /** Capture time by the device clock: ms since the epoch, or ISO-8601 with a zone. */
    capturedAt: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]),
    /** Between photos of this upload; 0 when unknown. */
    intervalMs: z.number().int().min(0).max(60_000).default(0),
    wakeReason: z.enum(WAKE_REASONS),
    batteryMv: z.number().int().min(0).max(20_000).optional(),
    rssi: z.number().int().min(-127).max(0).optional(),
    firmware: z.string().max(64).optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    /** The settings version the device runs with now. */
    settingsVersion: z.number().int().min(0).optional(),
    /** Ids of commands the device carried out (or skipped as unknown). */
    ack: z.array(z.number().int().positive()).max(100).optional(),
    /** What became of the last firmware offer. */
    update: updateReportSchema.optional(),
  })
  .strict();
export type UploadMeta = z.infer<typeof uploadMetaSchema>;

export interface UploadResult {
  stored: number;
  duplicates: number;
  photos: { id: number; seq: number; state: PhotoRow['state']; duplicate: boolean }[];
  hubTime: number;
  settings?: CameraSettings;
  commands: DeviceCommand[];
  update?: FirmwareOffer;
}

const withOffer = (update: FirmwareOffer | undefined) => (update ? { update } : {});

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-24T01:02:03.456Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}_${iso.slice(20, 23)}`;
}

/** `photos/<camera>/<YYYY-MM-DD>/<camera>_<YYYYMMDD_HHMMSS_mmm>_<seq>.jpg`, UTC. */
export function photoRelPath(cameraId: string, capturedAt: number, seq: number): string {
  const day = new Date(capturedAt).toISOString().slice(0, 10);
  return `photos/${cameraId}/${day}/${cameraId}_${stamp(capturedAt)}_${seq}.jpg`;
}

export function createPhotoService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  transfer: Pick<Transfer, 'place'>;
  /** Removes a placed file again (a lost race with an identical retry). */
  removePlaced: (placement: { location: 'nas' | 'spool'; relPath: string }) => Promise<void>;
  config: Config['photos'];
  /** Settings and commands waiting for the camera, carried in the upload reply. */
  deviceSettings: Pick<DeviceSettings, 'deliver'>;
  /** Called after rows are committed, with the new photo ids (the processing job). */
  onStored?: (ids: number[]) => void;
  /** Records the camera's firmware report and picks a signed image to offer it, if any. */
  firmwareOffer?: (
    deviceId: number,
    report: { firmware?: string; update?: UpdateReport },
  ) => FirmwareOffer | undefined;
}) {
  const { db, clock, config } = deps;
  const limiter =
    config.uploadsPerMinute > 0
      ? new RateLimiterMemory({ points: config.uploadsPerMinute, duration: 60 })
      : null;

  // Uploads in progress: processing yields to them, since a camera stays awake (on battery) until it
  // has its answer, while thumbnails can wait a moment.
  let uploading = 0;
  let idleWaiters: (() => void)[] = [];

  function cameraOf(deviceId: number): string {
    const camera = db.select({ id: cameras.id }).from(cameras).where(eq(cameras.deviceId, deviceId)).get();
    if (!camera) throw conflict('This device has no camera; add one for it before it uploads photos.');
    return camera.id;
  }

  async function consumeRate(deviceId: number): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(String(deviceId));
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw tooManyRequests(
        Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
        'Too many uploads; wait and retry.',
      );
    }
  }

  function parseMeta(text: string | null): UploadMeta {
    if (text === null) throw new AppError(400, 'invalid_input', 'The `meta` part is missing.');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError(400, 'invalid_input', 'The `meta` part is not JSON.');
    }
    const parsed = uploadMetaSchema.safeParse(json);
    if (!parsed.success)
      throw new AppError(400, 'invalid_input', 'Invalid meta.', { issues: issuesOf(parsed.error) });
    return parsed.data;
  }

  /** Settings the device has not applied yet, and commands it has not acknowledged. */
  return {
    /**
     * Stores the photos of one upload durably before answering: each file placed (fsynced, NAS or spool),
     * then all rows in one transaction. A retry of (device, burst, seq) stores nothing twice; any invalid
     * part refuses the whole upload (422) and nothing of it is kept.
     */
    async ingest(device: { id: number }, upload: ParsedUpload): Promise<UploadResult> {
      try {
        await consumeRate(device.id);
        const meta = parseMeta(upload.meta);
        if (upload.files.length === 0)
          throw new AppError(400, 'invalid_input', 'No `photo` part in the upload.');
        const cameraId = cameraOf(device.id);
        const dimensions: { width: number; height: number }[] = [];
        for (const file of upload.files) {
          try {
            dimensions.push(await checkJpeg(file.tmpPath));
          } catch (error) {
            if (!(error instanceof InvalidJpeg)) throw error;
            const label = file.fileName ? `"${file.fileName.slice(0, 80)}"` : 'without a name';
            throw new AppError(
              422,
              'invalid_photo',
              `Photo part ${file.index} (${label}) ${error.message}.`,
              {
                part: file.index,
              },
            );
          }
        }

        const receivedAt = clock.now();
        const deviceTime =
          typeof meta.capturedAt === 'number' ? meta.capturedAt : Date.parse(meta.capturedAt);
        const clockSuspect = Math.abs(deviceTime - receivedAt) > config.clockToleranceSeconds * 1000;
        const base = clockSuspect ? receivedAt : deviceTime;

        const seqs = upload.files.map((_, i) => meta.seq + i);
        const existing = new Map(
          db
            .select()
            .from(photos)
            .where(
              and(
                eq(photos.deviceId, device.id),
                eq(photos.burstId, meta.burstId),
                inArray(photos.seq, seqs),
              ),
            )
            .all()
            .map((row) => [row.seq, row]),
        );

        const placed: {
          index: number;
          seq: number;
          capturedAt: number;
          location: 'nas' | 'spool';
          relPath: string;
          bytes: number;
        }[] = [];
        try {
          for (const file of upload.files) {
            const seq = meta.seq + file.index;
            if (existing.has(seq)) continue;
            const capturedAt = base + file.index * meta.intervalMs;
            const placement = await deps.transfer.place(
              file.tmpPath,
              photoRelPath(cameraId, capturedAt, seq),
            );
            placed.push({ index: file.index, seq, capturedAt, ...placement });
          }
        } catch (error) {
          await Promise.all(placed.map((p) => deps.removePlaced(p).catch(() => undefined)));
          throw error;
        }

        const inserted: PhotoRow[] = [];
        const lostRace: typeof placed = [];
        db.transaction((tx) => {
          for (const p of placed) {
            const { width, height } = dimensions[p.index]!;
            const row = tx
              .insert(photos)
              .values({
                cameraId,
                deviceId: device.id,
                burstId: meta.burstId,
                seq: p.seq,
                capturedAt: p.capturedAt,
                deviceTime: clockSuspect ? deviceTime + p.index * meta.intervalMs : null,
                clockSuspect,
                receivedAt,
                wakeReason: meta.wakeReason,
                width,
                height,
                bytes: p.bytes,
                location: p.location,
                relPath: p.relPath,
                batteryMv: meta.batteryMv ?? null,
                rssi: meta.rssi ?? null,
                firmware: meta.firmware ?? null,
                latitude: meta.latitude ?? null,
                longitude: meta.longitude ?? null,
              })
              .onConflictDoNothing()
              .returning()
              .get();
            if (row) inserted.push(row);
            else lostRace.push(p);
          }
          tx.update(devices)
            .set({
              ...(meta.batteryMv !== undefined ? { batteryMv: meta.batteryMv } : {}),
              ...(meta.rssi !== undefined ? { rssi: meta.rssi } : {}),
              ...(meta.firmware !== undefined ? { firmware: meta.firmware } : {}),
              lastWakeReason: meta.wakeReason,
              lastWakeAt: receivedAt,
              lastSeenAt: new Date(receivedAt),
              status: 'online',
            })
            .where(eq(devices.id, device.id))
            .run();
          if (meta.ack?.length)
            tx.update(deviceCommands)
              .set({ ackedAt: receivedAt, deliveredVia: 'upload' })
              .where(
                and(
                  eq(deviceCommands.deviceId, device.id),
                  inArray(deviceCommands.id, meta.ack),
                  isNull(deviceCommands.ackedAt),
                ),
              )
              .run();
          if (meta.settingsVersion !== undefined)
            tx.update(cameraDeviceSettings)
              .set({ appliedVersion: meta.settingsVersion })
              .where(eq(cameraDeviceSettings.deviceId, device.id))
              .run();
        });
        // An identical retry committed between our look-up and our insert: its copy is the one kept.
        await Promise.all(lostRace.map((p) => deps.removePlaced(p).catch(() => undefined)));

        for (const row of inserted) deps.bus.publish('photos', { change: 'added', photo: photoView(row) });
        deps.bus.publish('devices', {
          change: 'status',
          id: device.id,
          status: 'online',
          batteryMv: meta.batteryMv,
          rssi: meta.rssi,
        });
        if (inserted.length) deps.onStored?.(inserted.map((row) => row.id));

        const rowsBySeq = new Map<number, PhotoRow>([
          ...existing,
          ...inserted.map((row) => [row.seq, row] as const),
        ]);
        if (lostRace.length) {
          for (const row of db
            .select()
            .from(photos)
            .where(
              and(
                eq(photos.deviceId, device.id),
                eq(photos.burstId, meta.burstId),
                inArray(
                  photos.seq,
                  lostRace.map((p) => p.seq),
                ),
              ),
            )
            .all())
            rowsBySeq.set(row.seq, row);
        }
        const result = seqs.map((seq) => {
          const row = rowsBySeq.get(seq)!;
          return { id: row.id, seq, state: row.state, duplicate: !inserted.includes(row) };
        });
        const pending = deps.deviceSettings.deliver(device.id, meta.settingsVersion, receivedAt);
        return {
          stored: inserted.length,
          duplicates: result.filter((r) => r.duplicate).length,
          photos: result,
          hubTime: receivedAt,
          ...pending,
          ...withOffer(deps.firmwareOffer?.(device.id, { firmware: meta.firmware, update: meta.update })),
        };
      } finally {
        await upload.discard();
      }
    },

    get(id: number): PhotoRow | undefined {
      return db.select().from(photos).where(eq(photos.id, id)).get();
    },

    /** Runs one upload (body parsing included) counted as in progress. */
    async track<T>(upload: () => Promise<T>): Promise<T> {
      uploading++;
      try {
        return await upload();
      } finally {
        if (--uploading === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const wake of waiters) wake();
        }
      }
    },

    /** Resolves when no upload is in progress, or after `maxWaitMs` so work is never starved. */
    whenIdle(maxWaitMs: number): Promise<void> {
      if (uploading === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, maxWaitMs);
        function done() {
          clearTimeout(timer);
          idleWaiters = idleWaiters.filter((w) => w !== done);
          resolve();
        }
        idleWaiters.push(done);
      });
    },
  };
}

export type PhotoService = ReturnType<typeof createPhotoService>;
