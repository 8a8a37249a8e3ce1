import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFfmpegForOutput } from './ffmpeg.js';
import { DEMO_FONT_FILE, demoOverlay } from './recorder.js';

/**
 * A burst of real JPEGs from ffmpeg's test pattern, stamped with the UTC clock and a label (when Debian's
 * DejaVu font is there): what the virtual camera uploads, as an ESP32-CAM would its sensor's frames.
 */
export async function testPatternBurst(options: {
  count: number;
  width: number;
  height: number;
  /** esp32-camera's scale, 10 (best) – 63; mapped onto ffmpeg's 2–31. */
  jpegQuality?: number;
  label?: string;
  timeoutMs?: number;
}): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-burst-'));
  try {
    const quality = Math.round(2 + ((Math.min(63, Math.max(10, options.jpegQuality ?? 12)) - 10) / 53) * 29);
    const overlay = demoOverlay(options.label ?? '', options.height, DEMO_FONT_FILE);
    await runFfmpegForOutput(
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${options.width}x${options.height}:rate=5`,
        ...(overlay ? ['-vf', overlay.join(',')] : []),
        '-frames:v',
        String(options.count),
        '-pix_fmt',
        'yuvj420p',
        '-q:v',
        String(quality),
        path.join(dir, '%03d.jpg'),
      ],
      options.timeoutMs ?? 30_000,
    );
    const names = (await readdir(dir)).filter((name) => name.endsWith('.jpg')).sort();
    return await Promise.all(names.map((name) => readFile(path.join(dir, name))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
