/**
 * The cameras UI in a real browser against the real, compiled hub with its demo cameras
 * (HEARTH_DEMO=1): the grid, a live view, playback across segment boundaries and a gap, and
 * what a viewer may not do. Needs `npm run build` (hub/dist and ui/dist), Debian's chromium
 * and ffmpeg.
 *
 *   node --import tsx --conditions=development --test ui/e2e/cameras.test.ts
 *
 * The household zone is set to Asia/Seoul so that every clock the page shows differs from UTC.
 * Screenshots go to $HEARTH_E2E_SHOTS or a fresh temp folder (printed as a diagnostic).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT, type SpawnedHub, spawnHub, tempDir } from '../../hub/src/testing/spawn-hub.js';
import { CHROMIUM, launch } from './browser.js';

const ZONE = 'Asia/Seoul';
const LIVE_CAMERA = 'demo-living-room';
const PLAYBACK_CAMERA = 'demo-front-door';
/** The demo recorder puts a keyframe every second. */
const KEYFRAME_MS = 1000;
/** The demo cameras' segments here (10 s in the product): room to seek inside one, less to wait for. */
const SEGMENT_MS = 6000;

interface TimelineSegment {
  id: number;
  startAt: number;
  endAt: number;
  durationMs: number;
  clockSuspect: boolean;
  protected: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined/false), or fails with `message`. */
async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  message: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(message());
    await sleep(300);
  }
}

function householdDay(at: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date(at));
}

function clockIn(at: number): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(new Date(at));
}

/** The playlist ↔ wall-clock map the contract defines: cumulative durations, gaps left out. */
function playlistMap(segments: TimelineSegment[]) {
  const starts: number[] = [];
  let total = 0;
  for (const s of segments) {
    starts.push(total);
    total += s.durationMs / 1000;
  }
  return {
    starts,
    wallAt(t: number): number {
      let i = 0;
      while (i + 1 < segments.length && starts[i + 1]! <= t) i++;
      return segments[i]!.startAt + (t - starts[i]!) * 1000;
    },
    timeOf(index: number): number {
      return starts[index]!;
    },
  };
}

async function shot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

describe('cameras UI', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
  timeout: 420_000,
}, () => {
  let hub: SpawnedHub;
  let cookie = '';
  let context: BrowserContext;
  let shots = '';
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  async function api(pathName: string, init: { method?: string; body?: unknown; as?: string } = {}) {
    const res = await fetch(`${hub.url}${pathName}`, {
      method: init.method ?? 'GET',
      headers: {
        origin: hub.url,
        cookie: init.as ?? cookie,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? null : JSON.stringify(init.body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as Record<string, unknown> | undefined, text };
  }

  async function signedInContext(sessionCookie: string): Promise<BrowserContext> {
    const dir = tempDir('hearth-chromium-');
    const ctx = await launch(dir);
    cleanup.push(async () => {
      await ctx.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    const [name, value] = sessionCookie.split('=');
    await ctx.addCookies([{ name: name!, value: value!, url: hub.url }]);
    return ctx;
  }

  async function timeline(cameraId: string): Promise<TimelineSegment[]> {
    const now = Date.now();
    const res = await api(`/api/cameras/${cameraId}/timeline?from=${now - 6 * 3600_000}&to=${now}`);
    assert.notEqual(
      res.status,
      404,
      `GET /api/cameras/:id/timeline is missing on this hub (${res.text.slice(0, 120)}): the playback backend has not landed`,
    );
    assert.equal(res.status, 200, `timeline answered ${res.status}: ${res.text.slice(0, 200)}`);
    return (res.json as { segments: TimelineSegment[] }).segments;
  }

  before(async () => {
    assert.ok(
      existsSync(path.join(REPO_ROOT, 'ui', 'dist', 'index.html')),
      'ui/dist is not built: npm run build',
    );
    const dataDir = tempDir();
    const config = path.join(dataDir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ recording: { demoSegmentSeconds: SEGMENT_MS / 1000 } }));
    hub = await spawnHub({ dataDir, env: { HEARTH_DEMO: '1', HEARTH_CONFIG: config } });
    cleanup.push(async () => {
      await hub.stop();
      rmSync(hub.dataDir, { recursive: true, force: true });
    });
    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    assert.equal(setup.status, 201);
    cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
    assert.equal((await api('/api/settings', { method: 'PATCH', body: { timeZone: ZONE } })).status, 200);
    shots = process.env.HEARTH_E2E_SHOTS ?? tempDir('hearth-shots-');
    mkdirSync(shots, { recursive: true });
    context = await signedInContext(cookie);
  });

  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  test('grid shows every demo camera’s picture without live streams; the live view moves; the API stays quick', async (t) => {
    t.diagnostic(`screenshots in ${shots}`);
    const grid = await context.newPage();
    const streamRequests: string[] = [];
    grid.on('request', (request) => {
      const url = new URL(request.url());
      if (/\/live(\.mjpeg)?$/.test(url.pathname) || url.pathname.endsWith('.m3u8'))
        streamRequests.push(url.pathname);
    });
    await grid.goto(`${hub.url}/cameras`);
    await grid.getByRole('heading', { level: 1, name: 'Cameras' }).waitFor();
    const { cameras } = (await api('/api/cameras')).json as { cameras: { id: string }[] };
    assert.deepEqual(cameras.map((c) => c.id).sort(), [LIVE_CAMERA, PLAYBACK_CAMERA].sort());

    for (const { id } of cameras) {
      const tile = grid.locator(`.tile[data-camera="${id}"]`);
      await tile.waitFor();
      await waitFor(
        () =>
          tile
            .locator('img.camera-picture')
            .evaluate((img: HTMLImageElement) => img.naturalWidth > 0)
            .catch(() => false),
        45_000,
        () =>
          `no picture on the tile of ${id} within 45 s (demo cameras have no MJPEG snapshot, so the tile shows ` +
          'the newest segment’s /api/segments/:id/thumbnail.jpg; is that endpoint there?)',
      );
    }
    // The status badge comes from the recorder state.
    await grid.locator(`.tile[data-camera="${LIVE_CAMERA}"] .badge[data-status="recording"]`).waitFor();
    await shot(grid, shots, 'phone-cameras-grid');
    // Pictures refresh (a snapshot or a newer thumbnail) without reloading the page.
    const pictureBefore = await grid
      .locator(`.tile[data-camera="${LIVE_CAMERA}"] img.camera-picture`)
      .getAttribute('src');
    await waitFor(
      async () =>
        (await grid.locator(`.tile[data-camera="${LIVE_CAMERA}"] img.camera-picture`).getAttribute('src')) !==
        pictureBefore,
      30_000,
      () => 'the tile picture did not refresh within 30 s',
    );
    assert.deepEqual(streamRequests, [], 'the grid opened no live stream');

    // The live view, in a second tab, while the grid keeps refreshing in the first.
    const live = await context.newPage();
    await live.goto(`${hub.url}/cameras/${LIVE_CAMERA}`);
    const view = live.locator('.live-view');
    await view.waitFor();
    const kind = await waitFor(
      async () => {
        const value = await view.getAttribute('data-live');
        return value === 'mp4' || value === 'mjpeg' ? value : undefined;
      },
      15_000,
      () =>
        `the camera page shows no live picture (GET /api/cameras/${LIVE_CAMERA}/live: is the endpoint there?)`,
    );
    if (kind === 'mp4') {
      const first = await waitFor(
        () =>
          live
            .locator('video.live-media')
            .evaluate((v: HTMLVideoElement) => (v.currentTime > 0 ? v.currentTime : false)),
        20_000,
        () => 'the live video did not start (MSE); check the hub CSP allows media-src blob:',
      );
      await sleep(2500);
      const state = await live.locator('video.live-media').evaluate((v: HTMLVideoElement) => ({
        time: v.currentTime,
        lag: v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0,
      }));
      assert.ok(state.time - first > 1.5, `live video advanced from ${first} to ${state.time}`);
      assert.ok(state.lag < 3, `live video lags ${state.lag.toFixed(2)} s behind its buffer`);
    } else {
      const frame = () =>
        live.locator('img.live-media').evaluate((img: HTMLImageElement) => {
          const canvas = document.createElement('canvas');
          canvas.width = 64;
          canvas.height = 48;
          const ctx = canvas.getContext('2d')!;
          ctx.drawImage(img, 0, 0, 64, 48);
          return Array.from(ctx.getImageData(0, 0, 64, 48).data).join(',');
        });
      const a = await frame();
      await sleep(1500);
      assert.notEqual(await frame(), a, 'MJPEG frames change');
    }
    await shot(live, shots, 'phone-camera-live');

    // Grid and live view open in one browser: an ordinary API call still answers at once.
    const timings = (await live.evaluate(`(async () => {
      const times = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const res = await fetch('/api/cameras', { cache: 'no-store' });
        await res.json();
        times.push(performance.now() - started);
      }
      return times;
    })()`)) as number[];
    assert.ok(
      Math.max(...timings) < 1000,
      `GET /api/cameras took ${timings.map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    await live.close();
    await grid.close();
  });

  test('playback plays across a segment boundary and a gap, and its clock matches the segment map', async (t) => {
    const cameraPath = `/api/cameras/${PLAYBACK_CAMERA}`;
    // Two contiguous segments, then a gap (recording off for a while), then footage again.
    await waitFor(
      async () => (await timeline(PLAYBACK_CAMERA)).length >= 2 || undefined,
      60_000,
      () => 'no segments',
    );
    assert.equal((await api(cameraPath, { method: 'PATCH', body: { record: false } })).status, 200);
    await sleep(7000);
    assert.equal((await api(cameraPath, { method: 'PATCH', body: { record: true } })).status, 200);
    const segments = await waitFor(
      async () => {
        const list = await timeline(PLAYBACK_CAMERA);
        const gapAt = list.findIndex((s, i) => i > 0 && s.startAt - list[i - 1]!.endAt > 3000);
        return gapAt > 0 &&
          list.length - gapAt >= 1 &&
          list[list.length - 1]!.durationMs >= SEGMENT_MS - KEYFRAME_MS
          ? list
          : undefined;
      },
      60_000,
      () => 'no gap with footage after it',
    );
    const playlist = await fetch(
      `${hub.url}${cameraPath}/playback.m3u8?from=${segments[0]!.startAt}&to=${segments[segments.length - 1]!.endAt}`,
      { headers: { cookie } },
    );
    assert.equal(playlist.status, 200, `GET ${cameraPath}/playback.m3u8 answered ${playlist.status}`);

    const map = playlistMap(segments);
    const boundary = segments.findIndex(
      (s, i) =>
        i > 0 && Math.abs(s.startAt - segments[i - 1]!.endAt) < 1500 && segments[i - 1]!.durationMs >= 4000,
    );
    assert.ok(boundary > 0, `two touching segments: ${JSON.stringify(segments)}`);
    const gap = segments.findIndex((s, i) => i > 0 && s.startAt - segments[i - 1]!.endAt > 3000);
    t.diagnostic(
      `segments ${segments.map((s) => `${s.id}:${clockIn(s.startAt)}+${s.durationMs}`).join(' ')}; boundary before #${boundary}, gap before #${gap}`,
    );

    const day = householdDay(segments[boundary]!.startAt);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|hls|MediaSource/i.test(m.text()))
        problems.push(m.text());
    });
    const startWall = segments[boundary - 1]!.endAt - 2500;
    await page.goto(`${hub.url}/cameras/${PLAYBACK_CAMERA}/playback?day=${day}&t=${startWall}`);
    const video = page.locator('video.player-video');
    const readout = page.locator('.clock-readout');
    const readWall = async () => Number(await readout.getAttribute('data-wall'));
    await waitFor(
      () => video.evaluate((v: HTMLVideoElement) => v.readyState >= 2),
      20_000,
      () => `the recording did not load into the player (${problems.join(' | ') || 'no error reported'})`,
    );
    assert.ok(
      Math.abs((await readWall()) - startWall) <= KEYFRAME_MS,
      'the clock shows the requested moment',
    );
    assert.equal(await readout.textContent(), clockIn(await readWall()));
    await shot(page, shots, 'phone-playback-ready');

    // Play: currentTime moves past the boundary into the next segment, the clock following the map.
    await page.getByRole('button', { name: 'Play' }).click();
    const boundaryTime = map.timeOf(boundary);
    const crossed = await waitFor(
      () =>
        video.evaluate(
          (v: HTMLVideoElement, after: number) => (v.currentTime > after ? v.currentTime : false),
          boundaryTime + 1,
        ),
      20_000,
      () => `playback did not cross the segment boundary at ${boundaryTime} s`,
    );
    const sample = await page.evaluate(() => ({
      time: document.querySelector<HTMLVideoElement>('video.player-video')!.currentTime,
      wall: Number(document.querySelector('.clock-readout')!.getAttribute('data-wall')),
    }));
    assert.ok(crossed > boundaryTime);
    assert.ok(
      Math.abs(sample.wall - map.wallAt(sample.time)) <= KEYFRAME_MS,
      `after the boundary the clock shows ${clockIn(sample.wall)}, the map says ${clockIn(map.wallAt(sample.time))}`,
    );

    // Across the gap: the clock jumps, and the page says so.
    const goTo = async (at: number) => {
      await page.getByLabel('Go to').fill(clockIn(at));
      await page.getByRole('button', { name: 'Go', exact: true }).click();
    };
    const beforeGap = segments[gap - 1]!;
    let approach = Math.ceil((beforeGap.endAt - 2000) / 1000) * 1000;
    while (approach >= beforeGap.endAt) approach -= 1000;
    await goTo(approach);
    await page.locator('.jump-notice').waitFor({ timeout: 15_000 });
    assert.ok((await readWall()) >= segments[gap]!.startAt, 'the clock jumped over the gap');
    await shot(page, shots, 'phone-playback-gap');

    // Seek to a chosen wall time: the clock matches the map within one keyframe interval.
    const target = Math.ceil((segments[gap]!.startAt + SEGMENT_MS / 2 - 800) / 1000) * 1000;
    assert.ok(target < segments[gap]!.endAt, 'the target lies inside the segment after the gap');
    await goTo(target);
    const landed = await waitFor(
      async () => {
        const s = await page.evaluate(() => ({
          time: document.querySelector<HTMLVideoElement>('video.player-video')!.currentTime,
          seeking: document.querySelector<HTMLVideoElement>('video.player-video')!.seeking,
          wall: Number(document.querySelector('.clock-readout')!.getAttribute('data-wall')),
        }));
        return !s.seeking && Math.abs(s.wall - target) < 3000 ? s : undefined;
      },
      15_000,
      () => `the clock did not move to ${clockIn(target)}`,
    );
    assert.ok(
      Math.abs(landed.wall - map.wallAt(landed.time)) <= KEYFRAME_MS,
      `clock ${clockIn(landed.wall)} vs map ${clockIn(map.wallAt(landed.time))} at ${landed.time.toFixed(2)} s`,
    );
    assert.ok(
      Math.abs(map.wallAt(landed.time) - target) <= KEYFRAME_MS + 500,
      `the video is at ${clockIn(map.wallAt(landed.time))}, asked for ${clockIn(target)}`,
    );
    assert.equal(await readout.textContent(), clockIn(landed.wall));

    // An owner sees the protect toggle and the export dialog.
    await page.getByRole('button', { name: 'Protect' }).waitFor();
    await page.getByRole('button', { name: 'Export clip' }).click();
    await page.getByRole('heading', { name: 'Export a clip' }).waitFor();
    // The default range is the ten minutes around the playing moment; progress arrives on the live stream.
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const row = page.locator('.export-row').first();
    await row.waitFor();
    await page.locator('.export-row[data-state="done"]').first().waitFor({ timeout: 90_000 });
    const href = await page
      .locator('.export-row[data-state="done"] a[download]')
      .first()
      .getAttribute('href');
    assert.ok(href, 'a download link');
    const download = await fetch(`${hub.url}${href}`, { headers: { cookie } });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'video/mp4');
    assert.ok((await download.arrayBuffer()).byteLength > 1000, 'the clip has content');
    await shot(page, shots, 'phone-playback-export');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a viewer sees no add, edit, delete, export or protect controls', async () => {
    const created = await api('/api/users', {
      method: 'POST',
      body: { username: 'vera', password: 'viewer-password-1', role: 'viewer' },
    });
    assert.equal(created.status, 201, created.text);
    const login = await fetch(`${hub.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ username: 'vera', password: 'viewer-password-1' }),
    });
    assert.equal(login.status, 200);
    const viewerCookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    // The hub refuses a viewer's change anyway; the UI must not offer it.
    assert.equal(
      (
        await api(`/api/cameras/${LIVE_CAMERA}`, {
          method: 'PATCH',
          body: { enabled: false },
          as: viewerCookie,
        })
      ).status,
      403,
    );

    // The same browser, now holding only the viewer's session (the owner's pages are closed): one Chromium per file.
    await context.clearCookies();
    const [name, value] = viewerCookie.split('=');
    await context.addCookies([{ name: name!, value: value!, url: hub.url }]);
    const page = await context.newPage();
    const forbidden = /^(Add camera|Edit|Disable|Enable|Delete camera|Export clip|Protect|Protected|Save)$/;

    await page.goto(`${hub.url}/cameras`);
    await page.locator(`.tile[data-camera="${LIVE_CAMERA}"]`).waitFor();
    assert.equal(await page.getByRole('button', { name: forbidden }).count(), 0, 'grid: no manager buttons');

    await page.goto(`${hub.url}/cameras/${LIVE_CAMERA}`);
    await page.getByRole('link', { name: 'Recordings' }).waitFor();
    assert.equal(
      await page.getByRole('button', { name: forbidden }).count(),
      0,
      'camera page: no manager buttons',
    );
    assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0, 'camera page: no edit link');

    await page.goto(`${hub.url}/cameras/${LIVE_CAMERA}/settings`);
    await page.getByText('Only members and the owner can change cameras.').waitFor();
    // Only the detection section, read-only: nothing to save or reset.
    await page.getByText('Only the owner can change detection settings.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0, 'settings: nothing to save');
    assert.equal(
      await page.locator('form input:not([disabled]):not([readonly])').count(),
      0,
      'settings: no editable field',
    );

    await page.goto(`${hub.url}/cameras/${PLAYBACK_CAMERA}/playback`);
    await page.locator('.player:not(.hidden), .empty, .alert').first().waitFor();
    await page.locator('.clock-readout').waitFor({ state: 'attached' });
    assert.equal(
      await page.getByRole('button', { name: forbidden }).count(),
      0,
      'playback: no protect or export',
    );
    await shot(page, shots, 'phone-playback-viewer');
    await page.close();
  });
});
