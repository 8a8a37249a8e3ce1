/**
 * Acceptance of the recording core in a real browser: `npm start`'s demo cameras record, and a
 * segment served by `/api/segments/:id/file` plays in Chromium (H.264 in fragmented MP4).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { spawnHub, tempDir } from '../../hub/src/testing/spawn-hub.js';
import { CHROMIUM, launch } from './browser.js';

test('a recorded demo segment plays in Chromium from /api/segments/:id/file', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
  timeout: 120_000,
}, async (t) => {
  const hub = await spawnHub({ env: { HEARTH_DEMO: '1' } });
  t.after(() => hub.stop());
  const setup = await fetch(`${hub.url}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: hub.url },
    body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
  });
  assert.equal(setup.status, 201);
  const cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
  const day = new Date().toISOString().slice(0, 10);
  await fetch(`${hub.url}/api/settings`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', origin: hub.url, cookie },
    body: JSON.stringify({ timeZone: 'UTC' }),
  });

  let segment: { id: number; durationMs: number } | undefined;
  const deadline = Date.now() + 45_000;
  while (!segment && Date.now() < deadline) {
    const listing = await fetch(`${hub.url}/api/cameras/demo-living-room/segments?day=${day}`, {
      headers: { cookie },
    });
    segment = ((await listing.json()) as { segments: { id: number; durationMs: number }[] }).segments[0];
    if (!segment) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  assert.ok(segment, 'a demo segment was recorded');

  const context = await launch(tempDir('hearth-chromium-'));
  t.after(() => context.close());
  const [name, value] = cookie.split('=');
  await context.addCookies([{ name: name!, value: value!, url: hub.url }]);
  const page = await context.newPage();
  await page.goto(`${hub.url}/`);
  // A plain string: the test's TypeScript transform would add helpers the page does not have.
  const played = (await page.evaluate(`(async (src) => {
    const video = document.createElement('video');
    video.muted = true;
    video.src = src;
    document.body.append(video);
    await new Promise((resolve, reject) => {
      video.addEventListener('loadedmetadata', resolve, { once: true });
      video.addEventListener('error', () => reject(new Error('video error ' + (video.error && video.error.code))), { once: true });
    });
    await video.play();
    while (video.currentTime <= 1.5) await new Promise((resolve) => requestAnimationFrame(resolve));
    return { duration: video.duration, width: video.videoWidth, height: video.videoHeight, currentTime: video.currentTime };
  })(${JSON.stringify(`/api/segments/${segment.id}/file`)})`)) as {
    duration: number;
    width: number;
    height: number;
    currentTime: number;
  };
  assert.ok(Math.abs(played.duration * 1000 - segment.durationMs) < 500, `duration ${played.duration}s`);
  assert.equal(played.width, 640);
  assert.equal(played.height, 480);
  assert.ok(played.currentTime > 1.5, 'it played past 1.5 s');
});
