/**
 * Motion gating: cheap frame differencing on a small grey picture (160 px wide), so a detector runs only
 * while something in the picture changes. Pure: pictures in, a verdict out; the caller owns time and I/O.
 *
 * - A running background average (per pixel, float) is compared with each frame; a pixel counts as changed
 *   when it differs by more than `pixelThreshold` grey levels.
 * - Lighting: the difference of the frame's mean and the background's mean (over unmasked pixels) is
 *   subtracted first, so a light switched on or a camera's auto-exposure step (a uniform offset) changes
 *   nothing. A change over more than `sceneChangeFraction` of the picture (a lamp lighting half the room,
 *   day/night mode switching to infrared) is taken as a new scene: the background is replaced by the
 *   frame and the gate does not open for it. The price: someone filling most of the picture in one step
 *   is missed for that one frame (the next frame differs from the new background again).
 * - Masked areas (rectangles or polygons in normalised coordinates: a tree in the wind, a TV, a road) are
 *   neither counted nor part of the lighting mean.
 * - Changed pixels below `minChangedFraction` of the unmasked area are sensor noise or a moth, not motion.
 * - The gate stays open `holdMs` after the last frame with motion, so a person pausing mid-room keeps it
 *   open; the background keeps learning meanwhile, so someone who stays still merges into it.
 */
import { z } from 'zod';

const unit = z.number().min(0).max(1);
const pointSchema = z.tuple([unit, unit]);

export const maskShapeSchema = z.union([
  z.object({ rect: z.tuple([unit, unit, unit, unit]) }).strict(),
  z.object({ polygon: z.array(pointSchema).min(3).max(64) }).strict(),
]);
export type MaskShape = z.infer<typeof maskShapeSchema>;

export const motionGateConfigSchema = z
  .object({
    /** Grey levels (0–255) a pixel must differ from the background, after lighting compensation. */
    pixelThreshold: z.number().int().min(1).max(255).default(25),
    /** Changed share of the unmasked picture below which nothing is reported (the minimum area). */
    minChangedFraction: unit.default(0.004),
    /** Above this share of changed pixels the scene itself changed (lights, IR mode): re-learn, no motion. */
    sceneChangeFraction: unit.default(0.6),
    /** Weight of each new frame in the background average (0.05 at 2 fps: a ~10 s memory). */
    learningRate: z.number().gt(0).max(1).default(0.05),
    holdMs: z.number().int().min(0).max(60_000).default(3000),
    /** Areas where changes are ignored, x/y as fractions of the width/height, rect as [x, y, w, h]. */
    mask: z.array(maskShapeSchema).max(32).default([]),
  })
  .strict();
export type MotionGateConfig = z.infer<typeof motionGateConfigSchema>;

export interface GreyFrame {
  width: number;
  height: number;
  /** One byte per pixel, row-major. */
  pixels: Uint8Array;
}

/** Normalised to the picture: 0..1 on both axes. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface MotionResult {
  at: number;
  /** Share of the unmasked pixels that changed (after lighting compensation). */
  changedFraction: number;
  /** The gate: open on motion and for `holdMs` after it. */
  motion: boolean;
  /** Where this frame changed (absent when it did not, even while the hold keeps the gate open). */
  box?: Box;
  /** The frame was taken as a new scene (see above) and became the background. */
  sceneChange?: boolean;
}

export function createMotionGate(input: z.input<typeof motionGateConfigSchema> = {}) {
  const config = motionGateConfigSchema.parse(input);
  let background: Float32Array | undefined;
  let mask: Uint8Array | undefined;
  let unmasked = 0;
  let width = 0;
  let height = 0;
  let openUntil = Number.NEGATIVE_INFINITY;

  function reset(frame: GreyFrame) {
    width = frame.width;
    height = frame.height;
    mask = rasterMask(config.mask, width, height);
    unmasked = mask.reduce((n, m) => n + (m ? 0 : 1), 0);
    background = Float32Array.from(frame.pixels);
  }

  return {
    config,
    /** Frames must be given in time order; a new size starts over (the first frame only learns). */
    push(frame: GreyFrame, at: number): MotionResult {
      if (frame.pixels.length !== frame.width * frame.height)
        throw new Error(
          `a ${frame.width}×${frame.height} grey frame needs ${frame.width * frame.height} bytes`,
        );
      if (!background || !mask || frame.width !== width || frame.height !== height) {
        reset(frame);
        return { at, changedFraction: 0, motion: false };
      }
      if (unmasked === 0) return { at, changedFraction: 0, motion: false };
      const bg = background;
      const px = frame.pixels;
      let frameSum = 0;
      let backgroundSum = 0;
      for (let i = 0; i < px.length; i++) {
        if (mask[i]) continue;
        frameSum += px[i]!;
        backgroundSum += bg[i]!;
      }
      const offset = (frameSum - backgroundSum) / unmasked;
      const threshold = config.pixelThreshold;
      const rows = new Uint32Array(height);
      const cols = new Uint32Array(width);
      let changed = 0;
      for (let y = 0, i = 0; y < height; y++) {
        for (let x = 0; x < width; x++, i++) {
          const value = px[i]!;
          if (!mask[i]) {
            const diff = value - offset - bg[i]!;
            if (diff > threshold || diff < -threshold) {
              changed++;
              rows[y]!++;
              cols[x]!++;
            }
          }
          bg[i]! += config.learningRate * (value - bg[i]!);
        }
      }
      const changedFraction = changed / unmasked;
      if (changedFraction > config.sceneChangeFraction) {
        bg.set(px);
        openUntil = Number.NEGATIVE_INFINITY;
        return { at, changedFraction, motion: false, sceneChange: true };
      }
      if (changedFraction >= config.minChangedFraction && changed > 0) {
        openUntil = at + config.holdMs;
        return { at, changedFraction, motion: true, box: boxOf(rows, cols, width, height) };
      }
      return { at, changedFraction, motion: at <= openUntil };
    },
  };
}

export type MotionGate = ReturnType<typeof createMotionGate>;

/**
 * The extent of the change: rows and columns holding at least two changed pixels, so that a stray noisy
 * pixel far from the moving thing does not stretch the box (falls back to one when nothing has two).
 */
function boxOf(rows: Uint32Array, cols: Uint32Array, width: number, height: number): Box {
  const span = (counts: Uint32Array, min: number): [number, number] | null => {
    let first = -1;
    let last = -1;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i]! < min) continue;
      if (first < 0) first = i;
      last = i;
    }
    return first < 0 ? null : [first, last];
  };
  const xs = span(cols, 2) ?? span(cols, 1)!;
  const ys = span(rows, 2) ?? span(rows, 1)!;
  return {
    x: xs[0] / width,
    y: ys[0] / height,
    w: (xs[1] - xs[0] + 1) / width,
    h: (ys[1] - ys[0] + 1) / height,
  };
}

/** 1 where a pixel's centre lies in a mask shape. */
export function rasterMask(shapes: readonly MaskShape[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const shape of shapes) {
    for (let y = 0; y < height; y++) {
      const cy = (y + 0.5) / height;
      for (let x = 0; x < width; x++) {
        const cx = (x + 0.5) / width;
        if ('rect' in shape) {
          const [rx, ry, rw, rh] = shape.rect;
          if (cx >= rx && cx < rx + rw && cy >= ry && cy < ry + rh) mask[y * width + x] = 1;
        } else if (insidePolygon(shape.polygon, cx, cy)) mask[y * width + x] = 1;
      }
    }
  }
  return mask;
}

function insidePolygon(points: readonly (readonly [number, number])[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * A grey picture `width` pixels wide from a decoded one (grey or RGB), each output pixel the mean of the
 * source pixels it covers (so noise averages out rather than aliasing). Luma weights of BT.601.
 */
export function greyThumbnail(
  source: { width: number; height: number; channels: 1 | 3; pixels: Uint8Array },
  width: number,
): GreyFrame {
  const outWidth = Math.min(width, source.width);
  const outHeight = Math.max(1, Math.round((source.height * outWidth) / source.width));
  const pixels = new Uint8Array(outWidth * outHeight);
  const sx = source.width / outWidth;
  const sy = source.height / outHeight;
  const ch = source.channels;
  const src = source.pixels;
  for (let y = 0; y < outHeight; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < outWidth; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) {
        let i = (yy * source.width + x0) * ch;
        for (let xx = x0; xx < x1; xx++, i += ch)
          sum += ch === 1 ? src[i]! : 0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!;
      }
      pixels[y * outWidth + x] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
    }
  }
  return { width: outWidth, height: outHeight, pixels };
}
