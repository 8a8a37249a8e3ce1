import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../media/fixtures/media-fixtures.js';
import { createMotionGate, type GreyFrame, greyThumbnail, rasterMask } from './motion.js';

const W = 160;
const H = 90;

/** A grey scene: level `base` with ±`noise` sensor noise, and optional filled squares. */
function scene(
  random: () => number,
  options: {
    base?: number;
    noise?: number;
    squares?: { x: number; y: number; size: number; level: number }[];
  } = {},
): GreyFrame {
  const { base = 100, noise = 8, squares = [] } = options;
  const pixels = new Uint8Array(W * H);
  for (let i = 0; i < pixels.length; i++) pixels[i] = base + Math.round((random() * 2 - 1) * noise);
  for (const s of squares)
    for (let y = s.y; y < s.y + s.size; y++)
      for (let x = s.x; x < s.x + s.size; x++)
        pixels[y * W + x] = s.level + Math.round((random() * 2 - 1) * noise);
  return { width: W, height: H, pixels };
}

describe('motion gate', () => {
  it('static noise never opens the gate', () => {
    const random = prng(1);
    const gate = createMotionGate();
    for (let t = 0; t < 200; t++) {
      const result = gate.push(scene(random, { noise: 12 }), t * 500);
      assert.equal(result.motion, false, `frame ${t}: ${result.changedFraction}`);
      assert.equal(result.box, undefined);
    }
  });

  it('a moving square opens it, with a box around the square', () => {
    const random = prng(2);
    const gate = createMotionGate();
    for (let t = 0; t < 10; t++) assert.equal(gate.push(scene(random), t * 500).motion, false);
    for (let step = 0; step < 8; step++) {
      const square = { x: 20 + step * 12, y: 30, size: 16, level: 200 };
      const frame = scene(random, { squares: [square] });
      // Hot pixels (salt noise) far from the square must not stretch its box.
      for (let k = 0; k < 4; k++) frame.pixels[Math.floor(random() * W * H)] = 255;
      const result = gate.push(frame, 5000 + step * 500);
      assert.equal(result.motion, true, `step ${step}`);
      const box = result.box!;
      // The change is where the square is now (the background has barely learnt where it was).
      assert.ok(Math.abs(box.x - square.x / W) <= 1 / W, `x ${box.x * W} vs ${square.x}`);
      assert.ok(Math.abs(box.y - square.y / H) <= 1 / H, `y ${box.y * H}`);
      assert.ok(Math.abs(box.w - square.size / W) <= 2 / W, `w ${box.w * W}`);
      assert.ok(Math.abs(box.h - square.size / H) <= 2 / H, `h ${box.h * H}`);
    }
  });

  it('holds the gate open for holdMs after the last motion, then closes it', () => {
    const random = prng(3);
    const gate = createMotionGate({ holdMs: 3000 });
    for (let t = 0; t < 10; t++) gate.push(scene(random), t * 500);
    const moved = gate.push(scene(random, { squares: [{ x: 50, y: 40, size: 20, level: 220 }] }), 10_000);
    assert.equal(moved.motion, true);
    // The square leaves; the next frame still differs where it was (background learnt 5 % of it) — then quiet.
    const verdicts = [10_500, 11_000, 12_000, 13_000, 13_500].map(
      (at) => [at, gate.push(scene(random), at)] as const,
    );
    for (const [at, result] of verdicts) {
      assert.equal(result.box, undefined, `no change at ${at}`);
      assert.equal(result.motion, at <= 13_000, `gate at ${at}`);
    }
  });

  it('motion only inside a masked rectangle or polygon is ignored; outside it is not', () => {
    const random = prng(4);
    const gate = createMotionGate({
      mask: [
        { rect: [0, 0, 0.5, 1] },
        {
          polygon: [
            [0.6, 0.6],
            [1, 0.6],
            [1, 1],
            [0.6, 1],
          ],
        },
      ],
    });
    for (let t = 0; t < 5; t++) gate.push(scene(random), t * 500);
    for (let step = 0; step < 6; step++) {
      const inRect = { x: 5 + step * 8, y: 10, size: 20, level: 230 };
      const inPolygon = { x: 110 + step * 5, y: 60, size: 20, level: 10 };
      const result = gate.push(scene(random, { squares: [inRect, inPolygon] }), 3000 + step * 500);
      assert.equal(result.motion, false, `step ${step}: ${result.changedFraction}`);
    }
    const outside = gate.push(scene(random, { squares: [{ x: 100, y: 10, size: 16, level: 230 }] }), 7000);
    assert.equal(outside.motion, true);
  });

  it('a light switched on (uniform step) is compensated; a partial one is a new scene, then quiet', () => {
    const random = prng(5);
    const gate = createMotionGate();
    for (let t = 0; t < 10; t++) gate.push(scene(random, { base: 60 }), t * 500);
    const brighter = gate.push(scene(random, { base: 140 }), 5000);
    assert.equal(brighter.motion, false, `uniform step: ${brighter.changedFraction}`);
    // Compensated, not merely re-learnt: hardly a pixel counts as changed.
    assert.equal(brighter.sceneChange, undefined);
    assert.ok(brighter.changedFraction < 0.001, `${brighter.changedFraction}`);
    for (let t = 1; t < 5; t++)
      assert.equal(gate.push(scene(random, { base: 140 }), 5000 + t * 500).motion, false);

    // A lamp lighting three quarters of the room: not uniform, so not compensated — taken as a new scene.
    const lamp = () => {
      const frame = scene(random, { base: 140 });
      for (let i = 0; i < (frame.pixels.length * 3) / 4; i++) frame.pixels[i] = 240;
      return frame;
    };
    const lit = gate.push(lamp(), 8000);
    assert.equal(lit.sceneChange, true);
    assert.equal(lit.motion, false);
    for (let t = 1; t < 5; t++)
      assert.equal(gate.push(lamp(), 8000 + t * 500).motion, false, `after lamp ${t}`);
    // …and real motion in the new scene is still seen.
    const after = lamp();
    for (let y = 70; y < 86; y++) for (let x = 10; x < 26; x++) after.pixels[y * W + x] = 20;
    assert.equal(gate.push(after, 11_000).motion, true);
  });

  it('below the minimum area is not motion', () => {
    const random = prng(6);
    const gate = createMotionGate({ minChangedFraction: 0.01 });
    for (let t = 0; t < 5; t++) gate.push(scene(random), t * 500);
    // 9×9 = 81 px = 0.56 % of the picture.
    const small = gate.push(scene(random, { squares: [{ x: 80, y: 40, size: 9, level: 250 }] }), 3000);
    assert.equal(small.motion, false);
    assert.ok(small.changedFraction > 0.004);
  });

  it('greyThumbnail averages blocks of an RGB picture; rasterMask covers pixel centres', () => {
    const rgb = Buffer.alloc(640 * 360 * 3);
    for (let y = 0; y < 360; y++)
      for (let x = 0; x < 640; x++) rgb.set(x < 320 ? [255, 255, 255] : [0, 0, 255], (y * 640 + x) * 3);
    const grey = greyThumbnail({ width: 640, height: 360, channels: 3, pixels: rgb }, 160);
    assert.deepEqual([grey.width, grey.height], [160, 90]);
    assert.equal(grey.pixels[0], 255);
    assert.equal(grey.pixels[159], 29); // 0.114 × 255
    const mask = rasterMask([{ rect: [0.5, 0.5, 0.5, 0.5] }], 4, 4);
    assert.deepEqual([...mask], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  });
});
