import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { ffprobeSeconds } from '../testing/ffprobe.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

// The playlist against real recorded files: the demo cameras record fragmented-MP4 segments in real time,
// here 4 s long, so this waits ~10 s for two of them. Then every byte range is fetched the way a player
// fetches it and decoded by ffprobe, and ffmpeg itself plays the playlist as an HLS client.
const run = promisify(execFile);
const require = createRequire(import.meta.url);
const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
const CAMERA = 'demo-living-room';

let t: TestHub;
let viewer: TestClient;
let startedAt: number;
before(async () => {
  startedAt = Date.now();
  t = await startTestHub({ demo: true, recording: { demoSegmentSeconds: 4 } });
  viewer = await t.userWithRole('viewer');
});
after(() => t.stop());

interface Block {
  uri: string;
  map: { uri: string; length: number; offset: number };
  seconds: number;
  range: { length: number; offset: number };
  clockSuspect: boolean;
}

/** The segment blocks of one of our playlists, read back the way an HLS client reads them. */
function parsePlaylist(text: string): Block[] {
  const blocks: Block[] = [];
  let current: Partial<Block> = {};
  for (const line of text.trimEnd().split('\n')) {
    const map = /^#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"$/.exec(line);
    const extinf = /^#EXTINF:(\d+\.\d{3}),$/.exec(line);
    const range = /^#EXT-X-BYTERANGE:(\d+)@(\d+)$/.exec(line);
    if (line === '#HEARTH-CLOCK-SUSPECT') current.clockSuspect = true;
    else if (map) current.map = { uri: map[1]!, length: Number(map[2]), offset: Number(map[3]) };
    else if (extinf) current.seconds = Number(extinf[1]);
    else if (range) current.range = { length: Number(range[1]), offset: Number(range[2]) };
    else if (!line.startsWith('#')) {
      blocks.push({ clockSuspect: false, ...current, uri: line } as Block);
      current = {};
    }
  }
  return blocks;
}

async function fetchRange(uri: string, offset: number, length: number) {
  const response = await fetch(`${t.url}${uri}`, {
    headers: { cookie: viewer.cookie, range: `bytes=${offset}-${offset + length - 1}` },
  });
  assert.equal(response.status, 206, `${uri} ${offset}+${length}`);
  const body = Buffer.from(await response.arrayBuffer());
  assert.equal(body.length, length);
  return { body, total: Number(response.headers.get('content-range')?.split('/')[1]) };
}

/** Video samples in a file or playlist as ffprobe reads them: packets demuxed, frames decoded out. */
async function countSamples(input: string, extra: string[] = []) {
  const { stdout } = await run('ffprobe', [
    ...extra,
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_packets,nb_read_frames',
    '-of',
    'json',
    input,
  ]);
  const stream = JSON.parse(stdout).streams[0];
  return { packets: Number(stream.nb_read_packets), frames: Number(stream.nb_read_frames) };
}

/** Two finished demo segments and a range over exactly them (recorded once, shared by the tests below). */
let recordedRange: Promise<{ from: number; to: number; ids: number[] }> | undefined;
function twoSegments() {
  recordedRange ??= (async () => {
    const recorded = await waitFor(
      'two finished segments',
      async () => {
        const { body } = await viewer.get(
          `/api/cameras/${CAMERA}/timeline?from=${startedAt - 60_000}&to=${Date.now() + 60_000}`,
        );
        return body.segments?.length >= 2 ? body.segments : undefined;
      },
      60_000,
      500,
    );
    // From the first segment's start to inside the second: names round to the second, so the third may
    // start a little before the second's end, but never before a second into it.
    return {
      from: recorded[0].startAt as number,
      to: (recorded[1].startAt as number) + 1000,
      ids: [recorded[0].id as number, recorded[1].id as number],
    };
  })();
  return recordedRange;
}

test('every byte range of a playlist over real segments decodes, and ffmpeg plays it as HLS', async () => {
  const { from, to, ids } = await twoSegments();
  const timeline = (await viewer.get(`/api/cameras/${CAMERA}/timeline?from=${from}&to=${to}`)).body;
  assert.deepEqual(
    timeline.segments.map((segment: { id: number }) => segment.id),
    ids,
  );

  const playlistPath = `/api/cameras/${CAMERA}/playback.m3u8?from=${from}&to=${to}`;
  const response = await viewer.get(playlistPath);
  assert.equal(response.status, 200);
  const blocks = parsePlaylist(response.body);
  assert.deepEqual(
    blocks.map((block) => block.uri),
    timeline.segments.map((segment: { id: number }) => `/api/segments/${segment.id}/file`),
  );

  const dir = tempDir();
  let totalPackets = 0;
  let totalFrames = 0;
  for (const [index, block] of blocks.entries()) {
    const row = t.hub.segments.get(timeline.segments[index].id)!;
    assert.equal(block.map.uri, block.uri);
    assert.equal(block.map.offset, 0);
    assert.equal(block.seconds, row.durationMs / 1000);
    const init = await fetchRange(block.map.uri, block.map.offset, block.map.length);
    const media = await fetchRange(block.uri, block.range.offset, block.range.length);
    // The two ranges are the whole file, split exactly where the first fragment begins.
    assert.equal(block.range.offset, block.map.length);
    assert.equal(block.range.offset + block.range.length, media.total);
    assert.equal(init.body.subarray(4, 8).toString('latin1'), 'ftyp');
    assert.equal(media.body.subarray(4, 8).toString('latin1'), 'moof');

    const joined = path.join(dir, `block-${index}.mp4`);
    writeFileSync(joined, Buffer.concat([init.body, media.body]));
    const seconds = ffprobeSeconds(joined);
    assert.ok(
      Math.abs(seconds - block.seconds) < 0.5,
      `block ${index}: ffprobe ${seconds}s, EXTINF ${block.seconds}s`,
    );
    // Every frame decodes, not just the header: a range cut mid-fragment loses or breaks frames.
    await run('ffmpeg', ['-v', 'error', '-xerror', '-i', joined, '-f', 'null', '-']);
    const samples = await countSamples(joined);
    assert.equal(samples.frames, samples.packets, `block ${index}: every sample decodes`);
    totalPackets += samples.packets;
    totalFrames += samples.frames;
  }

  // ffmpeg as the HLS client: it follows the maps and byte ranges itself, with the session cookie on every
  // request. Debian's ffmpeg (a 2025 security backport) only fetches segment URLs ending in a media
  // extension that matches their content; ours end in `/file`, so it is told to accept them (hls.js does
  // not look at names, see the next test; docs/protocols.md says so for ffmpeg users).
  const client = [
    '-allowed_segment_extensions',
    'ALL',
    '-extension_picky',
    '0',
    '-headers',
    `Cookie: ${viewer.cookie}\r\n`,
  ];
  const url = `${t.url}${playlistPath}`;
  const hls = await countSamples(url, client);
  assert.equal(hls.packets, totalPackets, 'every sample of every byte range arrives through HLS');
  // ffmpeg's HLS demuxer ignores EXT-X-DISCONTINUITY for fMP4 (one mov demuxer for the whole stream: "Found
  // duplicated MOOV Atom"), so after each restart at t=0 it flags the first GOP (1 s here) as discardable.
  // That is ffmpeg's limit, not the playlist's: every sample arrived (above) and each block decodes whole.
  const gop = 10;
  assert.ok(hls.frames >= totalFrames - (blocks.length - 1) * gop, `${hls.frames} of ${totalFrames} frames`);

  const { stdout, stderr } = await run('ffmpeg', [
    '-v',
    'error',
    '-nostats',
    '-progress',
    'pipe:1',
    ...client,
    '-i',
    url,
    '-f',
    'null',
    '-',
  ]);
  assert.equal(stderr.trim(), '', 'ffmpeg reports no error playing the playlist');
  const played = Number([...stdout.matchAll(/^out_time_us=(\d+)$/gm)].at(-1)?.[1]) / 1e6;
  const listed = blocks.reduce((sum, block) => sum + block.seconds, 0);
  assert.ok(Math.abs(played - listed) < 1, `ffmpeg played ${played}s of ${listed}s listed`);
});

test('hls.js in Chromium plays the playlist across the discontinuity', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
}, async (ctx) => {
  const { from, to } = await twoSegments();
  const playlist = parsePlaylist(
    (await viewer.get(`/api/cameras/${CAMERA}/playback.m3u8?from=${from}&to=${to}`)).body,
  );
  const first = playlist[0]!.seconds;
  const listed = playlist.reduce((sum, block) => sum + block.seconds, 0);

  const context = await chromium.launchPersistentContext(tempDir('hearth-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  ctx.after(() => context.close());
  const [name, value] = viewer.cookie.split('=');
  await context.addCookies([{ name: name!, value: value!, url: t.url }]);
  const page = await context.newPage();
  // An empty page on the hub's origin (so hls.js's requests carry the session cookie), with the same
  // hls.js build the UI ships; nothing but the page itself is stubbed.
  await page.route(`${t.url}/__playback-test`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><video muted playsinline></video>' }),
  );
  await page.goto(`${t.url}/__playback-test`);
  await page.addScriptTag({ content: readFileSync(require.resolve('hls.js/dist/hls.light.min.js'), 'utf8') });
  // A plain string: the test's TypeScript transform would add helpers the page does not have.
  const result = (await page.evaluate(`(async (src, seekTo, past) => {
    const video = document.querySelector('video');
    const hls = new Hls();
    const errors = [];
    hls.on(Hls.Events.ERROR, (_, data) => errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : '')));
    hls.loadSource(src);
    hls.attachMedia(video);
    await new Promise((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, resolve));
    video.currentTime = seekTo;
    await video.play();
    const deadline = Date.now() + 20000;
    while (video.currentTime < past && Date.now() < deadline && !errors.some((e) => e.endsWith(':fatal')))
      await new Promise((resolve) => setTimeout(resolve, 100));
    return { duration: video.duration, currentTime: video.currentTime, errors, width: video.videoWidth };
  })(${JSON.stringify(`${t.url}/api/cameras/${CAMERA}/playback.m3u8?from=${from}&to=${to}`)}, ${first - 1}, ${first + 1})`)) as {
    duration: number;
    currentTime: number;
    errors: string[];
    width: number;
  };
  assert.deepEqual(
    result.errors.filter((error) => error.endsWith(':fatal')),
    [],
    JSON.stringify(result),
  );
  assert.ok(
    Math.abs(result.duration - listed) < 1,
    `hls.js duration ${result.duration}s vs ${listed}s listed`,
  );
  assert.ok(result.currentTime >= first + 1, `played from ${first - 1}s to ${result.currentTime}s`);
  assert.equal(result.width, 640);
});
