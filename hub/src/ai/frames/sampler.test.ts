import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createMjpegUpstream } from '../../cameras/mjpeg-upstream.js';
import { systemClock } from '../../clock.js';
import { createLogger } from '../../log/logger.js';
import { waitFor } from '../../media/fixtures/media-fixtures.js';
import { type FakeMjpegCamera, startFakeMjpegCamera } from '../../testing/fake-mjpeg-camera.js';
import { createMotionGate } from './motion.js';
import { createFrameQueue } from './queue.js';
import { createFrameSampler, type SampledFrame } from './sampler.js';

const run = promisify(execFile);
const FPS = 10;
const SCENE_SECONDS = 8;

/**
 * The demo scene, written independently of the gate's parameters: a flat wall with temporal sensor noise for
 * 3 s, a white box crossing it from 3 s to 5 s, the wall again until 8 s. A 40×40 marker in the top-right
 * corner is white exactly while the box moves: the ground truth travels inside each picture (so the test
 * needs no timing), and the gate is told to ignore that corner (its mask).
 */
async function sceneJpegs(): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-scene-'));
  try {
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `color=c=0x5a6e82:s=640x480:r=${FPS}:d=${SCENE_SECONDS}`,
      '-f',
      'lavfi',
      '-i',
      `color=c=white:s=80x80:r=${FPS}`,
      '-filter_complex',
      "[0][1]overlay=x='if(between(t,3,5),40+(t-3)*200,-200)':y=200:shortest=1," +
        'noise=alls=8:allf=t,' +
        "drawbox=x=600:y=0:w=40:h=40:color=black:t=fill,drawbox=x=600:y=0:w=40:h=40:color=white:t=fill:enable='between(t,3,5)'",
      '-q:v',
      '5',
      '-f',
      'image2',
      path.join(dir, '%03d.jpg'),
    ]);
    const names = (await readdir(dir)).sort();
    return await Promise.all(names.map((n) => readFile(path.join(dir, n))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The marker: is the box moving in this picture? (the corner's mean grey level, 160-px-wide picture) */
function moving(frame: SampledFrame): boolean {
  const { width, pixels } = frame.grey;
  let sum = 0;
  for (let y = 0; y < 8; y++) for (let x = width - 8; x < width; x++) sum += pixels[y * width + x]!;
  return sum / 64 > 128;
}

describe('frame sampler on a real MJPEG fan-out', () => {
  let camera: FakeMjpegCamera;
  before(async () => {
    camera = await startFakeMjpegCamera({ fps: FPS, frames: await sceneJpegs() });
  });
  after(() => camera.close());

  it('gates a demo scene: only the moving part reaches the detector; a stuck consumer slows nothing', async () => {
    const log = createLogger('silent');
    const upstream = createMjpegUpstream({ url: camera.streamUrl, log });
    // The recorder's place on the fan-out: it must keep getting every frame whatever the analysis does.
    let recorderFrames = 0;
    const unsubscribeRecorder = upstream.subscribe(() => recorderFrames++);

    const gate = createMotionGate({ holdMs: 0, mask: [{ rect: [0.9, 0, 0.1, 0.1] }] });
    const detectorQueue = createFrameQueue<SampledFrame>(systemClock, { perCamera: 2, maxAgeMs: 3000 });
    const stuckQueue = createFrameQueue<SampledFrame>(systemClock, { perCamera: 2, maxAgeMs: 3000 });
    const sampled: { moving: boolean; passed: boolean; at: number }[] = [];
    const detected: boolean[] = [];
    const stop = new AbortController();
    // A counting stand-in for the detector, and one pinned forever (a hung worker).
    void (async () => {
      for (;;) detected.push(moving(await detectorQueue.take(stop.signal)));
    })().catch(() => {});
    void (async () => {
      await stuckQueue.take(stop.signal);
      await new Promise<never>(() => {});
    })().catch(() => {});

    const sampler = createFrameSampler({
      cameraId: 'scene',
      source: { kind: 'mjpeg', subscribe: upstream.subscribe },
      log,
      config: { fps: 2, restartDelayMs: 200 },
      onFrame(frame) {
        const verdict = gate.push(frame.grey, frame.at);
        sampled.push({ moving: moving(frame), passed: verdict.motion, at: frame.at });
        if (verdict.motion) detectorQueue.push(frame);
        stuckQueue.push(frame);
      },
    });
    sampler.start();
    const startedAt = Date.now();
    try {
      // A whole scene: still frames, the moving phase, then at least 5 still ones after it (2.5 s).
      await waitFor(
        'a whole scene',
        () => {
          const firstMoving = sampled.findIndex((s) => s.moving);
          const lastMoving = sampled.findLastIndex((s) => s.moving);
          return (firstMoving > 0 && sampled.length - 1 - lastMoving >= 5) || undefined;
        },
        30_000,
      );
      const seconds = (Date.now() - startedAt) / 1000;
      const passed = sampled.filter((s) => s.passed).length;
      const movingFrames = sampled.filter((s) => s.moving);
      const staticFrames = sampled.filter((s) => !s.moving);
      // The box's departure is itself a change: the first still frame after each moving phase may pass.
      const staticPassed = sampled.filter((s, i) => s.passed && !s.moving && !sampled[i - 1]?.moving).length;
      console.log(
        `gating: ${passed}/${sampled.length} sampled frames passed (ratio ${(passed / sampled.length).toFixed(2)}); ` +
          `moving ${movingFrames.filter((s) => s.passed).length}/${movingFrames.length}, ` +
          `still ${staticFrames.filter((s) => s.passed).length}/${staticFrames.length} ` +
          `(${staticPassed} not right after motion); ${sampled.length} samples in ${seconds.toFixed(1)} s`,
      );
      // All but the first moving sample of a phase differ from the wall the background holds.
      assert.ok(
        movingFrames.filter((s) => s.passed).length >= movingFrames.length - 2,
        'moving frames gated',
      );
      assert.equal(staticPassed, 0, 'still frames passed');
      assert.ok(passed / sampled.length < 0.5);
      await waitFor('the detector to see them', () => (detected.length > 0 ? true : undefined));
      assert.ok(detected.filter((m) => m).length >= detected.length - 2);

      // The stuck consumer: the sampler kept its rate, the queue its bound, the recorder every frame.
      const stats = sampler.stats();
      const span = (sampled.at(-1)!.at - sampled[0]!.at) / 1000;
      const rate = (sampled.length - 1) / span;
      assert.ok(rate > 1.7 && rate < 2.3, `${rate.toFixed(2)} frames/s after the first`);
      const stuck = stuckQueue.stats();
      assert.equal(stuck.taken, 1);
      assert.ok(stuck.queued <= 2);
      assert.equal(stuck.dropped.overflow + stuck.dropped.stale, stats.frames - 1 - stuck.queued);
      // Every frame the camera sent reached the recorder's subscription (bar the one in flight), whatever the
      // machine's speed: the stuck consumer held nothing up.
      const sent = camera.stats.framesSent;
      assert.ok(
        recorderFrames >= sent - 2,
        `recorder got ${recorderFrames} of ${sent} frames in ${seconds} s`,
      );

      // The decoder dies: a new one takes over and frames keep coming.
      const pid = stats.decoderPid!;
      process.kill(pid, 'SIGKILL');
      const framesAtKill = stats.frames;
      await waitFor('a restarted decoder', () =>
        sampler.stats().frames > framesAtKill + 2 ? true : undefined,
      );
      assert.equal(sampler.stats().decoders, 2);
    } finally {
      const pid = sampler.stats().decoderPid;
      await sampler.stop();
      stop.abort();
      unsubscribeRecorder();
      await upstream.stop();
      if (pid) assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the decoder is gone after stop()');
    }
  });
});
