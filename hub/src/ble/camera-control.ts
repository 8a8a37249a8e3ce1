import { and, eq, isNull, lte } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import type { DeviceSettings } from '../photos/device-settings.js';
import { cameraDeviceSettings, deviceCommands } from '../photos/photos.schema.js';
import type { CameraStatusReport } from '../protocol/compact.js';
import { BleError, type BleManager } from './ble-manager.js';
import { bleAddressOf } from './hardware-id.js';
import { hearthClient } from './hearth-client.js';
import { openImprov } from './improv-client.js';
import type { WifiCredentials } from './wifi-credentials.js';

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
  wifi: WifiCredentials;
  /** Retires a device (its tokens with it). */
  removeDevice: (deviceId: number) => void;
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

  function addressFor(deviceId: number): string {
    const device = db.select().from(devices).where(eq(devices.id, deviceId)).get();
    if (!device) throw notFound('Device');
    const address = bleAddressOf(device.hardwareId);
    if (!address) throw conflict('This camera was not added over Bluetooth.');
    return address;
  }

  return {
    /**
     * Erases the camera's Wi-Fi and enrolment (it advertises for adoption again), then retires its
     * device here: its tokens stop working. Its camera and photos stay.
     */
    async factoryReset(deviceId: number): Promise<void> {
      const address = addressFor(deviceId);
      // A command record of its own (the id the camera acknowledges), never left to an upload reply.
      const { id } = deps.deviceSettings.queueCommand(deviceId, { kind: 'factory_reset' });
      try {
        await deps.ble.withLink(address, (link) =>
          hearthClient.sendCommands(link, [{ id, kind: 'factory_reset' }]),
        );
      } catch (error) {
        db.delete(deviceCommands).where(eq(deviceCommands.id, id)).run();
        throw error;
      }
      deps.removeDevice(deviceId);
    },
    /** Gives the camera the household Wi-Fi again (after the router changed), over Improv. */
    async reprovision(deviceId: number, buttonMs: number): Promise<string[]> {
      const address = addressFor(deviceId);
      const wifi = deps.wifi.reveal();
      if (!wifi) throw new AppError(409, 'no_wifi', 'Enter the household Wi-Fi first.');
      return deps.ble.withLink(address, async (link) => {
        const improv = await openImprov(link);
        if (improv.state() === 'authorization_required') {
          await improv.identify();
          await improv.authorized(buttonMs);
        }
        return improv.provision(wifi.ssid, wifi.password, 30_000);
      });
    },
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
