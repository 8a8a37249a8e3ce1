import { createHash } from 'node:crypto';

/**
 * Bytes laid out as an ESP-IDF application image (what `pio run` leaves in firmware.bin): the 24-byte
 * image header, one segment starting with the 256-byte application description, the Hearth version
 * marker, filler, the checksum padding and the SHA-256 the build appends. What the hub checks on
 * upload; the camera's bootloader is not here to run it.
 */
export function esp32Image(
  options: { version?: string | null; bytes?: number; chipId?: number; seed?: number } = {},
) {
  const total = options.bytes ?? 64 * 1024;
  const description = Buffer.alloc(256);
  description.writeUInt32LE(0xabcd5432, 0);
  description.write('arduino-lib-builder', 16, 'latin1');
  description.write('hearth-camera', 48, 'latin1');
  const marker =
    options.version === null
      ? Buffer.alloc(0)
      : Buffer.from(`HEARTH-FIRMWARE-VERSION=${options.version ?? '1.4.0'}\0`, 'latin1');
  const segmentLength = Math.max(256 + marker.length, total - 24 - 8 - 16 - 32) & ~3;
  const segment = Buffer.alloc(segmentLength);
  description.copy(segment, 0);
  marker.copy(segment, 256);
  let state = options.seed ?? 1;
  for (let i = 256 + marker.length; i < segmentLength; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    segment[i] = state >>> 24;
  }
  const header = Buffer.alloc(24);
  header[0] = 0xe9;
  header[1] = 1;
  header[2] = 2; // DIO
  header[3] = 0x20; // 40 MHz, 4 MB
  header.writeUInt32LE(0x400d1f2c, 4);
  header[8] = 0xee;
  header.writeUInt16LE(options.chipId ?? 0, 12);
  header[23] = 1; // a SHA-256 is appended
  const segmentHeader = Buffer.alloc(8);
  segmentHeader.writeUInt32LE(0x3f400020, 0);
  segmentHeader.writeUInt32LE(segmentLength, 4);
  let checksum = 0xef;
  for (const byte of segment) checksum ^= byte;
  const unpadded = 24 + 8 + segmentLength;
  const padding = Buffer.alloc(16 - (unpadded % 16));
  padding[padding.length - 1] = checksum;
  const body = Buffer.concat([header, segmentHeader, segment, padding]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}
