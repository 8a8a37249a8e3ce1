import { and, eq, isNull, lte } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log/logger.js';
import type { DeviceSettings } from '../photos/device-settings.js';
import { cameraDeviceSettings, deviceCommands } from '../photos/photos.schema.js';
import type { CameraStatusReport } from '../protocol/compact.js';
import { BleError, type BleManager } from './ble-manager.js';
import { hearthClient } from './hearth-client.js';

/** A device adopted over Bluetooth carries its address in its hardware id. */
export const bleAddressOf = (hardwareId: string | null): string | null =>
  hardwareId?.startsWith('ble:') ? hardwareId.slice(4) : null;

/**
 * Settings and commands over GATT when the camera is in range and awake; otherwise they stay queued
 * and ride on the reply to its next upload (the photo issue's channel). Whichever way a command went
 * is recorded on it, and the camera's status notification updates the device.
 */
export function createBleControl(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  ble: BleManager;
  deviceSettings: DeviceSettings;
}) {
  const { db, clock } = deps;
  const inFlight = new Map<number, Promise<'ble' | 'unreachable' | 'not_ble'>>();

  function record(deviceId: number, status: CameraStatusReport): void {
    const now = clock.now();
    db.transaction((tx) => {
      tx.update(devices)
        .set({
          ...(status.batteryMv !== undefined ? { batteryMv: status.batteryMv } : {}),
          ...(status.rssi !== undefined ? { rssi: status.rssi } : {}),
          ...(status.firmware !== undefined ? { firmware: status.firmware } : {}),
          bleSeenAt: now,
        })
        .where(eq(devices.id, deviceId))
        .run();
      if (status.lastCommandId)
        tx.update(deviceCommands)
          .set({ ackedAt: now, deliveredVia: 'ble' })
          .where(
            and(
              eq(deviceCommands.deviceId, deviceId),
              lte(deviceCommands.id, status.lastCommandId),
              isNull(deviceCommands.ackedAt),
            ),
          )
          .run();
      if (status.settingsVersion !== undefined)
        tx.update(cameraDeviceSettings)
          .set({ appliedVersion: status.settingsVersion })
          .where(eq(cameraDeviceSettings.deviceId, deviceId))
          .run();
    });
    deps.bus.publish('devices', { change: 'ble', id: deviceId });
  }

  async function syncNow(deviceId: number): Promise<'ble' | 'unreachable' | 'not_ble'> {
    const device = db.select().from(devices).where(eq(devices.id, deviceId)).get();
    const address = bleAddressOf(device?.hardwareId ?? null);
    if (!address) return 'not_ble';
    if (deps.ble.status().state !== 'ready') return 'unreachable';
    try {
      await deps.ble.withLink(address, async (link) => {
        const before = await hearthClient.readStatus(link);
        const pending = deps.deviceSettings.deliver(deviceId, before.settingsVersion, clock.now());
        if (pending.settings) await hearthClient.writeSettings(link, pending.settings);
        if (pending.commands.length) await hearthClient.sendCommands(link, pending.commands);
        record(deviceId, await hearthClient.readStatus(link));
      });
      return 'ble';
    } catch (error) {
      if (!(error instanceof BleError)) throw error;
      deps.log.info(
        { deviceId, code: error.code },
        'camera not reachable over Bluetooth; its next upload carries the work',
      );
      return 'unreachable';
    }
  }

  return {
    /**
     * Tries to hand the camera its waiting settings and commands over Bluetooth now; one attempt per
     * device at a time (a second call joins the first).
     */
    sync(deviceId: number): Promise<'ble' | 'unreachable' | 'not_ble'> {
      const running = inFlight.get(deviceId);
      if (running) return running;
      const attempt = syncNow(deviceId).finally(() => inFlight.delete(deviceId));
      inFlight.set(deviceId, attempt);
      return attempt;
    },
  };
}

export type BleControl = ReturnType<typeof createBleControl>;
