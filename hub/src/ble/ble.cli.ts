import { createCameraService } from '../cameras/cameras.service.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import { createDeviceService } from '../devices/devices.service.js';
import { EventBus } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { loadSigningKey } from '../firmware/signing.js';
import { AppError } from '../http/errors.js';
import { createLogger } from '../log/logger.js';
import { type AdoptionView, createAdoptionService } from './adoption.service.js';
import { slugOf } from './ble.routes.js';
import { BleError, createBleManager } from './ble-manager.js';
import { hubUrlsForCameras } from './hub-urls.js';
import { createWifiCredentials, wifiInputSchema } from './wifi-credentials.js';

const STEP_TEXT: Record<string, string> = {
  connecting: 'connecting over Bluetooth…',
  waiting_for_button: 'press the button on the camera (its LED is blinking)…',
  provisioning: 'sending the Wi-Fi settings; the camera is joining the network…',
  enrolling: 'giving the camera the hub address and its token…',
  waiting_for_contact: 'waiting for the camera to call in over Wi-Fi…',
  adopted: 'added.',
};

/**
 * `hearth ble …`: the same BLE manager and adoption the web UI uses, in this process (the running hub
 * sees the result in the shared database). Bluetooth operations of the two should not overlap.
 */
export async function bleCommand(
  action: string | undefined,
  args: {
    positionals: string[];
    name?: string | undefined;
    cameraId?: string | undefined;
    seconds?: string | undefined;
    password: () => string | null;
  },
  deps: { db: Db; config: Config },
): Promise<number> {
  const { db, config } = deps;
  const clock = systemClock;
  const bus = new EventBus(clock, 1);
  const log = createLogger('silent');
  const systemEvents = createSystemEvents({ db, clock, bus });
  const ble = createBleManager({ log, enabled: config.ble.enabled });
  const wifi = createWifiCredentials({ db, clock, secretsDir: config.secretsDir });
  const adoptions = createAdoptionService({
    db,
    clock,
    bus,
    log,
    ble,
    wifi,
    devices: createDeviceService({ db, clock, systemEvents }),
    cameras: createCameraService({ db, clock, bus, systemEvents }),
    systemEvents,
    hubUrls: () => hubUrlsForCameras(config.ble, config.server.port),
    signingKey: () => loadSigningKey(config.secretsDir).publicKeyHex,
    timeouts: { contactMs: config.ble.contactSeconds * 1000 },
  });
  try {
    switch (action) {
      case 'status': {
        const status = await ble.probe();
        console.log(
          status.state === 'ready'
            ? `bluetooth: ready (${status.adapter})`
            : `bluetooth: unavailable (${'reason' in status ? status.reason : ''})`,
        );
        const known = wifi.describe();
        console.log(`household Wi-Fi: ${known.ssid ?? '(not set: hearth ble wifi <ssid>)'}`);
        for (const a of adoptions.list(10))
          console.log(`#${a.id} ${a.address} "${a.name}" ${a.state}${a.error ? `: ${a.error}` : ''}`);
        return status.state === 'ready' ? 0 : 1;
      }
      case 'wifi': {
        const ssid = args.positionals[0];
        if (!ssid)
          throw new AppError(
            400,
            'invalid_input',
            'ble wifi needs the network name (SSID); the password comes on stdin',
          );
        wifi.save(wifiInputSchema.parse({ ssid, password: args.password() ?? '' }));
        console.log(`household Wi-Fi set to "${ssid}" (password sealed)`);
        return 0;
      }
      case 'scan': {
        const seconds = Number(args.seconds ?? 5);
        if (!(seconds >= 1 && seconds <= 60))
          throw new AppError(400, 'invalid_input', '--seconds must be 1–60');
        const cameras = await ble.scan(seconds * 1000);
        if (cameras.length === 0) console.log('(no camera found: is it powered and near the hub?)');
        for (const c of cameras)
          console.log(
            `${c.address}  ${String(c.rssi ?? '?').padStart(4)} dBm  ${c.name}  improv:${c.improv ?? '-'}${c.hearth ? '  hearth' : ''}`,
          );
        return 0;
      }
      case 'adopt': {
        const address = args.positionals[0];
        if (!address || !/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/.test(address))
          throw new AppError(
            400,
            'invalid_input',
            'ble adopt needs the camera’s address (from `hearth ble scan`)',
          );
        const name = args.name ?? 'Camera';
        let last = '';
        const finished = new Promise<AdoptionView>((resolve) => {
          bus.subscribe((event) => {
            if (event.topic !== 'ble') return;
            const adoption = (event.data as { adoption: AdoptionView }).adoption;
            if (adoption.state !== last) {
              last = adoption.state;
              if (STEP_TEXT[adoption.state]) console.log(STEP_TEXT[adoption.state]);
            }
            if (adoption.state === 'adopted' || adoption.state === 'failed') resolve(adoption);
          });
        });
        adoptions.start({ address, name, cameraId: args.cameraId ?? slugOf(name) });
        const timer = setInterval(() => adoptions.checkContact(), 1000);
        const result = await finished.finally(() => clearInterval(timer));
        if (result.state === 'failed') {
          console.error(`hearth: adding the camera failed (${result.errorCode}): ${result.error}`);
          return 1;
        }
        console.log(`camera "${result.name}" (${result.cameraId}) is part of the household now`);
        return 0;
      }
      default:
        throw new AppError(400, 'invalid_input', 'ble needs status, wifi, scan or adopt');
    }
  } catch (error) {
    if (error instanceof BleError) {
      console.error(`hearth: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await ble.stop();
  }
}
