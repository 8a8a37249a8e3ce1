import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MediaError } from './errors.js';
import { makeTestJpegs, waitFor } from './fixtures/media-fixtures.js';
import { assertBoxesMatchFfprobe, tkhdSize } from './fixtures/mp4-boxes.js';
import { mp4InitHeaderLength, probeSegment, scanFragmentedMp4, trimToLastFragment } from './probe.js';
import {
  type FfmpegLogLine,
  ffmpegVersion,
  parseFfmpegLine,
  parseSegmentListLine,
  type RecorderHandle,
  type RecorderSpec,
  startRecorder,
  stopOrphanRecorders,
} from './recorder.js';

const dirs: string[] = [];
async function staging(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-rec-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Seen {
  file: string;
  at: number;
  bytes: number;
}

/** Starts a recorder and records what it reports; segments are stat'ed the moment they are announced. */
function record(spec: RecorderSpec) {
  const segments: Seen[] = [];
  const logs: FfmpegLogLine[] = [];
  const pending: Promise<void>[] = [];
  let progress = 0;
  const handle: RecorderHandle = startRecorder(spec, {
    onSegment(file) {
      const at = Date.now();
      pending.push(
        stat(file).then((s) => {
          segments.push({ file, at, bytes: s.size });
        }),
      );
    },
    onLog: (line) => logs.push(line),
    onProgress: () => {
      progress++;
    },
  });
  return {
    handle,
    segments,
    logs,
    progress: () => progress,
    settled: () => Promise.all(pending),
    waitForSegments: (n: number, timeoutMs = 15_000) =>
      waitFor(`${n} segments`, () => segments.length >= n, timeoutMs),
  };
}

/** `cam_20250101_120000.mp4` → ms since epoch, reading the name as UTC. */
function nameTime(file: string): number {
  const m = /_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.mp4$/.exec(file);
  assert.ok(m, `segment name ${file}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('recorder with real ffmpeg', { concurrency: true }, () => {
  const savedTz = process.env.TZ;
  before(() => {
    // ffmpeg inherits the hub's environment; names must still be UTC when the hub runs in local time.
    process.env.TZ = 'Asia/Seoul';
  });
  after(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  test('demo input: UTC-named fragmented segments, each announced when finished; stop() closes the last cleanly', async () => {
    const dir = await staging();
    const started = Date.now();
    const rec = record({
      input: { kind: 'demo', label: 'Test: demo', width: 320, height: 240, fps: 10 },
      segmentSeconds: 2,
      stagingDir: dir,
      cameraId: 'demo-1',
    });
    await rec.waitForSegments(2);
    assert.match(rec.handle.commandLine ?? '', /-f lavfi -re -i testsrc2=size=320x240:rate=10 /);
    assert.ok(rec.progress() > 0, 'progress reported');
    const exit = await rec.handle.stop();
    await rec.settled();
    assert.deepEqual(exit, { code: 0, signal: null, lastError: null });

    const files = (await readdir(dir)).sort();
    assert.deepEqual(
      rec.segments.map((s) => path.basename(s.file)),
      files,
      'every file announced once, in order, none left unannounced',
    );
    assert.ok(files.length >= 3);
    for (const f of files) assert.match(f, /^demo-1_\d{8}_\d{6}\.mp4$/);
    const first = nameTime(files[0]!);
    assert.ok(first >= Math.floor(started / 1000) * 1000 - 1000 && first <= Date.now(), 'named in UTC');

    for (const [i, seg] of rec.segments.entries()) {
      const probe = await assertBoxesMatchFfprobe(seg.file, 100);
      assert.equal((await stat(seg.file)).size, seg.bytes, `${seg.file} grew after it was announced`);
      assert.equal(probe.codec, 'h264');
      assert.equal(probe.width, 320);
      assert.equal(probe.height, 240);
      assert.equal(probe.complete, true);
      assert.ok(probe.initHeaderBytes > 0);
      assert.equal(probe.initHeaderBytes, await mp4InitHeaderLength(seg.file));
      assert.equal(probe.bytes, seg.bytes);
      if (i < rec.segments.length - 1)
        assert.ok(Math.abs(probe.durationMs - 2000) <= 100, `${probe.durationMs} ms`);
      else assert.ok(probe.durationMs > 0 && probe.durationMs <= 2100, `last: ${probe.durationMs} ms`);
      // GOP = 1 s at 10 fps: one fragment per keyframe.
      if (i < rec.segments.length - 1) assert.equal(probe.fragments, 2);
    }
  });

  test('SIGKILL mid-segment: earlier segments play in full, the torn one up to its last fragment', async () => {
    const dir = await staging();
    const rec = record({
      // The product's default demo size, 640x480.
      input: { kind: 'demo', label: 'kill', fps: 10 },
      // Long enough that the kill lands inside the segment even when the machine is busy.
      segmentSeconds: 4,
      stagingDir: dir,
      cameraId: 'cam',
    });
    await rec.waitForSegments(1);
    // Kill once the next segment holds a fragment, i.e. well inside it.
    const inProgress = await waitFor('a second segment with a fragment', async () => {
      for (const name of await readdir(dir)) {
        const file = path.join(dir, name);
        if (file === rec.segments[0]!.file) continue;
        const layout = await scanFragmentedMp4(file).catch(() => undefined);
        if (layout && layout.fragments >= 1) return file;
      }
      return undefined;
    });
    rec.handle.kill();
    const exit = await rec.handle.exited;
    assert.equal(exit.signal, 'SIGKILL');
    await rec.settled();
    assert.equal(rec.segments.length, 1, 'the killed segment is never announced');

    const finished = await assertBoxesMatchFfprobe(rec.segments[0]!.file, 100);
    assert.ok(Math.abs(finished.durationMs - 4000) <= 100, `${finished.durationMs}`);
    assert.equal(finished.complete, true);
    assert.deepEqual([finished.width, finished.height], [640, 480]);

    const torn = await probeSegment(inProgress);
    assert.equal(torn.source, 'boxes');
    assert.equal(torn.codec, 'h264');
    assert.ok(torn.durationMs >= 1000 && torn.durationMs < 4000, `${torn.durationMs}`);
    assert.equal(torn.durationMs % 1000, 0, 'whole 1-s fragments only');
    const removed = await trimToLastFragment(inProgress);
    assert.equal(removed, torn.bytes - torn.playableBytes);
    // ffprobe on the trimmed file (whole fragments only) agrees with the boxes read from the torn one.
    const trimmed = await assertBoxesMatchFfprobe(inProgress, 100);
    assert.equal(trimmed.complete, true);
    assert.equal(trimmed.durationMs, torn.durationMs);
    assert.equal((await probeSegment(inProgress, { method: 'ffprobe' })).durationMs, torn.durationMs);
  });

  test('mjpeg-pipe: real JPEGs at 10 fps become H.264 segments', async () => {
    const jpegs = await makeTestJpegs(10);
    const dir = await staging();
    const rec = record({
      input: { kind: 'mjpeg-pipe', fps: 10 },
      segmentSeconds: 2,
      stagingDir: dir,
      cameraId: 'esp',
    });
    assert.ok(rec.handle.frames);
    let n = 0;
    // The camera's pace: a frame every 100 ms, as an ESP32 would deliver them.
    const pump = setInterval(() => rec.handle.writeFrame(jpegs[n++ % jpegs.length]!), 100);
    try {
      await rec.waitForSegments(2);
    } finally {
      clearInterval(pump);
    }
    const exit = await rec.handle.stop();
    await rec.settled();
    assert.equal(exit.code, 0);
    assert.equal(exit.lastError, null);
    assert.equal(rec.handle.droppedFrames, 0);
    const names = rec.segments.map((s) => path.basename(s.file));
    assert.equal(new Set(names).size, names.length, 'distinct names');
    assert.ok(rec.segments.length >= 3);
    for (const [i, seg] of rec.segments.entries()) {
      const probe = await assertBoxesMatchFfprobe(seg.file, 100);
      assert.equal(probe.codec, 'h264');
      assert.equal(probe.width, 640);
      assert.equal(probe.height, 480);
      if (i < rec.segments.length - 1)
        assert.ok(Math.abs(probe.durationMs - 2000) <= 200, `${probe.durationMs}`);
    }
    assert.equal(rec.logs.filter((l) => l.level === 'error').length, 0, JSON.stringify(rec.logs));
  });

  test('stream input: H.264 over HTTP is copied into segments', async () => {
    // A stand-in camera: ffmpeg encoding MPEG-TS in real time, served by a Node HTTP server. Its pixels are
    // not square (SAR 4:3), so tkhd's 16.16 width (853.33) is not the coded width (640) ffprobe reports.
    const encoders: ChildProcess[] = [];
    const server: Server = createServer((_req, res) => {
      const enc = spawn(
        'ffmpeg',
        [
          ...[
            '-hide_banner',
            '-loglevel',
            'error',
            '-re',
            '-f',
            'lavfi',
            '-i',
            'testsrc2=size=640x480:rate=10',
          ],
          ...['-vf', 'setsar=4/3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10'],
          ...['-f', 'mpegts', 'pipe:1'],
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      encoders.push(enc);
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      enc.stdout!.pipe(res);
      res.on('close', () => enc.kill('SIGKILL'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const dir = await staging();
      const rec = record({
        input: {
          kind: 'stream',
          url: `http://viewer:secret@127.0.0.1:${port}/live.ts`,
          analyzeDurationMs: 500,
        },
        segmentSeconds: 2,
        stagingDir: dir,
        cameraId: 'ipcam',
      });
      await rec.waitForSegments(2);
      assert.match(rec.handle.commandLine ?? '', /-c:v copy|-vcodec copy/);
      assert.doesNotMatch(rec.handle.commandLine ?? '', /secret/);
      const exit = await rec.handle.stop();
      await rec.settled();
      assert.equal(exit.code, 0);
      const names = rec.segments.map((s) => path.basename(s.file));
      assert.equal(new Set(names).size, names.length, 'distinct names');
      for (const seg of rec.segments) {
        // Wall-clock timestamps: every trun carries per-sample durations.
        const probe = await assertBoxesMatchFfprobe(seg.file, 100);
        assert.deepEqual([probe.codec, probe.width, probe.height], ['h264', 640, 480]);
        const tkhd = tkhdSize(await readFile(seg.file));
        assert.ok(Math.abs(tkhd.width - 853.333) < 0.01 && tkhd.height === 480, JSON.stringify(tkhd));
      }
      const probe = await probeSegment(rec.segments[0]!.file);
      // Copy cuts at the first keyframe after 2 s; the source's GOP is 1 s.
      assert.ok(probe.durationMs >= 1500 && probe.durationMs <= 3300, `${probe.durationMs}`);
    } finally {
      for (const enc of encoders) enc.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('refused connections end ffmpeg with a parsed "Connection refused"', async () => {
    const port = await closedPort();
    const dir = await staging();
    for (const url of [`http://127.0.0.1:${port}/stream`, `rtsp://admin:pw@127.0.0.1:${port}/h264`]) {
      const rec = record({
        input: { kind: 'stream', url },
        segmentSeconds: 10,
        stagingDir: dir,
        cameraId: 'gone',
      });
      const exit = await rec.handle.exited;
      assert.notEqual(exit.code, 0);
      assert.match(exit.lastError ?? '', /Connection refused/);
      assert.doesNotMatch(exit.lastError ?? '', /pw@/);
      assert.ok(rec.logs.some((l) => l.level === 'error' && /Connection refused/.test(l.message)));
      assert.deepEqual(rec.segments, []);
    }
    assert.deepEqual(await readdir(dir), []);
  });

  test('a staging folder that does not exist: ffmpeg exits with the specific error, not the generic last line', async () => {
    const rec = record({
      input: { kind: 'demo', label: 'x', width: 160, height: 120 },
      segmentSeconds: 2,
      stagingDir: path.join(await staging(), 'missing'),
      cameraId: 'nodir',
    });
    const exit = await rec.handle.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.lastError ?? '', /No such file or directory/);
    assert.ok(
      rec.logs.some((l) => /Error initializing output stream/.test(l.message)),
      'the generic line is still logged',
    );
  });

  test('stop() interrupts a source that accepted the connection and then went silent', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      res.flushHeaders();
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const rec = record({
        input: { kind: 'stream', url: `http://127.0.0.1:${port}/live.ts` },
        segmentSeconds: 10,
        stagingDir: await staging(),
        cameraId: 'mute',
      });
      await waitFor('ffmpeg to connect', () => sockets.size > 0);
      const t0 = Date.now();
      const exit = await rec.handle.stop(8000);
      assert.ok(Date.now() - t0 < 5000, 'SIGINT, not the SIGKILL deadline, ended it');
      assert.equal(exit.signal, null);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('an ffmpeg orphaned by a SIGKILLed hub records on until stopOrphanRecorders ends it cleanly', async () => {
    const dir = await staging();
    // A stand-in hub: a Node process that starts a demo recorder, prints ffmpeg's pid, and is then killed.
    const script = `
      import { startRecorder } from ${JSON.stringify(path.resolve(import.meta.dirname, 'recorder.ts'))};
      const h = startRecorder({ input: { kind: 'demo', label: 'orphan', width: 160, height: 120 }, segmentSeconds: 2,
        stagingDir: ${JSON.stringify(dir)}, cameraId: 'orphan' }, { onSegment() {} });
      const t = setInterval(() => { if (h.pid) { console.log(h.pid); clearInterval(t); } }, 10);`;
    const hub = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    hub.stdout!.on('data', (chunk) => {
      out += chunk;
    });
    const ffmpegPid = Number(await waitFor('ffmpeg pid', () => /^\d+\n/.exec(out)?.[0]));
    hub.kill('SIGKILL');
    await new Promise((resolve) => hub.on('exit', resolve));
    await waitFor('the orphan to write a second file', async () => (await readdir(dir)).length >= 2);
    process.kill(ffmpegPid, 0); // still alive

    assert.deepEqual(await stopOrphanRecorders(await staging()), [], 'other folders untouched');
    assert.deepEqual(await stopOrphanRecorders(dir), [ffmpegPid]);
    // Gone, or a zombie waiting for whichever process adopted it to reap it.
    const state = await readFile(`/proc/${ffmpegPid}/stat`, 'latin1').then(
      (stat) => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3),
      () => 'gone',
    );
    assert.ok(state === 'gone' || state === 'Z', state);
    for (const name of await readdir(dir)) {
      const probe = await probeSegment(path.join(dir, name));
      assert.equal(probe.complete, true, `${name} finished by SIGINT`);
    }
  });

  test('demo without its font still records (no clock text)', async () => {
    const dir = await staging();
    const rec = record({
      input: { kind: 'demo', label: 'x', width: 160, height: 120, fps: 5, fontFile: '/nonexistent/font.ttf' },
      segmentSeconds: 1,
      stagingDir: dir,
      cameraId: 'nofont',
    });
    await rec.waitForSegments(1);
    assert.doesNotMatch(rec.handle.commandLine ?? '', /drawtext/);
    rec.handle.kill();
    assert.equal((await rec.handle.exited).signal, 'SIGKILL');
    await rec.settled();
    assert.equal((await probeSegment(rec.segments[0]!.file)).codec, 'h264');
  });
});

describe('recorder contract', () => {
  test('rejects specs that would write somewhere unexpected', () => {
    const base: RecorderSpec = {
      input: { kind: 'mjpeg-pipe', fps: 10 },
      segmentSeconds: 10,
      stagingDir: '/tmp',
      cameraId: 'ok',
    };
    const bad: RecorderSpec[] = [
      { ...base, cameraId: '../etc' },
      { ...base, cameraId: 'a%Y' },
      { ...base, cameraId: '' },
      { ...base, segmentSeconds: 0.5 },
      { ...base, segmentSeconds: 301 },
      { ...base, input: { kind: 'stream', url: 'file:///etc/passwd' } },
      { ...base, input: { kind: 'mjpeg-pipe', fps: 0 } },
      { ...base, input: { kind: 'demo', label: 'x', width: 321 } },
    ];
    for (const spec of bad) {
      assert.throws(
        () => startRecorder(spec, { onSegment() {} }),
        (err: unknown) => err instanceof MediaError && err.code === 'invalid_spec',
        JSON.stringify(spec),
      );
    }
  });

  test('ffmpegVersion', async () => {
    assert.match(await ffmpegVersion(), /^ffmpeg version \S+/);
  });

  test('parseSegmentListLine', () => {
    assert.deepEqual(parseSegmentListLine('cam_20261123_191422.mp4,0.000000,2.000000'), {
      file: 'cam_20261123_191422.mp4',
      start: 0,
      end: 2,
    });
    assert.deepEqual(parseSegmentListLine('"a,""b"".mp4",2.994824,5.000488'), {
      file: 'a,"b".mp4',
      start: 2.994824,
      end: 5.000488,
    });
    assert.equal(parseSegmentListLine('frame=12'), null);
    assert.equal(parseSegmentListLine(''), null);
  });
});

describe('parseFfmpegLine (lines captured from Debian ffmpeg 5.1)', () => {
  test('errors with their component, credentials masked', () => {
    assert.deepEqual(
      parseFfmpegLine(
        '[tcp @ 0x5563afd85080] [error] Connection to tcp://127.0.0.1:9 failed: Connection refused',
      ),
      {
        level: 'error',
        source: 'tcp',
        message: 'Connection to tcp://127.0.0.1:9 failed: Connection refused',
      },
    );
    assert.deepEqual(parseFfmpegLine('[error] rtsp://admin:hunter2@10.0.0.5:554/h264: Connection refused'), {
      level: 'error',
      message: 'rtsp://***@10.0.0.5:554/h264: Connection refused',
    });
    assert.deepEqual(
      parseFfmpegLine('[error] Error while decoding stream #0:0: Invalid data found when processing input'),
      {
        level: 'error',
        message: 'Error while decoding stream #0:0: Invalid data found when processing input',
      },
    );
    assert.deepEqual(parseFfmpegLine('[fatal] Error marking filters as finished'), {
      level: 'error',
      message: 'Error marking filters as finished',
    });
  });

  test('warnings', () => {
    assert.deepEqual(
      parseFfmpegLine(
        '[mp4 @ 0x55d0c1a4b2c0] [warning] Non-monotonous DTS in output stream 0:0; previous: 1800, current: 1500; changing to 1801. This may result in incorrect timestamps in the output file.',
      ),
      {
        level: 'warning',
        source: 'mp4',
        message:
          'Non-monotonous DTS in output stream 0:0; previous: 1800, current: 1500; changing to 1801. This may result in incorrect timestamps in the output file.',
      },
    );
    assert.deepEqual(parseFfmpegLine('[mjpeg @ 0x56369e974e00] [error] dqt: len 30572 is too large'), {
      level: 'error',
      source: 'mjpeg',
      message: 'dqt: len 30572 is too large',
    });
  });

  test('noise and progress are dropped', () => {
    for (const line of [
      '',
      '   ',
      'frame=31',
      'speed=   0x',
      'progress=continue',
      'out_time=00:00:01.600098',
      '[swscaler @ 0x55acf65d7a80] [swscaler @ 0x55acf65e4a40] [warning] deprecated pixel format used, make sure you did set range correctly',
      "Consider increasing the value for the 'analyzeduration' (0) and 'probesize' (5000000) options",
    ]) {
      assert.equal(parseFfmpegLine(line), null, line);
    }
    assert.deepEqual(parseFfmpegLine('    Last message repeated 3 times'), {
      level: 'info',
      message: 'Last message repeated',
      repeated: 3,
    });
  });
});
