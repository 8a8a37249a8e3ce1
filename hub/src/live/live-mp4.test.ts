import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
let viewer: TestClient;
let owner: TestClient;
const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-live-mp4-'));

before(async () => {
  t = await startTestHub({ live: { maxViewersPerCamera: 3 } });
  viewer = await t.userWithRole('viewer');
  owner = await t.owner();
  const created = await owner.post('/api/cameras', {
    id: 'porch',
    name: 'Porch',
    kind: 'demo',
    record: false,
  });
  assert.equal(created.status, 201);
});
after(async () => {
  await t.stop();
});

/** Live ffmpeg processes of this hub (children of this process producing fMP4 on stdout). */
function liveFfmpegs(match = ''): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if (ppid !== process.pid || !argv.includes('pipe:1') || !argv.includes('-frag_duration')) continue;
      if (argv.some((arg) => arg.includes(match))) pids.push(Number(pid));
    } catch {}
  }
  return pids;
}

interface Box {
  type: string;
  bytes: Buffer;
  /** performance.now() when its last byte arrived. */
  at: number;
}

/**
 * A live.mp4 viewer that splits what arrives into top-level boxes itself (independently of the hub's own
 * box code). `paused` stops reading, as a phone on a bad link does.
 */
async function watch(cameraId = 'porch') {
  const controller = new AbortController();
  const requestedAt = performance.now();
  const response = await fetch(`${t.url}/api/cameras/${cameraId}/live.mp4`, {
    headers: { cookie: viewer.cookie },
    signal: controller.signal,
  });
  const state = { response, requestedAt, boxes: [] as Box[], paused: false, bytes: 0 };
  if (response.status !== 200) return { ...state, fragments: () => 0, close: async () => {} };
  const reader = response.body!.getReader();
  let pending = Buffer.alloc(0);
  const loop = (async () => {
    try {
      for (;;) {
        while (state.paused && !controller.signal.aborted) await new Promise((r) => setTimeout(r, 50));
        const { done, value } = await reader.read();
        if (done) return;
        state.bytes += value.length;
        pending = Buffer.concat([pending, value]);
        while (pending.length >= 8 && pending.length >= pending.readUInt32BE(0)) {
          const size = pending.readUInt32BE(0);
          assert.ok(size >= 8, 'a box of at least its header');
          state.boxes.push({
            type: pending.toString('latin1', 4, 8),
            bytes: pending.subarray(0, size),
            at: performance.now(),
          });
          pending = pending.subarray(size);
        }
      }
    } catch {
      // aborted
    }
  })();
  return Object.assign(state, {
    fragments: () => state.boxes.filter((box) => box.type === 'mdat').length,
    close: async () => {
      controller.abort();
      await loop;
    },
  });
}

/** tfdt of a moof in seconds, found by its type bytes (the test's own reading of the boxes). */
function decodeSeconds(moof: Buffer, timescale: number): number {
  const at = moof.indexOf('tfdt', 0, 'latin1');
  const version = moof[at + 4];
  const ticks = version === 1 ? Number(moof.readBigUInt64BE(at + 8)) : moof.readUInt32BE(at + 8);
  return ticks / timescale;
}

function timescaleOf(moov: Buffer): number {
  const at = moov.indexOf('mdhd', 0, 'latin1');
  return moov.readUInt32BE(at + 4 + (moov[at + 4] === 1 ? 20 : 12));
}

test('a demo camera live: the JSON answer names the codec, the stream is init then moof/mdat pairs, decodable from a keyframe, with little delay', {
  timeout: 60_000,
}, async () => {
  const startedAt = performance.now();
  const source = await viewer.get('/api/cameras/porch/live');
  assert.equal(source.status, 200, JSON.stringify(source.body));
  assert.equal(source.body.kind, 'mp4');
  assert.equal(source.body.url, '/api/cameras/porch/live.mp4');
  assert.match(source.body.codec, /^avc1\.[0-9A-F]{6}$/);

  const live = await watch();
  assert.equal(live.response.status, 200);
  assert.equal(live.response.headers.get('content-type'), 'video/mp4');
  assert.equal(live.response.headers.get('cache-control'), 'no-store');
  assert.equal(live.response.headers.get('x-codec'), source.body.codec);
  await waitFor('4 s of fragments', () => (live.fragments() >= 20 ? true : undefined), 20_000);
  await live.close();

  const types = live.boxes.map((box) => box.type);
  assert.deepEqual(types.slice(0, 2), ['ftyp', 'moov'], 'the init segment first');
  const rest = types.slice(2);
  assert.ok(rest.length % 2 === 0 || rest.at(-1) === 'moof');
  for (const [i, type] of rest.entries()) assert.equal(type, i % 2 === 0 ? 'moof' : 'mdat', `box ${i + 2}`);

  const file = path.join(dir, 'live.mp4');
  const whole = rest.length % 2 === 0 ? live.boxes : live.boxes.slice(0, -1);
  writeFileSync(file, Buffer.concat(whole.map((box) => box.bytes)));
  const probe = JSON.parse(
    execFileSync('ffprobe', [
      ...['-v', 'error', '-of', 'json', '-select_streams', 'v', '-show_streams'],
      ...['-show_entries', 'frame=key_frame,pts_time', file],
    ]).toString(),
  );
  assert.equal(probe.streams[0].codec_name, 'h264');
  assert.equal(probe.streams[0].width, 640);
  const frames = probe.frames as { key_frame: number }[];
  assert.ok(frames.length >= 35, `${frames.length} frames decoded`);
  assert.equal(frames[0]!.key_frame, 1, 'the first frame a viewer gets is a keyframe');

  // Hub-side delay, as the hub measures it: time since ffmpeg was spawned minus the media time it has sent.
  const status = t.hub.live.status('porch')!;
  assert.ok(status.hubDelayMs !== null && status.hubDelayMaxMs !== null);
  // And from outside, an upper bound: ffmpeg started after the JSON request was sent, and the media time of a
  // fragment is at least its tfdt; so arrival − request − tfdt ≥ the true delay of that fragment.
  const timescale = timescaleOf(live.boxes[1]!.bytes);
  const outside = live.boxes
    .filter((box) => box.type === 'moof')
    .map((moof) => {
      const mdat = live.boxes[live.boxes.indexOf(moof) + 1];
      return mdat ? mdat.at - startedAt - decodeSeconds(moof.bytes, timescale) * 1000 : Number.NaN;
    })
    .filter((ms) => Number.isFinite(ms));
  const outsideMax = Math.max(...outside.slice(-10));
  console.log(
    `live.mp4 hub-side delay: hub ${status.hubDelayMs.toFixed(0)} ms (max ${status.hubDelayMaxMs.toFixed(0)} ms after start-up); ` +
      `from outside (upper bound, incl. ffmpeg start and one fragment) ${outsideMax.toFixed(0)} ms`,
  );
  assert.ok(status.hubDelayMaxMs < 5000, `hub delay ${status.hubDelayMaxMs} ms`);
  assert.ok(outsideMax < 5000, `delay seen from outside ${outsideMax} ms`);
});

test('viewers share one ffmpeg; a stalled one does not slow the others; the cap answers 503; the stream stops after the last leaves', {
  timeout: 60_000,
}, async () => {
  const fast = await watch();
  const other = await watch();
  const slow = await watch();
  slow.paused = true;
  assert.equal(slow.response.status, 200);
  await waitFor('fragments for both readers', () =>
    fast.fragments() > 5 && other.fragments() > 5 ? true : undefined,
  );
  assert.equal(liveFfmpegs().length, 1, 'one ffmpeg for every viewer');
  assert.equal(t.hub.live.status('porch')!.listeners, 3);

  const fourth = await watch();
  assert.equal(fourth.response.status, 503);
  assert.equal(fourth.response.headers.get('retry-after'), '5');
  assert.equal(((await fourth.response.json()) as any).error.code, 'too_many_viewers');

  const before = fast.fragments();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.ok(
    fast.fragments() - before >= 8,
    `the fast viewer got ${fast.fragments() - before} of ~10 fragments`,
  );

  await Promise.all([fast.close(), other.close(), slow.close()]);
  await waitFor('the live ffmpeg stopped after the grace period', () =>
    liveFfmpegs().length === 0 && !t.hub.live.status('porch')!.running ? true : undefined,
  );
  const again = await watch();
  assert.equal(again.response.status, 200, 'starts again for the next viewer');
  await waitFor('a fragment', () => (again.fragments() > 0 ? true : undefined), 20_000);
  await again.close();
});

test('cameras that cannot be watched live as H.264 say why', { timeout: 60_000 }, async () => {
  const { device } = t.hub.devices.create({ name: 'Edge', kind: 'node' });
  await owner.post('/api/cameras', { id: 'attic', name: 'Attic', kind: 'node', deviceId: device.id });
  const cam = await owner.post('/api/cameras', {
    id: 'cot',
    name: 'Cot',
    kind: 'mjpeg',
    sourceUrl: 'http://127.0.0.1:1/stream',
    record: false,
  });
  assert.equal(cam.status, 201);
  await owner.post('/api/cameras', { id: 'shed', name: 'Shed', kind: 'demo', record: false, enabled: false });
  await owner.post('/api/cameras', {
    id: 'gate',
    name: 'Gate',
    kind: 'rtsp',
    sourceUrl: 'rtsp://admin:hunter22@127.0.0.1:1/stream',
    record: false,
  });

  const code = async (url: string) => {
    const response = await viewer.get(url);
    return `${response.status} ${response.body?.error?.code ?? response.body?.kind}`;
  };
  assert.equal(await code('/api/cameras/attic/live'), '409 no_live');
  assert.equal(await code('/api/cameras/attic/live.mp4'), '409 no_live');
  assert.equal(await code('/api/cameras/shed/live'), '409 disabled');
  assert.equal(await code('/api/cameras/shed/live.mp4'), '409 disabled');
  assert.equal(await code('/api/cameras/cot/live.mp4'), '409 not_h264');
  assert.deepEqual((await viewer.get('/api/cameras/cot/live')).body, {
    kind: 'mjpeg',
    url: '/api/cameras/cot/live.mjpeg',
  });
  assert.equal(await code('/api/cameras/nobody/live'), '404 not_found');
  assert.equal(await code('/api/cameras/nobody/live.mp4'), '404 not_found');
  assert.equal(await code('/api/cameras/Not_A_Slug/live.mp4'), '400 invalid_input');
  assert.equal((await t.client().get('/api/cameras/porch/live')).status, 401);
  assert.equal((await t.client().get('/api/cameras/porch/live.mp4')).status, 401);

  // A camera that does not answer: 503 with its error (password masked) and a Retry-After; while the
  // failure backs off, further requests are answered at once instead of each starting an ffmpeg.
  const first = await viewer.get('/api/cameras/gate/live.mp4');
  assert.equal(first.status, 503);
  assert.equal(first.body.error.code, 'live_unavailable');
  assert.match(first.body.error.message, /refused|failed|error/i);
  assert.ok(!JSON.stringify(first.body).includes('hunter22'));
  assert.ok(Number(first.headers.get('retry-after')) >= 1);
  const started = performance.now();
  const second = await viewer.get('/api/cameras/gate/live');
  assert.equal(second.status, 503);
  assert.ok(performance.now() - started < 500, 'answered from the backoff, not by another attempt');
  assert.equal(liveFfmpegs('rtsp://').length, 0, 'no ffmpeg left for the dead camera');
});
