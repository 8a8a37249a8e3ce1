import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, waitFor } from '@hearth/hub/testing';
import { type NodeCameraConfig, nodeCameraSchema } from './cameras.js';
import { startCameraFeeds, TsPacketizer } from './feeds.js';

const run = promisify(execFile);
const FAKE_RPICAM = path.join(REPO_ROOT, 'node', 'src', 'testing', 'fake-rpicam', 'rpicam-vid');
const log = { info: () => {}, warn: () => {} };

const camera = (input: unknown): NodeCameraConfig => nodeCameraSchema.parse(input);

/** What ffprobe (ffmpeg's own HTTP client, as the recorder and the hub use it) sees at a feed URL. */
async function probe(url: string) {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-analyzeduration',
      '1000000',
      '-rw_timeout',
      '10000000',
      '-show_entries',
      'stream=codec_name,width,height',
      '-of',
      'json',
      url,
    ],
    { timeout: 20_000 },
  );
  return (JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[] }).streams;
}

/** The first bytes a client gets, with the key presented as a bearer token. */
async function firstBytes(
  url: string,
  key: string | null,
  bytes: number,
): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  if (!response.ok || !response.body)
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    length += value.byteLength;
  }
  await reader.cancel();
  return { status: response.status, body: Buffer.concat(chunks) };
}

test('whole TS packets only: a chunk cut mid-packet waits for the rest; bytes before a sync byte are skipped', () => {
  const packet = (fill: number) => Buffer.concat([Buffer.from([0x47]), Buffer.alloc(187, fill)]);
  const stream = Buffer.concat([packet(1), packet(2), packet(3)]);
  const packetizer = new TsPacketizer();
  assert.equal(packetizer.push(Buffer.from([9, 9, 9])), null);
  assert.equal(packetizer.skipped, 3);
  assert.deepEqual(packetizer.push(stream.subarray(0, 200)), stream.subarray(0, 188));
  assert.equal(packetizer.push(stream.subarray(200, 370)), null);
  assert.deepEqual(packetizer.push(stream.subarray(370)), stream.subarray(188));
});

test('a demo camera’s feed: H.264 in MPEG-TS for the node’s recorder and for the hub’s key, nobody else', async (t) => {
  const feeds = await startCameraFeeds({
    cameras: [camera({ id: 'cradle', source: { type: 'demo', label: 'Cradle' } })],
    host: '127.0.0.1',
    port: 0,
    log,
  });
  t.after(() => feeds.stop());
  const url = `http://127.0.0.1:${feeds.port}/cameras/cradle/live.ts`;

  // The node's own recorder: ffmpeg's HTTP client with the process's key in the URL.
  const [stream] = await probe(feeds.localUrl('cradle'));
  assert.deepEqual(stream, { codec_name: 'h264', width: 640, height: 480 });

  // Anyone without a key, or with a wrong one, is turned away with the challenge ffmpeg answers.
  const anonymous = await fetch(url);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="hearth-node"/);
  assert.equal((await firstBytes(url, 'not-the-key', 10)).status, 401);
  await assert.rejects(probe(`http://hub:guess@127.0.0.1:${feeds.port}/cameras/cradle/live.ts`), /401/);

  // The hub's key, once its heartbeat answer brought it.
  const hubKey = 'k'.repeat(43);
  assert.equal((await firstBytes(url, hubKey, 10)).status, 401, 'not before the hub gave it');
  feeds.setHubKey(hubKey);
  const { status, body } = await firstBytes(url, hubKey, 64 * 1024);
  assert.equal(status, 200);
  assert.ok(body.length >= 64 * 1024);
  for (let offset = 0; offset + 188 <= body.length; offset += 188)
    assert.equal(body[offset], 0x47, `a TS sync byte at ${offset}`);
  const [viaHub] = await probe(`http://hub:${hubKey}@127.0.0.1:${feeds.port}/cameras/cradle/live.ts`);
  assert.equal(viaHub?.codec_name, 'h264');

  assert.equal(
    (await firstBytes(`http://127.0.0.1:${feeds.port}/cameras/attic/live.ts`, hubKey, 1)).status,
    404,
  );
  const post = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${hubKey}` } });
  assert.equal(post.status, 405);
  assert.deepEqual(feeds.health('cradle'), { healthy: true });
});

test('the Pi camera through rpicam-vid: its H.264 copied at the size asked for; a capture that dies ends its clients and starts again', async (t) => {
  process.env.FAKE_RPICAM_SECONDS = '6';
  t.after(() => {
    delete process.env.FAKE_RPICAM_SECONDS;
  });
  const feeds = await startCameraFeeds({
    cameras: [
      camera({
        id: 'porch',
        source: { type: 'rpicam', command: FAKE_RPICAM, width: 320, height: 240, fps: 10 },
      }),
    ],
    host: '127.0.0.1',
    port: 0,
    log,
    restartBaseMs: 300,
  });
  t.after(() => feeds.stop());
  const [stream] = await probe(feeds.localUrl('porch'));
  assert.deepEqual(stream, { codec_name: 'h264', width: 320, height: 240 });

  // A client on the feed when the camera process stops: its response ends (it reconnects), and the
  // capture starts again by itself.
  feeds.setHubKey('hub-key');
  const response = await fetch(`http://127.0.0.1:${feeds.port}/cameras/porch/live.ts`, {
    headers: { authorization: 'Bearer hub-key' },
  });
  assert.equal(response.status, 200);
  const received = Buffer.from(await response.arrayBuffer());
  assert.ok(received.length > 0, 'bytes before the end');
  assert.match(
    feeds.health('porch').detail ?? '',
    /rpicam-vid: exited \(0\)/,
    'the camera process named as the cause',
  );
  await waitFor(
    'the capture running again',
    () => (feeds.health('porch').healthy ? true : undefined),
    10_000,
  );
  const [again] = await probe(feeds.localUrl('porch'));
  assert.equal(again?.codec_name, 'h264');
});

test('a missing camera device, or a missing rpicam-vid, shows in the camera’s health with the reason', async (t) => {
  const feeds = await startCameraFeeds({
    cameras: [
      camera({ id: 'usb', source: { type: 'v4l2', device: '/dev/video-hearth-missing' } }),
      camera({ id: 'pi', source: { type: 'rpicam', command: '/nonexistent/rpicam-vid' } }),
    ],
    host: '127.0.0.1',
    port: 0,
    log,
    restartBaseMs: 50,
  });
  t.after(() => feeds.stop());
  const usb = await waitFor('the v4l2 error', () => feeds.health('usb').detail, 10_000);
  assert.equal(feeds.health('usb').healthy, false);
  assert.match(usb, /\/dev\/video-hearth-missing/);
  const pi = await waitFor('the rpicam error', () => feeds.health('pi').detail, 10_000);
  assert.match(pi, /\/nonexistent\/rpicam-vid: not installed/);
});

test('camera sources are checked: a device outside /dev, an odd size, an unknown source type', () => {
  for (const source of [
    { type: 'v4l2', device: '/etc/passwd' },
    { type: 'v4l2', width: 641 },
    { type: 'rpicam', fps: 0 },
    { type: 'gstreamer' },
  ])
    assert.equal(nodeCameraSchema.safeParse({ id: 'cam', source }).success, false, JSON.stringify(source));
  assert.deepEqual(camera({ id: 'cam', source: { type: 'rpicam' } }).source, {
    type: 'rpicam',
    command: 'rpicam-vid',
    width: 1280,
    height: 720,
    fps: 15,
  });
});
