import { ChunkJoiner, chunk } from '../protocol/ble-chunks.js';
import {
  type CameraSettings,
  type CameraStatusReport,
  type DeviceCommand,
  decodeSettings,
  decodeStatus,
  type Enrolment,
  encodeCommands,
  encodeEnrolment,
  encodeSettings,
} from '../protocol/compact.js';
import { HEARTH_CHARACTERISTICS, HEARTH_SERVICE } from '../protocol/hearth-gatt.js';
import type { BleLink } from './ble-manager.js';

/** Writes one value as chunks, each within the smallest ATT MTU. */
async function writeValue(link: BleLink, uuid: string, value: Uint8Array): Promise<void> {
  for (const piece of chunk(value)) await link.write(HEARTH_SERVICE, uuid, piece);
}

/** The hub's side of the Hearth camera service over one BLE link. */
export const hearthClient = {
  enrol: (link: BleLink, enrolment: Enrolment) =>
    writeValue(link, HEARTH_CHARACTERISTICS.enrolment, encodeEnrolment(enrolment)),
  sendCommands: (link: BleLink, commands: DeviceCommand[]) =>
    writeValue(link, HEARTH_CHARACTERISTICS.command, encodeCommands(commands)),
  writeSettings: (link: BleLink, settings: CameraSettings) =>
    writeValue(link, HEARTH_CHARACTERISTICS.settings, encodeSettings(settings)),
  async readSettings(link: BleLink): Promise<CameraSettings> {
    return decodeSettings(await link.read(HEARTH_SERVICE, HEARTH_CHARACTERISTICS.settings));
  },
  async readStatus(link: BleLink): Promise<CameraStatusReport> {
    return decodeStatus(await link.read(HEARTH_SERVICE, HEARTH_CHARACTERISTICS.status));
  },
  /** Status notifications, joined from their chunks; a damaged one is reported, not thrown. */
  subscribeStatus(
    link: BleLink,
    listener: (status: CameraStatusReport) => void,
    onError: (error: Error) => void = () => {},
  ) {
    const joiner = new ChunkJoiner();
    return link.subscribe(HEARTH_SERVICE, HEARTH_CHARACTERISTICS.status, (value) => {
      try {
        const whole = joiner.push(value);
        if (whole) listener(decodeStatus(whole));
      } catch (error) {
        onError(error as Error);
      }
    });
  },
};
