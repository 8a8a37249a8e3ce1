import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_FONT_FILE, demoOverlay, redactUrls } from '@hearth/hub/media';
import type { AgentLog } from './agent.js';
import type { NodeCameraConfig } from './cameras.js';
import type { SensorHealth } from './sensors/driver.js';

const TS_PACKET_BYTES = 188;
const TS_SYNC = 0x47;
/** A client this far behind is cut off (it reconnects and starts at the live edge) rather than buffered. */
const MAX_CLIENT_BACKLOG_BYTES = 4 * 1024 * 1024;
/** The node's own recorder and the hub: anything more is someone who should watch through the hub. */
const MAX_CLIENTS_PER_CAMERA = 4;
const REALM = 'Basic realm="hearth-node", charset="UTF-8"';

export type CameraSource = NodeCameraConfig['source'];

interface Step {
  command: string;
  args: string[];
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'];
const gop = (fps: number) => ['-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0'];
const TS_OUT = ['-an', '-f', 'mpegts', '-flush_packets', '1', 'pipe:1'];
const QUIET = ['-hide_banner', '-nostdin', '-loglevel', 'error'];

/**
 * How one source becomes H.264 in MPEG-TS on stdout: a pipeline of one or two processes, the first one's
 * stdout feeding the next one's stdin. Hardware is opened by exactly one process (a V4L2 device and the Pi
 * camera take one opener at a time); H.264 from the source is copied, anything else is encoded once here.
 */
export function capturePipeline(source: CameraSource): Step[] {
  switch (source.type) {
    case 'demo': {
      const { width, height, fps } = { width: 640, height: 480, fps: 10 };
      const overlay = demoOverlay(source.label, height, DEMO_FONT_FILE);
      return [
        {
          command: 'ffmpeg',
          args: [
            ...QUIET,
            '-re',
            '-f',
            'lavfi',
            '-i',
            `testsrc2=size=${width}x${height}:rate=${fps}`,
            ...(overlay ? ['-vf', overlay.join(',')] : []),
            ...X264,
            ...gop(fps),
            ...TS_OUT,
          ],
        },
      ];
    }
    case 'stream': {
      const rtsp = /^rtsps?:/i.test(source.url);
      return [
        {
          command: 'ffmpeg',
          args: [
            ...QUIET,
            ...(rtsp ? ['-rtsp_transport', 'tcp'] : []),
            '-timeout',
            '10000000',
            '-i',
            source.url,
            '-map',
            '0:v:0',
            '-c:v',
            'copy',
            ...TS_OUT,
          ],
        },
      ];
    }
    case 'v4l2':
      return [
        {
          command: 'ffmpeg',
          args: [
            ...QUIET,
            '-f',
            'v4l2',
            '-input_format',
            source.inputFormat,
            '-video_size',
            `${source.width}x${source.height}`,
            '-framerate',
            String(source.fps),
            '-i',
            source.device,
            ...(source.inputFormat === 'h264' ? ['-c:v', 'copy'] : [...X264, ...gop(source.fps)]),
            ...TS_OUT,
          ],
        },
      ];
    case 'rpicam':
      return [
        {
          // rpicam-apps (libcamera): raw H.264 on stdout, headers before every keyframe so a late
          // reader can start, one keyframe a second.
          command: source.command,
          args: [
            '--timeout',
            '0',
            '--nopreview',
            '--codec',
            'h264',
            '--inline',
            '--intra',
            String(source.fps),
            '--width',
            String(source.width),
            '--height',
            String(source.height),
            '--framerate',
            String(source.fps),
            '--output',
            '-',
          ],
        },
        {
          command: 'ffmpeg',
          args: [
            ...QUIET,
            '-f',
            'h264',
            '-framerate',
            String(source.fps),
            '-i',
            'pipe:0',
            '-c:v',
            'copy',
            ...TS_OUT,
          ],
        },
      ];
  }
}

/** Cuts a byte stream into whole 188-byte TS packets, so every chunk handed on starts at a packet boundary. */
export class TsPacketizer {
  private carry = Buffer.alloc(0);
  /** Bytes skipped to find the sync byte again (a damaged pipe; never expected from ffmpeg). */
  skipped = 0;

  push(chunk: Buffer): Buffer | null {
    let data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let start = 0;
    while (start < data.length && data[start] !== TS_SYNC) start += 1;
    this.skipped += start;
    data = data.subarray(start);
    const whole = data.length - (data.length % TS_PACKET_BYTES);
    this.carry = Buffer.from(data.subarray(whole));
    return whole > 0 ? data.subarray(0, whole) : null;
  }

  reset() {
    this.carry = Buffer.alloc(0);
  }
}

interface FeedState {
  camera: NodeCameraConfig;
  processes: ChildProcess[];
  /** Those of `processes` not closed yet. */
  alive: Set<ChildProcess>;
  clients: Set<http.ServerResponse>;
  packetizer: TsPacketizer;
  lastError: string | null;
  bytes: number;
  restarts: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

/**
 * Each node camera is captured once and fanned out over HTTP: the node's own recorder reads it on loopback
 * and the hub reads it over the LAN (and fans it out to the household), so nobody else ever connects to the
 * node. Every client needs a key: the hub's per-node key (given in its heartbeat answers) or the key this
 * process made for its own recorder.
 */
export async function startCameraFeeds(options: {
  cameras: NodeCameraConfig[];
  host: string;
  port: number;
  log: AgentLog;
  /** Between capture restarts after a failure; doubles up to 10 s. */
  restartBaseMs?: number;
}) {
  const { log } = options;
  const localKey = randomBytes(24).toString('base64url');
  let hubKey: string | null = null;
  let stopping = false;
  const feeds = new Map<string, FeedState>();

  function keyAccepted(presented: string): boolean {
    return [localKey, hubKey].some((key) => {
      if (!key) return false;
      const a = Buffer.from(presented);
      const b = Buffer.from(key);
      return a.length === b.length && timingSafeEqual(a, b);
    });
  }

  function presentedKey(request: http.IncomingMessage): string | null {
    const header = request.headers.authorization ?? '';
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer') return value;
    if (scheme?.toLowerCase() !== 'basic') return null;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : decoded.slice(colon + 1);
  }

  function endClients(feed: FeedState) {
    for (const client of feed.clients) client.end();
    feed.clients.clear();
  }

  function capture(feed: FeedState) {
    if (stopping) return;
    const steps = capturePipeline(feed.camera.source);
    feed.packetizer.reset();
    feed.startedAt = Date.now();
    const processes = steps.map((step) =>
      spawn(step.command, step.args, { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    feed.processes = processes;
    feed.alive = new Set(processes);
    // Why each part ended, unless this side stopped it: the first one in the pipeline is the cause.
    const reasons: (string | null)[] = steps.map(() => null);
    const stoppedHere = new Set<ChildProcess>();
    processes.forEach((child, index) => {
      const next = processes[index + 1];
      if (next) child.stdout!.pipe(next.stdin!);
      child.stdin!.on('error', () => {});
      let errorText = '';
      child.stderr!.on('data', (data: Buffer) => {
        errorText = (errorText + data.toString('utf8')).slice(-2000);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        reasons[index] ??= error.code === 'ENOENT' ? 'not installed' : error.message;
      });
      // 'close', not 'exit': it also comes after a failed spawn (a missing program).
      child.on('close', (code, signal) => {
        feed.alive.delete(child);
        if (!stoppedHere.has(child))
          reasons[index] ??= errorText.trim().split('\n').at(-1) || `exited (${code ?? signal})`;
        // One part gone ends the pipeline: the rest would wait on a pipe forever.
        for (const other of processes)
          if (feed.alive.has(other)) {
            stoppedHere.add(other);
            other.kill('SIGTERM');
          }
        if (feed.alive.size > 0 || feed.processes !== processes || stopping) return;
        const cause = reasons.findIndex((reason) => reason !== null);
        feed.lastError = redactUrls(
          cause < 0 ? 'capture stopped' : `${steps[cause]!.command}: ${reasons[cause]}`,
        ).slice(0, 200);
        restartLater(feed);
      });
    });
    const last = processes.at(-1)!;
    last.stdout!.on('data', (chunk: Buffer) => {
      const packets = feed.packetizer.push(chunk);
      if (!packets) return;
      feed.bytes += packets.length;
      feed.lastError = null;
      for (const client of feed.clients) {
        if (client.writableLength > MAX_CLIENT_BACKLOG_BYTES) {
          client.destroy();
          feed.clients.delete(client);
          continue;
        }
        client.write(packets);
      }
    });
  }

  function restartLater(feed: FeedState) {
    endClients(feed);
    // A capture that ran for a while starts over quickly; one that keeps failing waits longer.
    const ranMs = Date.now() - feed.startedAt;
    if (ranMs > 30_000) feed.restarts = 0;
    const base = options.restartBaseMs ?? 500;
    const wait = Math.min(10_000, base * 2 ** feed.restarts);
    feed.restarts += 1;
    if (feed.lastError)
      log.warn(`camera ${feed.camera.id}: ${feed.lastError}; capturing again in ${wait} ms`);
    feed.timer = setTimeout(() => capture(feed), wait);
  }

  const server = http.createServer((request, response) => {
    const match = /^\/cameras\/([a-z0-9-]+)\/live\.ts$/.exec(
      new URL(request.url ?? '/', 'http://node').pathname,
    );
    const reply = (status: number, message: string, headers: http.OutgoingHttpHeaders = {}) =>
      response
        .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
        .end(`${message}\n`);
    if (request.method !== 'GET') return reply(405, 'only GET', { allow: 'GET' });
    const key = presentedKey(request);
    if (!key || !keyAccepted(key))
      return reply(401, 'the hub’s key for this node is needed', { 'www-authenticate': REALM });
    const feed = match ? feeds.get(match[1]!) : undefined;
    if (!feed) return reply(404, 'no such camera on this node');
    if (feed.alive.size === 0)
      return reply(503, `the camera is not capturing: ${feed.lastError ?? 'starting'}`, {
        'retry-after': '2',
      });
    if (feed.clients.size >= MAX_CLIENTS_PER_CAMERA)
      return reply(503, 'too many clients: watch through the hub', { 'retry-after': '5' });
    response.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-store' });
    response.flushHeaders();
    feed.clients.add(response);
    response.on('close', () => feed.clients.delete(response));
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  for (const camera of options.cameras) {
    const feed: FeedState = {
      camera,
      processes: [],
      alive: new Set(),
      clients: new Set(),
      packetizer: new TsPacketizer(),
      lastError: null,
      bytes: 0,
      restarts: 0,
      startedAt: 0,
    };
    feeds.set(camera.id, feed);
    capture(feed);
  }

  return {
    port,
    /** What the node's own recorder reads (loopback, this process's key). */
    localUrl: (cameraId: string) =>
      `http://node:${localKey}@127.0.0.1:${port}/cameras/${encodeURIComponent(cameraId)}/live.ts`,
    /** The hub's answer to each heartbeat carries the key it will present. */
    setHubKey(key: string) {
      hubKey = key;
    },
    health(cameraId: string): Pick<SensorHealth, 'healthy' | 'detail'> {
      const feed = feeds.get(cameraId);
      if (!feed) return { healthy: false, detail: 'not configured' };
      return feed.lastError ? { healthy: false, detail: feed.lastError } : { healthy: true };
    },
    clients: (cameraId: string) => feeds.get(cameraId)?.clients.size ?? 0,
    async stop() {
      stopping = true;
      const exits: Promise<unknown>[] = [];
      for (const feed of feeds.values()) {
        clearTimeout(feed.timer);
        endClients(feed);
        for (const child of feed.alive) {
          exits.push(new Promise((resolve) => child.once('close', resolve)));
          child.kill('SIGTERM');
        }
      }
      server.closeAllConnections();
      await Promise.all([new Promise((resolve) => server.close(resolve)), ...exits]);
    },
  };
}

export type CameraFeeds = Awaited<ReturnType<typeof startCameraFeeds>>;
