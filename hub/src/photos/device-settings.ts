import { and, asc, desc, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { bleAddressOf } from '../ble/hardware-id.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import { conflict, notFound } from '../http/errors.js';
import {
  type CameraSettings,
  COMMAND_KINDS,
  type DeviceCommand,
  FRAME_SIZES,
  SETTING_LIMITS,
} from '../protocol/compact.js';
import { cameraDeviceSettings, deviceCommands } from './photos.schema.js';

const range = (name: keyof typeof SETTING_LIMITS) =>
  z.number().int().min(SETTING_LIMITS[name][0]).max(SETTING_LIMITS[name][1]);

/** What the owner may set for a battery camera; the same ranges the compact encoding carries. */
export const cameraSettingsSchema = z
  .object({
    frameSize: z.enum(FRAME_SIZES),
    jpegQuality: range('jpegQuality'),
    wakeIntervalSeconds: range('wakeIntervalSeconds'),
    pirEnabled: z.boolean(),
    burstLength: range('burstLength'),
  })
  .partial()
  .strict();

export const newCommandSchema = z
  .object({ kind: z.enum(COMMAND_KINDS), seconds: z.number().int().positive().max(604_800).optional() })
  .strict()
  .refine((c) => c.kind !== 'start_stream' || (c.seconds ?? 60) <= SETTING_LIMITS.streamSeconds[1], {
    message: 'a stream lasts at most 3600 s',
    path: ['seconds'],
  })
  .refine((c) => c.kind !== 'sleep' || c.seconds !== undefined, {
    message: 'sleep needs seconds',
    path: ['seconds'],
  })
  // It erases the camera's Wi-Fi and enrolment: only the owner, over Bluetooth, next to it.
  .refine((c) => c.kind !== 'factory_reset', {
    message: 'a factory reset is done by the owner over Bluetooth',
    path: ['kind'],
  });

/** Settings and commands waiting for a camera's next wake (delivered in the upload reply, or over BLE). */
export function createDeviceSettings(deps: { db: Db; clock: Clock; bus: EventBus }) {
  const { db, clock } = deps;

  function cameraDevice(deviceId: number) {
    const device = db.select().from(devices).where(eq(devices.id, deviceId)).get();
    if (!device) throw notFound('Device');
    if (device.kind !== 'camera') throw conflict('Only camera devices take camera settings and commands.');
    return device;
  }

  const settingsRow = (deviceId: number) =>
    db.select().from(cameraDeviceSettings).where(eq(cameraDeviceSettings.deviceId, deviceId)).get();
  /** Commands not yet acknowledged, oldest first. */
  const unacknowledged = (deviceId: number, limit = 100) =>
    db
      .select()
      .from(deviceCommands)
      .where(and(eq(deviceCommands.deviceId, deviceId), isNull(deviceCommands.ackedAt)))
      .orderBy(asc(deviceCommands.id))
      .limit(limit)
      .all();

  function read(deviceId: number) {
    const device = cameraDevice(deviceId);
    const row = settingsRow(deviceId);
    const pending = unacknowledged(deviceId);
    return {
      deviceId,
      settings: (row?.settings ?? {}) as CameraSettings,
      version: row?.version ?? 0,
      appliedVersion: row?.appliedVersion ?? 0,
      status: {
        batteryMv: device.batteryMv,
        rssi: device.rssi,
        firmware: device.firmware,
        lastWakeReason: device.lastWakeReason,
        lastWakeAt: device.lastWakeAt,
        lastSeenAt: device.lastSeenAt,
        /** Adopted over Bluetooth: reachable over GATT when in range and awake. */
        bluetooth: bleAddressOf(device.hardwareId) !== null,
        bleSeenAt: device.bleSeenAt,
      },
      pendingCommands: pending,
      /** The last commands carried out, with the way each reached the camera. */
      recentCommands: db
        .select()
        .from(deviceCommands)
        .where(and(eq(deviceCommands.deviceId, deviceId), isNotNull(deviceCommands.ackedAt)))
        .orderBy(desc(deviceCommands.id))
        .limit(5)
        .all(),
    };
  }

  return {
    read,
    /**
     * What goes to the camera on this contact (upload reply, later BLE): the settings when it reports
     * an older version than ours, and every command it has not acknowledged (at-least-once). The
     * first sending of each command is noted for the UI.
     */
    deliver(deviceId: number, reportedVersion: number | undefined, at: number) {
      const row = settingsRow(deviceId);
      // A factory reset goes only over Bluetooth, with the owner next to the camera.
      const commands = unacknowledged(deviceId, 20).filter((command) => command.kind !== 'factory_reset');
      if (commands.some((command) => command.firstSentAt === null))
        db.update(deviceCommands)
          .set({ firstSentAt: at })
          .where(
            and(
              inArray(
                deviceCommands.id,
                commands.map((command) => command.id),
              ),
              isNull(deviceCommands.firstSentAt),
            ),
          )
          .run();
      const settings =
        row && (reportedVersion === undefined || reportedVersion < row.version)
          ? { settingsVersion: row.version, ...(row.settings as CameraSettings) }
          : undefined;
      return {
        ...(settings ? { settings } : {}),
        commands: commands.map(
          (command) =>
            ({
              id: command.id,
              kind: command.kind,
              ...(command.seconds !== null ? { seconds: command.seconds } : {}),
            }) as DeviceCommand,
        ),
      };
    },
    /** Merges a change into the camera's settings and bumps the version it will see on its next wake. */
    update(deviceId: number, change: z.infer<typeof cameraSettingsSchema>) {
      cameraDevice(deviceId);
      const current = db
        .select()
        .from(cameraDeviceSettings)
        .where(eq(cameraDeviceSettings.deviceId, deviceId))
        .get();
      const settings = { ...((current?.settings ?? {}) as CameraSettings), ...change };
      const version = (current?.version ?? 0) + 1;
      db.insert(cameraDeviceSettings)
        .values({ deviceId, settings, version, updatedAt: clock.now() })
        .onConflictDoUpdate({
          target: cameraDeviceSettings.deviceId,
          set: { settings, version, updatedAt: clock.now() },
        })
        .run();
      deps.bus.publish('devices', { change: 'settings', id: deviceId, version });
      return read(deviceId);
    },
    queueCommand(deviceId: number, command: z.infer<typeof newCommandSchema>) {
      cameraDevice(deviceId);
      const seconds =
        command.kind === 'start_stream'
          ? (command.seconds ?? 60)
          : command.kind === 'sleep'
            ? command.seconds!
            : null;
      const row = db
        .insert(deviceCommands)
        .values({ deviceId, kind: command.kind, seconds, createdAt: clock.now() })
        .returning()
        .get();
      deps.bus.publish('devices', { change: 'command', id: deviceId, command: row });
      return row;
    },
  };
}

export type DeviceSettings = ReturnType<typeof createDeviceSettings>;
