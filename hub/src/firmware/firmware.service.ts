import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { and, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import { conflict, notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import type { FirmwareOffer } from '../protocol/compact.js';
import { compareVersions, inspectImage, VERSION_PATTERN } from './esp-image.js';
import { firmwareImages, firmwareRollouts, type RolloutState } from './firmware.schema.js';
import type { SigningKey } from './signing.js';

export type ImageRow = typeof firmwareImages.$inferSelect;
export type RolloutRow = typeof firmwareRollouts.$inferSelect;

/** What a camera says in its upload `meta` about the last image it was offered. */
export const updateReportSchema = z
  .object({
    version: z.string().regex(VERSION_PATTERN),
    result: z.enum(['installed', 'rolled_back', 'refused']),
    reason: z.string().max(200).optional(),
  })
  .strict();
export type UpdateReport = z.infer<typeof updateReportSchema>;

/** Rollouts that end a camera's dealings with an image: it is not offered again. */
const FINAL: RolloutState[] = ['installed', 'rolled_back', 'refused'];

export const imagePath = (dataDir: string, sha256: string) => path.join(dataDir, 'firmware', `${sha256}.bin`);

export function createFirmwareService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  dataDir: string;
  key: SigningKey;
}) {
  const { db, clock, key } = deps;

  const imageView = (row: ImageRow) => ({
    id: row.id,
    version: row.version,
    size: row.size,
    sha256: row.sha256,
    fileName: row.fileName,
    notes: row.notes,
    createdAt: row.createdAt,
  });

  function setRollout(
    deviceId: number,
    imageId: number,
    state: RolloutState,
    extra: Partial<RolloutRow> = {},
  ) {
    const now = clock.now();
    db.insert(firmwareRollouts)
      .values({ deviceId, imageId, state, offeredAt: now, updatedAt: now, ...extra })
      .onConflictDoUpdate({
        target: [firmwareRollouts.deviceId, firmwareRollouts.imageId],
        set: { state, updatedAt: now, ...(extra.detail !== undefined ? { detail: extra.detail } : {}) },
      })
      .run();
    deps.bus.publish('firmware', { change: 'rollout', deviceId, imageId, state });
  }

  function rolloutOf(deviceId: number, imageId: number): RolloutRow | undefined {
    return db
      .select()
      .from(firmwareRollouts)
      .where(and(eq(firmwareRollouts.deviceId, deviceId), eq(firmwareRollouts.imageId, imageId)))
      .get();
  }

  /** What the camera's upload says about its firmware: the version it runs and what became of an offer. */
  function recordReport(deviceId: number, firmware: string | undefined, update: UpdateReport | undefined) {
    if (update) {
      const image = db.select().from(firmwareImages).where(eq(firmwareImages.version, update.version)).get();
      if (image && rolloutOf(deviceId, image.id)?.state !== update.result) {
        setRollout(deviceId, image.id, update.result, { detail: update.reason ?? null });
        const level = update.result === 'installed' ? 'info' : 'warn';
        deps.log[level](
          { deviceId, version: update.version, reason: update.reason },
          `firmware ${update.result}`,
        );
      }
    }
    if (firmware === undefined) return;
    const open = db
      .select({ imageId: firmwareRollouts.imageId, version: firmwareImages.version })
      .from(firmwareRollouts)
      .innerJoin(firmwareImages, eq(firmwareImages.id, firmwareRollouts.imageId))
      .where(
        and(
          eq(firmwareRollouts.deviceId, deviceId),
          inArray(firmwareRollouts.state, ['offered', 'downloading']),
        ),
      )
      .all();
    for (const rollout of open)
      if (rollout.version === firmware) setRollout(deviceId, rollout.imageId, 'installed');
  }

  return {
    signingKey: () => key.publicKeyHex,

    /**
     * Checks, signs and keeps an image. The version comes from the image's marker; one given by the owner
     * must agree with it, and is needed when the image has no marker.
     */
    async add(input: {
      data: Buffer;
      fileName: string;
      version?: string;
      notes?: string;
      uploadedBy?: number;
    }) {
      const inspected = inspectImage(input.data);
      if (inspected.version && input.version && inspected.version !== input.version)
        throw conflict(`The image says it is version ${inspected.version}, not ${input.version}.`);
      const version = inspected.version ?? input.version;
      if (!version)
        throw conflict('The image carries no Hearth version marker; enter its version (for example 1.4.0).');
      if (db.select().from(firmwareImages).where(eq(firmwareImages.version, version)).get())
        throw conflict(`Version ${version} is already uploaded.`);
      if (db.select().from(firmwareImages).where(eq(firmwareImages.sha256, inspected.sha256)).get())
        throw conflict('This exact image is already uploaded under another version.');
      const file = imagePath(deps.dataDir, inspected.sha256);
      await mkdir(path.dirname(file), { recursive: true });
      // Durable before the row exists: a camera must never be offered an image the hub cannot serve.
      const temporary = `${file}.${process.pid}.tmp`;
      const handle = await open(temporary, 'w', 0o644);
      try {
        await handle.writeFile(input.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      const size = input.data.length;
      const row = db
        .insert(firmwareImages)
        .values({
          version,
          size,
          sha256: inspected.sha256,
          signature: key.signImage({ version, size, sha256: inspected.sha256 }),
          fileName: input.fileName.slice(0, 200),
          notes: input.notes ?? '',
          uploadedBy: input.uploadedBy ?? null,
          createdAt: clock.now(),
        })
        .returning()
        .get();
      deps.log.info({ version, size, sha256: row.sha256 }, 'firmware image added');
      deps.bus.publish('firmware', { change: 'added', image: imageView(row) });
      return imageView(row);
    },

    async remove(id: number) {
      const row = db.select().from(firmwareImages).where(eq(firmwareImages.id, id)).get();
      if (!row) throw notFound('Firmware image');
      db.delete(firmwareImages).where(eq(firmwareImages.id, id)).run();
      await rm(imagePath(deps.dataDir, row.sha256), { force: true });
      deps.bus.publish('firmware', { change: 'removed', id });
    },

    /** Every image, newest version first, with where each camera is with it. */
    list() {
      const images = db.select().from(firmwareImages).all();
      images.sort((a, b) => compareVersions(b.version, a.version) ?? 0);
      const rollouts = db
        .select({ rollout: firmwareRollouts, name: devices.name, firmware: devices.firmware })
        .from(firmwareRollouts)
        .innerJoin(devices, eq(devices.id, firmwareRollouts.deviceId))
        .all();
      return {
        signingKey: key.publicKeyHex,
        images: images.map((image) => ({
          ...imageView(image),
          rollouts: rollouts
            .filter(({ rollout }) => rollout.imageId === image.id)
            .map(({ rollout, name, firmware }) => ({
              deviceId: rollout.deviceId,
              deviceName: name,
              firmware,
              state: rollout.state,
              detail: rollout.detail,
              fromVersion: rollout.fromVersion,
              updatedAt: rollout.updatedAt,
            })),
        })),
      };
    },

    /** The camera page: its newest rollout. */
    forDevice(deviceId: number) {
      const row = db
        .select({ rollout: firmwareRollouts, version: firmwareImages.version })
        .from(firmwareRollouts)
        .innerJoin(firmwareImages, eq(firmwareImages.id, firmwareRollouts.imageId))
        .where(eq(firmwareRollouts.deviceId, deviceId))
        .orderBy(desc(firmwareRollouts.updatedAt))
        .get();
      return row
        ? {
            version: row.version,
            state: row.rollout.state,
            detail: row.rollout.detail,
            fromVersion: row.rollout.fromVersion,
            updatedAt: row.rollout.updatedAt,
          }
        : null;
    },

    /**
     * Called with each photo upload: records what the camera reports, then picks the newest image above
     * the version it runs that it has not installed, refused or rolled back. Only cameras that report a
     * dotted version are offered anything.
     */
    offerFor(
      deviceId: number,
      report: { firmware?: string; update?: UpdateReport },
    ): FirmwareOffer | undefined {
      recordReport(deviceId, report.firmware, report.update);
      const running = report.firmware;
      if (!running || !VERSION_PATTERN.test(running)) return undefined;
      const candidates = db
        .select()
        .from(firmwareImages)
        .all()
        .filter((image) => (compareVersions(image.version, running) ?? 0) > 0)
        .sort((a, b) => compareVersions(b.version, a.version) ?? 0);
      for (const image of candidates) {
        const rollout = rolloutOf(deviceId, image.id);
        if (rollout && FINAL.includes(rollout.state)) continue;
        if (!rollout) setRollout(deviceId, image.id, 'offered', { fromVersion: running });
        return {
          version: image.version,
          size: image.size,
          sha256: image.sha256,
          signature: image.signature,
          url: `/api/device/firmware/${image.id}`,
        };
      }
      return undefined;
    },

    /** The image file for a camera it was offered to; anything else is not found. */
    download(deviceId: number, imageId: number) {
      const image = db.select().from(firmwareImages).where(eq(firmwareImages.id, imageId)).get();
      const rollout = image && rolloutOf(deviceId, image.id);
      if (!image || !rollout) throw notFound('Firmware image');
      if (rollout.state === 'offered') setRollout(deviceId, image.id, 'downloading');
      return { file: imagePath(deps.dataDir, image.sha256), size: image.size, sha256: image.sha256 };
    },
  };
}

export type FirmwareService = ReturnType<typeof createFirmwareService>;
