import { createHash } from 'node:crypto';
import { AppError } from '../http/errors.js';

/** One OTA slot of the partition table the firmware ships (firmware/partitions.csv: 0x1A0000). */
export const MAX_IMAGE_BYTES = 0x1a0000;
/** The firmware carries `HEARTH-FIRMWARE-VERSION=<version>\0` (firmware/src/version.cpp). */
export const VERSION_MARKER = 'HEARTH-FIRMWARE-VERSION=';
/** Dotted numbers, 1 to 4 parts: what both the hub and the camera compare. */
export const VERSION_PATTERN = /^\d{1,6}(\.\d{1,6}){0,3}$/;

const IMAGE_MAGIC = 0xe9;
const APP_DESC_MAGIC = 0xabcd5432;
const ESP32_CHIP_ID = 0x0000;

/** Compares dotted versions part by part as numbers (`1.10` > `1.9`; `1.2` = `1.2.0`); null if either is not one. */
export function compareVersions(a: string, b: string): number | null {
  if (!VERSION_PATTERN.test(a) || !VERSION_PATTERN.test(b)) return null;
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

const refuse = (message: string) => new AppError(422, 'invalid_firmware', message);

/**
 * Checks that a file is an ESP32 application image the camera's bootloader would accept (ESP-IDF's image
 * header, the application description, the SHA-256 the build appends) and reads the Hearth version
 * marker from it. Refuses with 422 and the reason otherwise.
 */
export function inspectImage(data: Buffer): { version: string | null; sha256: string } {
  if (data.length > MAX_IMAGE_BYTES)
    throw refuse(`The image is ${data.length} bytes; an OTA slot holds ${MAX_IMAGE_BYTES}.`);
  if (data.length < 256) throw refuse('The file is too short to be an ESP32 application image.');
  if (data[0] !== IMAGE_MAGIC)
    throw refuse('Not an ESP32 application image (it does not start with 0xE9). Upload firmware.bin.');
  const segments = data[1]!;
  if (segments < 1 || segments > 16) throw refuse(`The image header claims ${segments} segments.`);
  const chip = data.readUInt16LE(12);
  if (chip !== ESP32_CHIP_ID)
    throw refuse(`The image is built for another chip (id ${chip}), not the ESP32.`);
  // esp_app_desc_t follows the 24-byte image header and the first 8-byte segment header.
  if (data.readUInt32LE(32) !== APP_DESC_MAGIC)
    throw refuse('The image has no application description: not an ESP-IDF/Arduino application.');
  if (data[23] === 1) {
    const body = data.subarray(0, data.length - 32);
    const appended = data.subarray(data.length - 32);
    if (!createHash('sha256').update(body).digest().equals(appended))
      throw refuse('The image is truncated or damaged: its appended SHA-256 does not match.');
  }
  return { version: readVersionMarker(data), sha256: createHash('sha256').update(data).digest('hex') };
}

function readVersionMarker(data: Buffer): string | null {
  const at = data.indexOf(VERSION_MARKER, 0, 'latin1');
  if (at < 0) return null;
  const start = at + VERSION_MARKER.length;
  const end = data.indexOf(0, start);
  const version = data.subarray(start, end < 0 ? start : Math.min(end, start + 33)).toString('latin1');
  if (!VERSION_PATTERN.test(version))
    throw refuse(`The image's version marker "${version.slice(0, 32)}" is not a dotted version like 1.4.0.`);
  return version;
}
