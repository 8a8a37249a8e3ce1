import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../media/fixtures/media-fixtures.js';
import { boundaryFromContentType, type MjpegFrame, MjpegParser } from '../media/index.js';
import {
  CAMERA_WEB_SERVER_BOUNDARY,
  type FakeMjpegCamera,
  startFakeMjpegCamera,
} from './fake-mjpeg-camera.js';

/** A /stream viewer: raw http.get (no pooling), its bytes through the hub's parser. */
function watch(url: string) {
  const viewer = {
    response: undefined as IncomingMessage | undefined,
    frames: [] as MjpegFrame[],
    parser: undefined as MjpegParser | undefined,
    bytes: 0,
    closed: false,
    error: undefined as Error | undefined,
    stop: () => request.destroy(),
  };
  const request = get(url, { agent: false }, (res) => {
    viewer.response = res;
    const boundary = boundaryFromContentType(res.headers['content-type'] ?? null);
    assert.ok(boundary);
    viewer.parser = new MjpegParser(boundary);
    res.on('data', (chunk: Buffer) => {
      viewer.bytes += chunk.length;
      viewer.frames.push(...viewer.parser!.push(chunk));
    });
    res.on('close', () => {
      viewer.closed = true;
    });
  });
  request.on('error', (err) => {
    viewer.error = err;
    viewer.closed = true;
  });
  return viewer;
}

describe('fake ESP32 CameraWebServer', () => {
  let camera: FakeMjpegCamera;
  before(async () => {
    camera = await startFakeMjpegCamera({ fps: 25 });
  });
  after(() => camera.close());

  test('serves the firmware format, frames in turn, that the parser takes whole', async () => {
    const viewer = watch(camera.streamUrl);
    await waitFor('12 frames', () => viewer.frames.length >= 12);
    viewer.stop();
    await waitFor('viewer gone', () => camera.stats.openClients === 0);
    assert.equal(
      viewer.response!.headers['content-type'],
      `multipart/x-mixed-replace;boundary=${CAMERA_WEB_SERVER_BOUNDARY}`,
    );
    assert.equal(viewer.response!.headers['x-framerate'], '60');
    assert.equal(viewer.response!.headers['transfer-encoding'], 'chunked');
    const first = camera.frames.findIndex((f) => f.equals(viewer.frames[0]!.jpeg));
    assert.ok(first >= 0);
    for (const [i, f] of viewer.frames.entries()) {
      assert.ok(f.jpeg.equals(camera.frames[(first + i) % camera.frames.length]!));
    }
    const stamps = viewer.frames.map((f) => f.timestamp!);
    assert.ok(
      stamps.every((t, i) => i === 0 || t > stamps[i - 1]!),
      'X-Timestamp increases',
    );
    assert.deepEqual(viewer.parser!.stats.dropped, {
      torn: 0,
      badLength: 0,
      oversized: 0,
      notJpeg: 0,
      garbageBytes: 0,
    });
    // The JPEGs are real: SOI, JFIF/EXIF segment, EOI, 640x480 testsrc2 from ffmpeg.
    assert.equal(camera.frames[0]!.readUInt16BE(0), 0xffd8);
    assert.equal(camera.frames[0]!.readUInt16BE(camera.frames[0]!.length - 2), 0xffd9);
  });

  test('each kind of damage is counted by the parser, and the frames around it come through', async () => {
    const viewer = watch(camera.streamUrl);
    await waitFor('a first frame', () => viewer.frames.length >= 1);
    const before = { sent: camera.stats.framesSent, got: viewer.frames.length };
    // One at a time with good frames between: bytes after a dropped part belong to that part until the next
    // boundary, so garbage right after damage would be counted with the damage, not as garbage.
    for (const kind of [
      'torn',
      'badLength',
      'garbage',
      'notJpeg',
      'noLength',
      'oversized',
      'garbage',
      'torn',
    ] as const) {
      const done = camera.stats.damageSent[kind] + 1;
      const sent = camera.stats.framesSent;
      camera.injectDamage(kind);
      await waitFor(
        `${kind} and two good frames after it`,
        () => camera.stats.damageSent[kind] >= done && camera.stats.framesSent >= sent + 2,
      );
    }
    const sentGood = camera.stats.framesSent;
    await waitFor(
      'the viewer to catch up',
      () => viewer.frames.length - before.got >= sentGood - before.sent + 1,
    );
    viewer.stop();
    const s = viewer.parser!.stats.dropped;
    assert.equal(s.torn, 2);
    // badLength: the short Content-Length; oversized: the 3 MiB declaration.
    assert.equal(s.badLength, 1);
    assert.equal(s.oversized, 1);
    assert.equal(s.notJpeg, 1);
    assert.equal(s.garbageBytes, camera.stats.garbageBytesSent);
    // Every good frame plus the one without Content-Length, which is valid.
    assert.equal(viewer.frames.length - before.got, sentGood - before.sent + 1);
  });

  test('one stream client at a time: a second one hangs without a response until the first leaves', async () => {
    await waitFor('no clients', () => camera.stats.openClients === 0);
    const total = camera.stats.totalClients;
    const first = watch(camera.streamUrl);
    await waitFor('first served', () => first.frames.length >= 1);
    const second = watch(camera.streamUrl);
    await waitFor('second connected', () => camera.stats.totalClients === total + 2);
    assert.equal(camera.stats.openClients, 2);
    assert.equal(camera.stats.waitingClients, 1);
    const seen = first.frames.length;
    await waitFor('five more frames for the first', () => first.frames.length >= seen + 5);
    assert.equal(second.response, undefined, 'no status line, no headers');
    first.stop();
    await waitFor('second served', () => second.frames.length >= 2);
    assert.equal(camera.stats.waitingClients, 0);
    assert.equal(camera.stats.maxOpenClients >= 2, true);
    second.stop();
  });

  test('stall keeps the connection open and silent; ok resumes it', async () => {
    const viewer = watch(camera.streamUrl);
    await waitFor('frames', () => viewer.frames.length >= 2);
    await camera.setMode('stall');
    const ticks = camera.stats.ticks;
    const bytes = viewer.bytes;
    await waitFor('ten camera ticks', () => camera.stats.ticks >= ticks + 10);
    assert.equal(viewer.bytes, bytes);
    assert.equal(viewer.closed, false);
    await camera.setMode('ok');
    await waitFor('frames again', () => viewer.bytes > bytes && viewer.frames.length >= 3);
    viewer.stop();
  });

  test('down cuts the stream and refuses connections; back up it serves again', async () => {
    const viewer = watch(camera.streamUrl);
    await waitFor('frames', () => viewer.frames.length >= 1);
    await camera.setMode('down');
    await waitFor('stream cut', () => viewer.closed);
    const refused = watch(camera.streamUrl);
    await waitFor('refused', () => refused.error);
    assert.equal((refused.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await camera.setMode('ok');
    const again = watch(camera.streamUrl);
    await waitFor('served again', () => again.frames.length >= 1);
    again.stop();
  });

  test('drop cuts the connection halfway through a part', async () => {
    await waitFor('no clients', () => camera.stats.openClients === 0);
    const viewer = watch(camera.streamUrl);
    await waitFor('frames', () => viewer.frames.length >= 1);
    camera.injectDamage('drop');
    await waitFor('cut', () => viewer.closed);
    assert.equal(camera.stats.damageSent.drop, 1);
  });

  test('/capture returns one JPEG', async () => {
    const res = await fetch(camera.captureUrl);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(Number(res.headers.get('content-length')), body.length);
    assert.ok(camera.frames.some((f) => f.equals(body)));
    assert.equal((await fetch(`${camera.url}/nope`)).status, 404);
  });
});
