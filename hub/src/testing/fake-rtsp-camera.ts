// A stand-in for an IP camera's RTSP server, for tests: real RTSP 1.0 (RFC 2326) over TCP with RTP
// (RFC 3550) interleaved on the same connection and H.264 packetized as RFC 6184 describes (single NAL
// unit packets, FU-A fragments above 1400 bytes, the marker bit on each access unit's last packet).
// What it takes from real cameras:
// - OPTIONS, DESCRIBE (SDP with sprop-parameter-sets), SETUP, PLAY, GET_PARAMETER (keep-alive), TEARDOWN.
// - Only `RTP/AVP/TCP` transport: a SETUP asking for UDP gets 461, as many cameras answer behind NAT.
// - Optional Basic authentication: 401 with `WWW-Authenticate` until the right credentials come.
// - RTCP the client sends interleaved on channel 1 is read and ignored.
// The picture is real H.264 (ffmpeg's testsrc2, baseline, 1-s GOP, SPS/PPS before every keyframe),
// looped with continuing RTP timestamps and sent in real time.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAX_PAYLOAD = 1400;
const PAYLOAD_TYPE = 96;

export interface FakeRtspCamera {
  /** `rtsp://127.0.0.1:<port>/stream`, without credentials. */
  url: string;
  /** The same URL with `user:password@`. */
  urlWith(user: string, password: string): string;
  /** Sessions playing now, and the most that ever played at once. */
  playing(): number;
  maxPlaying(): number;
  /** Requests by method, in order, as `METHOD status`. */
  log: string[];
  close(): Promise<void>;
}

/** ffmpeg inputs and a filter graph ending in one unlabelled video output, scaled and timed here. */
export interface FakeRtspScene {
  inputs: string[];
  filter: string;
  seconds: number;
}

/** Annex-B H.264 split into access units (each a list of NAL units without start codes). */
async function makeAccessUnits(options: {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  scene?: FakeRtspScene;
}) {
  const picture = options.scene
    ? [
        ...options.scene.inputs,
        '-filter_complex',
        `${options.scene.filter},scale=${options.width}:${options.height},fps=${options.fps}`,
      ]
    : ['-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.fps}`];
  const { stdout } = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...picture,
      '-t',
      String(options.seconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-profile:v',
      'baseline',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(options.fps),
      '-x264-params',
      'aud=1:repeat-headers=1',
      '-f',
      'h264',
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < stdout.length; i++) {
    if (stdout[i] === 0 && stdout[i + 1] === 0 && stdout[i + 2] === 1) {
      if (start >= 0) nals.push(trimTrailingZeros(stdout.subarray(start, i)));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nals.push(stdout.subarray(start));
  const units: Buffer[][] = [];
  let sps: Buffer | undefined;
  let pps: Buffer | undefined;
  for (const nal of nals) {
    const type = nal[0]! & 0x1f;
    if (type === 9) {
      units.push([]); // an access unit delimiter starts the next picture; it is not sent
      continue;
    }
    if (type === 7) sps ??= nal;
    if (type === 8) pps ??= nal;
    units.at(-1)?.push(nal);
  }
  if (!sps || !pps) throw new Error('ffmpeg produced no SPS/PPS');
  return { units: units.filter((unit) => unit.length > 0), sps, pps };
}

function trimTrailingZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

function rtpPackets(nal: Buffer, last: boolean, header: { seq: () => number; ts: number; ssrc: number }) {
  const payloads: Buffer[] = [];
  if (nal.length <= MAX_PAYLOAD) payloads.push(nal);
  else {
    const indicator = (nal[0]! & 0xe0) | 28;
    const type = nal[0]! & 0x1f;
    for (let offset = 1; offset < nal.length; offset += MAX_PAYLOAD) {
      const end = Math.min(nal.length, offset + MAX_PAYLOAD);
      const fu = (offset === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
      payloads.push(Buffer.concat([Buffer.from([indicator, fu]), nal.subarray(offset, end)]));
    }
  }
  return payloads.map((payload, index) => {
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = ((last && index === payloads.length - 1 ? 1 : 0) << 7) | PAYLOAD_TYPE;
    rtp.writeUInt16BE(header.seq(), 2);
    rtp.writeUInt32BE(header.ts >>> 0, 4);
    rtp.writeUInt32BE(header.ssrc, 8);
    return Buffer.concat([rtp, payload]);
  });
}

export async function startFakeRtspCamera(
  options: {
    width?: number;
    height?: number;
    fps?: number;
    credentials?: { user: string; password: string };
    /** Another picture than testsrc2 (looped after `seconds`): a still room, a person walking in. */
    scene?: FakeRtspScene;
  } = {},
): Promise<FakeRtspCamera> {
  const fps = options.fps ?? 10;
  const { units, sps, pps } = await makeAccessUnits({
    width: options.width ?? 640,
    height: options.height ?? 480,
    fps,
    seconds: options.scene?.seconds ?? 4,
    scene: options.scene,
  });
  const log: string[] = [];
  const sockets = new Set<Socket>();
  let playingNow = 0;
  let mostPlaying = 0;
  const expectedAuth = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString('base64')}`
    : null;

  const server = createServer((socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let playing = false;
    const session = randomBytes(4).toString('hex');
    const ssrc = randomBytes(4).readUInt32BE(0);
    let seq = randomBytes(2).readUInt16BE(0);
    let frame = 0;
    const tsBase = randomBytes(4).readUInt32BE(0);

    const stopPlaying = () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (playing) playingNow -= 1;
      playing = false;
    };
    socket.on('close', () => {
      stopPlaying();
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());

    const sendFrame = () => {
      const unit = units[frame % units.length]!;
      const ts = tsBase + Math.round((frame * 90_000) / fps);
      frame += 1;
      const header = { seq: () => (seq = (seq + 1) & 0xffff), ts, ssrc };
      for (const [index, nal] of unit.entries()) {
        for (const packet of rtpPackets(nal, index === unit.length - 1, header)) {
          const framing = Buffer.from([0x24, 0, packet.length >> 8, packet.length & 0xff]);
          socket.write(Buffer.concat([framing, packet]));
        }
      }
    };

    const reply = (cseq: string, status: string, headers: Record<string, string> = {}, body = '') => {
      const lines = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, 'Server: hearth-fake-camera'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    };

    const handle = (head: string) => {
      const [requestLine = '', ...headerLines] = head.split('\r\n');
      const [method = '', url = ''] = requestLine.split(' ');
      const headers = new Map(
        headerLines.map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
        }),
      );
      const cseq = headers.get('cseq') ?? '0';
      const answer = (status: string, extra?: Record<string, string>, body?: string) => {
        log.push(`${method} ${status.split(' ')[0]}`);
        reply(cseq, status, extra, body);
      };
      if (method !== 'OPTIONS' && expectedAuth && headers.get('authorization') !== expectedAuth) {
        answer('401 Unauthorized', { 'WWW-Authenticate': 'Basic realm="hearth-fake-camera"' });
        return;
      }
      const base = url.replace(/\/trackID=1$|\/$/, '');
      switch (method) {
        case 'OPTIONS':
          answer('200 OK', { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN' });
          return;
        case 'DESCRIBE': {
          const profile = sps.subarray(1, 4).toString('hex');
          const sdp = [
            'v=0',
            'o=- 0 0 IN IP4 127.0.0.1',
            's=Hearth fake camera',
            'c=IN IP4 0.0.0.0',
            't=0 0',
            'm=video 0 RTP/AVP 96',
            'a=rtpmap:96 H264/90000',
            `a=fmtp:96 packetization-mode=1;profile-level-id=${profile};sprop-parameter-sets=${sps.toString('base64')},${pps.toString('base64')}`,
            'a=control:trackID=1',
            '',
          ].join('\r\n');
          answer('200 OK', { 'Content-Base': `${base}/`, 'Content-Type': 'application/sdp' }, sdp);
          return;
        }
        case 'SETUP': {
          const transport = headers.get('transport') ?? '';
          if (!transport.includes('RTP/AVP/TCP')) {
            answer('461 Unsupported Transport');
            return;
          }
          answer('200 OK', {
            Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
            Session: `${session};timeout=60`,
          });
          return;
        }
        case 'PLAY': {
          answer('200 OK', {
            Session: session,
            Range: 'npt=0.000-',
            'RTP-Info': `url=${base}/trackID=1;seq=${(seq + 1) & 0xffff};rtptime=${tsBase}`,
          });
          if (!playing) {
            playing = true;
            playingNow += 1;
            mostPlaying = Math.max(mostPlaying, playingNow);
            sendFrame();
            timer = setInterval(sendFrame, 1000 / fps);
          }
          return;
        }
        case 'GET_PARAMETER':
          answer('200 OK', { Session: session });
          return;
        case 'TEARDOWN':
          answer('200 OK', { Session: session });
          stopPlaying();
          socket.end();
          return;
        default:
          answer('405 Method Not Allowed');
      }
    };

    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length > 0 && buffer[0] === 0x24) {
          // Interleaved RTCP from the client (receiver reports): skip it.
          if (buffer.length < 4) return;
          const length = buffer.readUInt16BE(2);
          if (buffer.length < 4 + length) return;
          buffer = buffer.subarray(4 + length);
          continue;
        }
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buffer.length > 64 * 1024) socket.destroy(); // not RTSP
          return;
        }
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        handle(head);
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `rtsp://127.0.0.1:${port}/stream`;
  return {
    url,
    urlWith: (user, password) =>
      `rtsp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/stream`,
    playing: () => playingNow,
    maxPlaying: () => mostPlaying,
    log,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
