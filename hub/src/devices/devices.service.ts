import { and, asc, eq, isNull, lt } from 'drizzle-orm';
import { z } from 'zod';
import { newSecret, sha256 } from '../accounts/tokens.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import type { AuthedDevice } from '../http/env.js';
import { conflict, notFound } from '../http/errors.js';
import { DEVICE_KINDS, type DeviceKind, devices, deviceTokens } from './devices.schema.js';

export const newDeviceSchema = z
  .object({
    name: z.string().trim().min(1).max(64),
    kind: z.enum(DEVICE_KINDS),
    hardwareId: z.string().trim().min(1).max(64).optional(),
  })
  .strict();

export type Device = typeof devices.$inferSelect;

export interface DeviceTokenInfo {
  id: number;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const LAST_SEEN_WRITE_EVERY_MS = 5_000;

/**
 * Devices (cameras and edge nodes) and their bearer tokens. A token is 256 random bits shown
 * once; only its SHA-256 is kept (a high-entropy secret needs no slow hash), scoped to one device.
 */
export function createDeviceService(deps: {
  db: Db;
  clock: Clock;
  bus?: EventBus | undefined;
  systemEvents?: SystemEventService | undefined;
}) {
  const { db, clock } = deps;

  function getRow(id: number): Device {
    const row = db.select().from(devices).where(eq(devices.id, id)).get();
    if (!row) throw notFound('Device');
    return row;
  }

  function issueToken(deviceId: number): { token: string; info: DeviceTokenInfo } {
    const token = newSecret('hd_');
    const row = db
      .insert(deviceTokens)
      .values({
        deviceId,
        tokenHash: sha256(token),
        prefix: token.slice(0, 8),
        createdAt: new Date(clock.now()),
      })
      .returning()
      .get();
    return { token, info: toTokenInfo(row) };
  }

  function toTokenInfo(row: typeof deviceTokens.$inferSelect): DeviceTokenInfo {
    return {
      id: row.id,
      prefix: row.prefix,
      createdAt: row.createdAt,
      lastUsedAt: row.lastUsedAt,
      revokedAt: row.revokedAt,
    };
  }

  return {
    list(): Device[] {
      return db.select().from(devices).orderBy(asc(devices.id)).all();
    },

    get: getRow,

    /** Creates the device and its first token in one transaction; the token is returned once. */
    create(input: { name: string; kind: DeviceKind; hardwareId?: string | undefined }): {
      device: Device;
      token: string;
    } {
      const parsed = newDeviceSchema.parse(input);
      const now = new Date(clock.now());
      const result = db.transaction(() => {
        let device: Device;
        try {
          device = db
            .insert(devices)
            .values({
              name: parsed.name,
              kind: parsed.kind,
              hardwareId: parsed.hardwareId ?? null,
              createdAt: now,
              updatedAt: now,
            })
            .returning()
            .get();
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
            throw conflict(`A device with hardware id "${parsed.hardwareId}" is already registered.`);
          throw error;
        }
        return { device, token: issueToken(device.id).token };
      });
      deps.systemEvents?.record({
        kind: 'device.added',
        severity: 'info',
        subject: `device:${result.device.id}`,
        message: `Device "${result.device.name}" (${result.device.kind}) added.`,
        details: { name: result.device.name, kind: result.device.kind },
      });
      deps.bus?.publish('devices', { change: 'added', device: result.device });
      return result;
    },

    remove(id: number): void {
      const device = getRow(id);
      db.delete(devices).where(eq(devices.id, id)).run();
      deps.systemEvents?.record({
        kind: 'device.removed',
        severity: 'info',
        subject: `device:${id}`,
        message: `Device "${device.name}" removed; its tokens no longer work.`,
        details: { name: device.name },
      });
      deps.bus?.publish('devices', { change: 'removed', id });
    },

    listTokens(deviceId: number): DeviceTokenInfo[] {
      getRow(deviceId);
      return db
        .select()
        .from(deviceTokens)
        .where(eq(deviceTokens.deviceId, deviceId))
        .orderBy(asc(deviceTokens.id))
        .all()
        .map(toTokenInfo);
    },

    createToken(deviceId: number): { token: string; info: DeviceTokenInfo } {
      getRow(deviceId);
      return issueToken(deviceId);
    },

    revokeToken(deviceId: number, tokenId: number): DeviceTokenInfo {
      const row = db
        .update(deviceTokens)
        .set({ revokedAt: new Date(clock.now()) })
        .where(and(eq(deviceTokens.id, tokenId), eq(deviceTokens.deviceId, deviceId)))
        .returning()
        .get();
      if (!row) throw notFound('Token');
      return toTokenInfo(row);
    },

    /** Resolves a bearer token to its device and records that the device was heard from. */
    authenticate(token: string): AuthedDevice | null {
      const row = db
        .select()
        .from(deviceTokens)
        .innerJoin(devices, eq(devices.id, deviceTokens.deviceId))
        .where(and(eq(deviceTokens.tokenHash, sha256(token)), isNull(deviceTokens.revokedAt)))
        .get();
      if (!row) return null;
      const now = clock.now();
      const device = row.devices;
      const wasOnline = device.status === 'online';
      if (!wasOnline || !device.lastSeenAt || now - device.lastSeenAt.getTime() > LAST_SEEN_WRITE_EVERY_MS) {
        db.transaction(() => {
          db.update(devices)
            .set({ lastSeenAt: new Date(now), status: 'online' })
            .where(eq(devices.id, device.id))
            .run();
          db.update(deviceTokens)
            .set({ lastUsedAt: new Date(now) })
            .where(eq(deviceTokens.id, row.device_tokens.id))
            .run();
        });
        if (!wasOnline) deps.bus?.publish('devices', { change: 'status', id: device.id, status: 'online' });
        if (device.status === 'offline')
          deps.systemEvents?.record({
            kind: 'device.online',
            severity: 'info',
            subject: `device:${device.id}`,
            message: `Device "${device.name}" is back.`,
            details: { name: device.name },
          });
      }
      return { id: device.id, name: device.name, kind: device.kind, tokenId: row.device_tokens.id };
    },

    /** Marks devices (of one kind, if given) unheard from for `silentMs` offline; returns the ones that changed. */
    markSilentOffline(silentMs: number, kind?: DeviceKind): Device[] {
      const changed = db
        .update(devices)
        .set({ status: 'offline', updatedAt: new Date(clock.now()) })
        .where(
          and(
            eq(devices.status, 'online'),
            lt(devices.lastSeenAt, new Date(clock.now() - silentMs)),
            kind ? eq(devices.kind, kind) : undefined,
          ),
        )
        .returning()
        .all();
      for (const device of changed) {
        deps.bus?.publish('devices', { change: 'status', id: device.id, status: 'offline' });
        deps.systemEvents?.record({
          kind: 'device.offline',
          severity: 'warning',
          subject: `device:${device.id}`,
          message: `Device "${device.name}" has not been heard from for ${Math.round(silentMs / 1000)} s.`,
          details: { name: device.name, seconds: Math.round(silentMs / 1000) },
        });
      }
      return changed;
    },
  };
}

export type DeviceService = ReturnType<typeof createDeviceService>;
