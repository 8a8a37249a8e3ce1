import { open } from 'node:fs/promises';
import sharp from 'sharp';

/** Largest side a camera can send: esp32-camera's UXGA is 1600×1200; leave room for other sensors. */
export const MAX_SIDE = 4096;
export const MIN_SIDE = 16;

export class InvalidJpeg extends Error {}

async function ends(file: string): Promise<{ head: Buffer; tail: Buffer; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(3);
    const tail = Buffer.alloc(2);
    if (size >= 3) await handle.read(head, 0, 3, 0);
    if (size >= 2) await handle.read(tail, 0, 2, size - 2);
    return { head, tail, size };
  } finally {
    await handle.close();
  }
}

/**
 * A complete, decodable JPEG of sane dimensions, or InvalidJpeg saying what is wrong. The markers catch
 * a cut-off upload cheaply; the decode catches one whose end marker was there but whose data is not.
 */
export async function checkJpeg(file: string): Promise<{ width: number; height: number }> {
  const { head, tail, size } = await ends(file);
  if (size === 0) throw new InvalidJpeg('is empty');
  if (head[0] !== 0xff || head[1] !== 0xd8 || head[2] !== 0xff)
    throw new InvalidJpeg('is not a JPEG (no SOI marker)');
  if (tail[0] !== 0xff || tail[1] !== 0xd9) throw new InvalidJpeg('is truncated (no EOI marker at the end)');
  let width: number | undefined;
  let height: number | undefined;
  try {
    // libjpeg fills a scan cut short with grey and only warns ("premature end of data segment"), so
    // any warning refuses the photo; the firmware trims its frame at the end marker, so clean JPEGs pass.
    const image = sharp(file, { failOn: 'warning', limitInputPixels: MAX_SIDE * MAX_SIDE });
    const metadata = await image.metadata();
    if (metadata.format !== 'jpeg')
      throw new InvalidJpeg(`is ${metadata.format ?? 'not an image'}, not JPEG`);
    width = metadata.width;
    height = metadata.height;
    // Decode all of the image data: metadata alone reads only the header. libjpeg's shrink-on-load
    // (1/8 scale) still entropy-decodes every block, so a cut or corrupt scan fails just the same, at
    // a fifth of the cost of a full-size decode (the camera is awake until we answer).
    if (width && height)
      await image
        .resize({ width: Math.max(1, Math.ceil(width / 8)), fastShrinkOnLoad: true })
        .raw()
        .toBuffer();
  } catch (error) {
    if (error instanceof InvalidJpeg) throw error;
    throw new InvalidJpeg(`does not decode (${(error as Error).message.split('\n')[0]})`);
  }
  if (!width || !height || width < MIN_SIDE || height < MIN_SIDE || width > MAX_SIDE || height > MAX_SIDE)
    throw new InvalidJpeg(`has unusable dimensions ${width}×${height}`);
  return { width, height };
}
