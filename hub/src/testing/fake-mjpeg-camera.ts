// A stand-in for an ESP32-CAM running the Arduino CameraWebServer example, for tests and demos.
//
// What it copies from the firmware (app_httpd.cpp):
// - GET /stream answers `Content-Type: multipart/x-mixed-replace;boundary=123456789000000000000987654321`
//   (plus `Access-Control-Allow-Origin: *` and `X-Framerate: 60`), chunked, and then for every frame writes
//   `\r\n--<boundary>\r\n`, `Content-Type: image/jpeg\r\nContent-Length: N\r\nX-Timestamp: s.us\r\n\r\n`
//   and the N JPEG bytes. X-Timestamp is the frame's capture time, seconds since boot unless NTP ran.
// - One stream client at a time. The firmware runs esp_http_server, a single task that calls the stream
//   handler, which loops until its client goes away. A second client's TCP connection is accepted by the
//   network stack, but nobody reads its request: it hangs, with no response at all, until the first client
//   disconnects, and is then served. This fake does the same (a queue), so a hub that opens a second
//   connection sees what it would see on real hardware: nothing.
// - GET /capture returns one JPEG (the firmware serves it on port 80 and the stream on port 81; one port
//   here, and /capture is answered even while a stream runs, as port 80 would).
// Frames are real JPEGs (ffmpeg's testsrc2) unless given.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { makeTestJpegs } from '../media/fixtures/media-fixtures.js';

export const CAMERA_WEB_SERVER_BOUNDARY = '123456789000000000000987654321';

export type FakeCameraMode =
  /** Frames at the configured rate. */
  | 'ok'
  /** The stream connection stays open but nothing more is sent (a camera task stuck in its loop). */
  | 'stall'
  /** Open connections are cut and new ones refused (ECONNREFUSED): the camera lost power or Wi-Fi. */
  | 'down';

export type FakeCameraDamage =
  /** Content-Length N, only half the JPEG, then the next part. */
  | 'torn'
  /** Content-Length 100 bytes short of the JPEG that follows. */
  | 'badLength'
  /** 1–4 KiB of random bytes between two parts. */
  | 'garbage'
  /** A text/plain part. */
  | 'notJpeg'
  /** A whole JPEG without Content-Length (valid: a parser must still take it). */
  | 'noLength'
  /** Content-Length: 3 MiB over a short body. */
  | 'oversized'
  /** The connection is cut halfway through a part. */
  | 'drop';

export interface FakeMjpegCameraOptions {
  /** Frames per second on /stream. Default 10. */
  fps?: number;
  /** JPEGs to serve in turn; default: 10 frames of testsrc2 at `size`. */
  frames?: Buffer[];
  /** Default 640x480. */
  size?: string;
}

export interface FakeMjpegCameraStats {
  /** /stream requests ever received. */
  totalClients: number;
  /** /stream connections open now, served or waiting. */
  openClients: number;
  /** Of those, waiting behind the one being served. */
  waitingClients: number;
  /** The most /stream connections ever open at once. */
  maxOpenClients: number;
  /** Whole, undamaged frames written. */
  framesSent: number;
  /** Damage written, by kind. */
  damageSent: Record<FakeCameraDamage, number>;
  garbageBytesSent: number;
  captures: number;
  /** Timer ticks, so a test can wait for time to pass on the camera's clock rather than sleep. */
  ticks: number;
}

export interface FakeMjpegCamera {
  /** http://127.0.0.1:port */
  url: string;
  streamUrl: string;
  captureUrl: string;
  port: number;
  boundary: string;
  frames: readonly Buffer[];
  readonly stats: FakeMjpegCameraStats;
  readonly mode: FakeCameraMode;
  setMode(mode: FakeCameraMode): Promise<void>;
  /** Applies to the next `count` parts (one each). */
  injectDamage(kind: FakeCameraDamage, count?: number): void;
  close(): Promise<void>;
}

interface StreamClient {
  req: IncomingMessage;
  res: ServerResponse;
  serving: boolean;
}

export async function startFakeMjpegCamera(options: FakeMjpegCameraOptions = {}): Promise<FakeMjpegCamera> {
  const fps = options.fps ?? 10;
  const frames = options.frames?.length ? options.frames : await makeTestJpegs(10, options.size ?? '640x480');
  const boundary = CAMERA_WEB_SERVER_BOUNDARY;
  const bootedAt = process.hrtime.bigint();
  const stats: FakeMjpegCameraStats = {
    totalClients: 0,
    openClients: 0,
    waitingClients: 0,
    maxOpenClients: 0,
    framesSent: 0,
    damageSent: { torn: 0, badLength: 0, garbage: 0, notJpeg: 0, noLength: 0, oversized: 0, drop: 0 },
    garbageBytesSent: 0,
    captures: 0,
    ticks: 0,
  };
  let mode: FakeCameraMode = 'ok';
  let next = 0;
  const damage: FakeCameraDamage[] = [];
  const clients: StreamClient[] = [];
  const sockets = new Set<Socket>();

  const countClients = () => {
    stats.openClients = clients.length;
    stats.waitingClients = clients.filter((c) => !c.serving).length;
    stats.maxOpenClients = Math.max(stats.maxOpenClients, stats.openClients);
  };

  const serveNext = () => {
    if (mode !== 'ok' || clients.some((c) => c.serving)) return;
    const client = clients[0];
    if (!client) return;
    client.serving = true;
    client.res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace;boundary=${boundary}`,
      'Access-Control-Allow-Origin': '*',
      'X-Framerate': '60',
    });
    client.res.flushHeaders();
    countClients();
  };

  const timestamp = () => {
    const micros = (process.hrtime.bigint() - bootedAt) / 1000n;
    return `${micros / 1_000_000n}.${String(micros % 1_000_000n).padStart(6, '0')}`;
  };

  const partHead = (headers: string[]) =>
    Buffer.from(`\r\n--${boundary}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`, 'latin1');

  const sendFrame = (client: StreamClient) => {
    const res = client.res;
    if (res.writableNeedDrain) return; // The firmware blocks in send(); frames are skipped meanwhile.
    const jpeg = frames[next++ % frames.length]!;
    const kind = damage.shift();
    const ts = `X-Timestamp: ${timestamp()}`;
    const type = 'Content-Type: image/jpeg';
    switch (kind) {
      case undefined:
        res.write(Buffer.concat([partHead([type, `Content-Length: ${jpeg.length}`, ts]), jpeg]));
        stats.framesSent++;
        return;
      case 'torn':
        res.write(
          Buffer.concat([
            partHead([type, `Content-Length: ${jpeg.length}`, ts]),
            jpeg.subarray(0, jpeg.length >> 1),
          ]),
        );
        break;
      case 'badLength':
        res.write(Buffer.concat([partHead([type, `Content-Length: ${jpeg.length - 100}`, ts]), jpeg]));
        break;
      case 'garbage': {
        // Random bytes cannot contain the 32-byte delimiter by chance (p ≈ 2^-256 per position).
        const junk = randomBytes(1024 + Math.floor(Math.random() * 3072));
        stats.garbageBytesSent += junk.length;
        res.write(junk);
        break;
      }
      case 'notJpeg': {
        const text = Buffer.from('camera says hello\n');
        res.write(
          Buffer.concat([partHead(['Content-Type: text/plain', `Content-Length: ${text.length}`, ts]), text]),
        );
        break;
      }
      case 'noLength':
        res.write(Buffer.concat([partHead([type, ts]), jpeg]));
        break;
      case 'oversized':
        res.write(Buffer.concat([partHead([type, `Content-Length: ${3 * 1024 * 1024}`, ts]), jpeg]));
        break;
      case 'drop':
        res.write(
          Buffer.concat([partHead([type, `Content-Length: ${jpeg.length}`, ts]), jpeg.subarray(0, 1000)]),
        );
        client.req.socket.destroy();
        break;
    }
    stats.damageSent[kind]++;
  };

  const timer = setInterval(() => {
    stats.ticks++;
    if (mode !== 'ok') return;
    const client = clients.find((c) => c.serving);
    if (client) sendFrame(client);
  }, 1000 / fps);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://camera');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/capture') {
      stats.captures++;
      const jpeg = frames[next++ % frames.length]!;
      res.writeHead(200, {
        'Content-Type': 'image/jpeg',
        'Content-Length': jpeg.length,
        'Content-Disposition': 'inline; filename=capture.jpg',
        'Access-Control-Allow-Origin': '*',
        'X-Timestamp': timestamp(),
      });
      res.end(jpeg);
      return;
    }
    if (url.pathname !== '/stream') {
      res.writeHead(404).end();
      return;
    }
    stats.totalClients++;
    const client: StreamClient = { req, res, serving: false };
    clients.push(client);
    countClients();
    req.socket.on('close', () => {
      const i = clients.indexOf(client);
      if (i >= 0) clients.splice(i, 1);
      countClients();
      serveNext();
    });
    serveNext();
  });
  // The stream never ends on its own; Node's default timeouts must not end it either.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const stopListening = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });

  return {
    url,
    streamUrl: `${url}/stream`,
    captureUrl: `${url}/capture`,
    port,
    boundary,
    frames,
    stats,
    get mode() {
      return mode;
    },
    async setMode(nextMode: FakeCameraMode): Promise<void> {
      if (nextMode === mode) return;
      const wasDown = mode === 'down';
      mode = nextMode;
      if (nextMode === 'down') await stopListening();
      else if (wasDown) await listen(port);
      if (nextMode === 'ok') serveNext();
    },
    injectDamage(kind: FakeCameraDamage, count = 1): void {
      for (let i = 0; i < count; i++) damage.push(kind);
    },
    async close(): Promise<void> {
      clearInterval(timer);
      await stopListening();
    },
  };
}
