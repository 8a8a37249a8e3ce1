import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MediaError } from './errors.js';
import { prng, waitFor } from './fixtures/media-fixtures.js';
import { find, readBoxes, toHeadersV1, toTrexDurations, writeBoxes } from './fixtures/mp4-boxes.js';
import { makeSegments } from './fixtures/segments.js';
import { Mp4BoxSplitter, parseFragment, parseLiveInit } from './fmp4.js';
import { type LiveFragment, type LiveInit, startLiveStream } from './live-stream.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-live-'));

function ffprobeJson(file: string, args: string[]): any {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', ...args, file]).toString());
}

/** Top-level boxes of a finished fragmented MP4: [type, bytes]. */
function topLevel(bytes: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = bytes.readUInt32BE(at);
    out.push([bytes.toString('latin1', at + 4, at + 8), bytes.subarray(at, at + size)]);
    at += size;
  }
  return out;
}

test('the box splitter returns the same boxes however the bytes are cut, and refuses what is not a box stream', async () => {
  const [segment] = await makeSegments(dir, { count: 1, seconds: 3 });
  const bytes = readFileSync(segment!.file);
  const expected = topLevel(bytes).map(([type, box]) => `${type}:${box.length}`);
  const random = prng(7);
  for (let round = 0; round < 20; round++) {
    const splitter = new Mp4BoxSplitter();
    const got: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      const cut = Math.max(1, Math.floor(random() * (round % 2 ? 64 : 70_000)));
      for (const box of splitter.push(bytes.subarray(at, at + cut)))
        got.push(`${box.type}:${box.bytes.length}`);
      at += cut;
    }
    assert.deepEqual(got, expected);
    assert.equal(splitter.bufferedBytes, 0);
  }
  assert.throws(() => new Mp4BoxSplitter().push(Buffer.from('<html>hello</html>')), MediaError);
  const huge = Buffer.alloc(8);
  huge.writeUInt32BE(64 * 1024 * 1024, 0);
  huge.write('mdat', 4, 'latin1');
  assert.throws(() => new Mp4BoxSplitter(1024 * 1024).push(huge), /larger than/);
  const zero = Buffer.from([0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74]);
  assert.throws(() => new Mp4BoxSplitter().push(zero), /size 0/);
});

test('the codec string comes from avcC and agrees with ffprobe; keyframes are read from every flag layout', async () => {
  const [segment] = await makeSegments(dir, { count: 1, seconds: 3, size: '640x480' });
  const bytes = readFileSync(segment!.file);
  const boxes = topLevel(bytes);
  const init = Buffer.concat(boxes.filter(([type]) => type === 'ftyp' || type === 'moov').map(([, b]) => b));
  const parsed = parseLiveInit(init);
  assert.ok(typeof parsed !== 'string', String(parsed));
  const stream = ffprobeJson(segment!.file, ['-show_streams']).streams[0];
  assert.equal(stream.profile, 'Constrained Baseline');
  // Constrained Baseline: profile_idc 66 (0x42), constraint_set1 (0xC0); level_idc is ffprobe's `level`.
  assert.equal(parsed.init.codec, `avc1.42C0${stream.level.toString(16).toUpperCase().padStart(2, '0')}`);
  assert.deepEqual([parsed.init.width, parsed.init.height], [640, 480]);

  const moofs = boxes.filter(([type]) => type === 'moof').map(([, b]) => b);
  assert.equal(moofs.length, 3);
  const infos = moofs.map((moof) => parseFragment(moof, parsed));
  for (const info of infos) assert.ok(typeof info !== 'string' && info.keyframe, JSON.stringify(info));
  const times = infos.map((info) =>
    typeof info === 'string' ? -1 : info.decodeTime / parsed.init.timescale,
  );
  assert.deepEqual(times, [0, 1, 2]);

  // Rewritten to 64-bit headers and to durations from trex: the same answers.
  const tree = readBoxes(bytes);
  toHeadersV1(tree);
  toTrexDurations(tree);
  const rewritten = writeBoxes(tree);
  const rewrittenInit = parseLiveInit(
    writeBoxes(readBoxes(rewritten).filter((b) => b.type === 'ftyp' || b.type === 'moov')),
  );
  assert.ok(typeof rewrittenInit !== 'string', String(rewrittenInit));
  const again = find(readBoxes(rewritten), 'moof').map((moof) =>
    parseFragment(writeBoxes([moof]), rewrittenInit),
  );
  assert.deepEqual(again, infos);

  assert.equal(typeof parseLiveInit(Buffer.from('not an mp4 at all')), 'string');
  assert.match(String(parseFragment(moofs[0]!.subarray(0, 40), parsed)), /fit|short/);
});

test('a demo live stream: init first, then fragments every ~200 ms, one keyframe per second, decodable, and little delay', {
  timeout: 30_000,
}, async () => {
  let init: LiveInit | undefined;
  const fragments: LiveFragment[] = [];
  const handle = startLiveStream(
    { input: { kind: 'demo', label: 'Porch' } },
    {
      onInit: (value) => {
        assert.equal(fragments.length, 0, 'init before any fragment');
        init = value;
      },
      onFragment: (fragment) => fragments.push(fragment),
    },
  );
  await waitFor('16 fragments', () => fragments.length >= 16, 15_000);
  const exit = await handle.stop();
  assert.equal(exit.lastError, null);
  assert.match(handle.commandLine!, /-tune zerolatency/);
  assert.match(
    handle.commandLine!,
    /-movflags empty_moov\+default_base_moof\+frag_keyframe -frag_duration 200000/,
  );

  assert.ok(init);
  assert.match(init.codec, /^avc1\.42C0[0-9A-F]{2}$/);
  assert.ok(fragments[0]!.keyframe, 'the first fragment starts with a keyframe');
  assert.deepEqual(
    fragments.slice(0, 15).map((f) => f.keyframe),
    [0, 1, 2].flatMap(() => [true, false, false, false, false]),
    'a keyframe every 5th fragment: 1-s GOP cut every 200 ms',
  );
  for (const [i, fragment] of fragments.entries()) {
    assert.equal(fragment.seq, i);
    assert.ok(Math.abs(fragment.endSeconds - fragment.startSeconds - 0.2) < 0.011, JSON.stringify(fragment));
  }
  // The delay the hub sees: wall time since spawn minus media time at the end of the newest fragment.
  const delays = fragments.map((f) => f.receivedAt - handle.startedAt! - f.endSeconds * 1000);
  const worst = Math.max(...delays);
  console.log(`demo live stream: delay from spawn, per fragment: max ${worst.toFixed(0)} ms`);
  assert.ok(worst < 2000, `delay ${worst} ms`);

  const file = path.join(dir, 'demo-live.mp4');
  writeFileSync(file, Buffer.concat([init.bytes, ...fragments.map((f) => f.bytes)]));
  const frames = ffprobeJson(file, ['-select_streams', 'v', '-show_entries', 'frame=key_frame']).frames;
  assert.ok(frames.length >= 30, `${frames.length} frames decoded`);
  assert.equal(frames[0].key_frame, 1);
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a stream camera is copied, not re-encoded (an HTTP MPEG-TS source standing in for RTSP), and a dead one fails with its error', {
  timeout: 40_000,
}, async () => {
  const port = await freePort();
  // An H.264 camera with a 2-s GOP: fragments are still cut every 200 ms, keyframes flagged where they are.
  const source = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10'],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-g',
        '20',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-f', 'mpegts', '-listen', '1', `http://127.0.0.1:${port}/cam.ts`],
    ],
    { stdio: 'ignore' },
  );
  try {
    // ffmpeg -listen accepts one client, so no probe connection: give it time to bind.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    let init: LiveInit | undefined;
    const fragments: LiveFragment[] = [];
    const handle = startLiveStream(
      { input: { kind: 'stream', url: `http://127.0.0.1:${port}/cam.ts`, analyzeDurationMs: 500 } },
      { onInit: (value) => (init = value), onFragment: (fragment) => fragments.push(fragment) },
    );
    await waitFor('3 keyframe fragments', () => fragments.filter((f) => f.keyframe).length >= 3, 20_000);
    await handle.stop();
    assert.match(handle.commandLine!, /-vcodec copy/);
    assert.doesNotMatch(handle.commandLine!, /libx264/);
    assert.deepEqual([init?.width, init?.height], [320, 240]);
    const keyAt = fragments.findIndex((f) => f.keyframe);
    const nextKey = fragments.findIndex((f, i) => i > keyAt && f.keyframe);
    // Wall-clock timestamps make fragment lengths vary with arrival jitter: about 10 per GOP, never 1.
    assert.ok(
      nextKey - keyAt >= 5,
      `keyframes ${nextKey - keyAt} fragments apart (a 2-s GOP cut every 200 ms)`,
    );
    const file = path.join(dir, 'copied.mp4');
    writeFileSync(file, Buffer.concat([init!.bytes, ...fragments.slice(keyAt).map((f) => f.bytes)]));
    const frames = ffprobeJson(file, ['-select_streams', 'v', '-show_entries', 'frame=key_frame']).frames;
    assert.equal(frames[0].key_frame, 1);
    assert.ok(frames.length >= 30, `${frames.length} frames`);
  } finally {
    source.kill('SIGKILL');
  }

  const dead = startLiveStream(
    { input: { kind: 'stream', url: 'rtsp://admin:hunter22@127.0.0.1:1/live', timeoutMs: 2000 } },
    { onInit: () => assert.fail('no init from a dead camera'), onFragment: () => {} },
  );
  const exit = await dead.exited;
  assert.notEqual(exit.code, 0);
  assert.match(exit.lastError ?? '', /refused|failed|error/i);
  assert.ok(!dead.commandLine?.includes('hunter22'), 'the password is masked in the command line');
});

test('specs are checked before ffmpeg runs', () => {
  assert.throws(
    () =>
      startLiveStream({ input: { kind: 'demo', label: 'x', width: 641 } }, { onInit() {}, onFragment() {} }),
    /width/,
  );
  assert.throws(
    () =>
      startLiveStream(
        { input: { kind: 'stream', url: 'file:///etc/passwd' } },
        { onInit() {}, onFragment() {} },
      ),
    /rtsp/,
  );
  assert.throws(
    () =>
      startLiveStream(
        { input: { kind: 'demo', label: 'x' }, fragmentMs: -1 },
        { onInit() {}, onFragment() {} },
      ),
    /fragmentMs/,
  );
});
