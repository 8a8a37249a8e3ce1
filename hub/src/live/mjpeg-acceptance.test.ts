// Acceptance: "A fake ESP32 (real JPEGs in the CameraWebServer format) with 20 concurrent viewers and
// recording on: the fake sees exactly one client; every viewer gets frames; one stalled viewer does not
// slow the others; hub memory stays bounded." The hub runs as production runs it (hub/dist, its own
// process), so its resident memory can be read from /proc without this test's own buffers in it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeTestJpegs } from '../media/fixtures/media-fixtures.js';
import { boundaryFromContentType, MjpegParser } from '../media/index.js';
import { startFakeMjpegCamera } from '../testing/fake-mjpeg-camera.js';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { OWNER, TestClient } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

const VIEWERS = 20;
const WINDOW_MS = 30_000;
/** Allowed growth of the hub's resident set over the window: V8 lets external memory (frames) pile up to a
 * threshold before it collects, so a bounded hub still grows by a few tens of MB, then levels off. */
const ALLOWED_GROWTH_MB = 60;
/** A bounded hub levels off: the second half of the window may peak at most this much above the first. */
const PLATEAU_MB = 15;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

test('20 MJPEG viewers with recording on: one camera client, frames for all, a stalled viewer slows no one, bounded memory', {
  timeout: 150_000,
}, async (t) => {
  // Large frames (1920×1080 at high quality, 25 fps) so that a hub queueing for the stalled viewer would show.
  const frames = await makeTestJpegs(10, '1920x1080', 2);
  const frameBytes = frames.reduce((sum, f) => sum + f.length, 0) / frames.length;
  const camera = await startFakeMjpegCamera({ fps: 25, frames });
  const dataDir = tempDir();
  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(config, JSON.stringify({ live: { maxViewersPerCamera: VIEWERS + 2 } }));
  const hub = await spawnHub({ dataDir, env: { HEARTH_CONFIG: config } });
  const viewers: { frames: number; paused: boolean; close: () => Promise<void> }[] = [];
  try {
    const owner = new TestClient(hub.url);
    assert.equal((await owner.post('/api/setup', { code: hub.setupCode, ...OWNER })).status, 201);
    await owner.login(OWNER.username, OWNER.password);
    const device = await owner.post('/api/devices', { name: 'Nursery cam', kind: 'camera' });
    assert.equal(device.status, 201, JSON.stringify(device.body));
    const created = await owner.post('/api/cameras', {
      id: 'nursery',
      name: 'Nursery',
      kind: 'esp32',
      deviceId: device.body.device.id,
      sourceUrl: camera.streamUrl,
      powerProfile: 'mains',
      record: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor('the recorder recording', async () =>
      (await owner.get('/api/cameras/nursery')).body.camera.recorder?.state === 'recording'
        ? true
        : undefined,
    );

    for (let i = 0; i < VIEWERS; i++) {
      const controller = new AbortController();
      const response = await fetch(`${hub.url}/api/cameras/nursery/live.mjpeg`, {
        headers: { cookie: owner.cookie },
        signal: controller.signal,
      });
      assert.equal(response.status, 200, `viewer ${i}`);
      const parser = new MjpegParser(boundaryFromContentType(response.headers.get('content-type'))!);
      const reader = response.body!.getReader();
      const state = { frames: 0, paused: false };
      const loop = (async () => {
        try {
          for (;;) {
            while (state.paused && !controller.signal.aborted) await new Promise((r) => setTimeout(r, 100));
            const { done, value } = await reader.read();
            if (done) return;
            state.frames += parser.push(Buffer.from(value)).length;
          }
        } catch {
          // aborted
        }
      })();
      viewers.push(
        Object.assign(state, {
          close: async () => {
            controller.abort();
            await loop;
          },
        }),
      );
    }
    const stalled = viewers[0]!;
    stalled.paused = true;
    await waitFor('frames for every reading viewer', () =>
      viewers.slice(1).every((v) => v.frames > 5) ? true : undefined,
    );

    const pid = hub.child.pid!;
    const startRss = rssMb(pid);
    const sentBefore = camera.stats.framesSent;
    const counts = viewers.map((v) => v.frames);
    const samples: number[] = [];
    const end = Date.now() + WINDOW_MS;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 500));
      samples.push(rssMb(pid));
    }
    const peakRss = Math.max(startRss, ...samples);
    const firstHalf = Math.max(...samples.slice(0, samples.length >> 1));
    const secondHalf = Math.max(...samples.slice(samples.length >> 1));
    const sent = camera.stats.framesSent - sentBefore;
    const got = viewers.map((v, i) => v.frames - counts[i]!);
    const readers = got.slice(1);
    const worst = Math.min(...readers);
    const wouldQueueMb = (sent * frameBytes) / 1024 / 1024;
    t.diagnostic(
      `camera sent ${sent} frames of ~${Math.round(frameBytes / 1024)} kB in ${WINDOW_MS / 1000} s; ` +
        `reading viewers got ${worst}..${Math.max(...readers)}; the stalled one ${got[0]}; ` +
        `hub RSS ${startRss.toFixed(0)} MB → peak ${firstHalf.toFixed(0)} MB in the first half, ${secondHalf.toFixed(0)} MB in the second ` +
        `(a queue for the stalled viewer would have grown by ~${wouldQueueMb.toFixed(0)} MB, ~${(wouldQueueMb / 2).toFixed(0)} MB per half)`,
    );
    assert.equal(camera.stats.totalClients, 1, 'the camera saw one client, for the recorder and 20 viewers');
    assert.equal(camera.stats.maxOpenClients, 1);
    assert.ok(worst >= sent * 0.6, `every reading viewer kept up: the slowest got ${worst} of ${sent}`);
    assert.ok(got[0]! <= 2, 'the stalled viewer read nothing (the socket buffers hold what it was sent)');
    // The test can fail: what a queue for the stalled viewer would add per half is well over the plateau margin.
    assert.ok(wouldQueueMb / 2 > 2 * PLATEAU_MB, `only ${wouldQueueMb} MB at stake`);
    assert.ok(
      peakRss - startRss < ALLOWED_GROWTH_MB,
      `hub RSS grew ${(peakRss - startRss).toFixed(0)} MB with a stalled viewer`,
    );
    assert.ok(
      secondHalf - firstHalf < PLATEAU_MB,
      `hub RSS still rising: ${firstHalf.toFixed(0)} → ${secondHalf.toFixed(0)} MB`,
    );
    const source = (await owner.get('/api/cameras/nursery')).body.camera;
    assert.equal(source.recorder.state, 'recording', 'recording went on throughout');
  } finally {
    await Promise.all(viewers.map((v) => v.close()));
    await hub.stop();
    await camera.close();
  }
});
