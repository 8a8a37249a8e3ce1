import { type ChildProcess, spawn } from 'node:child_process';
import { redactUrls } from '@hearth/hub/media';
import type { NodeCameraConfig } from '../cameras.js';

export interface FeedFrame {
  /** Date.now() when the whole picture had arrived from ffmpeg. */
  at: number;
  width: number;
  height: number;
  /** RGB, row-major, 3 bytes a pixel. */
  pixels: Uint8Array;
}

export interface FeedFramesHandle {
  readonly pid: number | undefined;
  /** Resolves with why ffmpeg ended (null when stopped here). */
  exited: Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * The picture size for analysis: the camera's shape at most `maxWidth` wide. A stream's size is not in the
 * config, so it is taken as 16:9; a wrong guess only letterboxes (the picture is padded, never stretched).
 */
export function analysisSize(source: NodeCameraConfig['source'], maxWidth: number) {
  const shape =
    source.type === 'demo'
      ? { width: 640, height: 480 }
      : source.type === 'stream'
        ? { width: 1280, height: 720 }
        : { width: source.width, height: source.height };
  const width = Math.min(maxWidth, shape.width) & ~1;
  return { width, height: Math.round((width * shape.height) / shape.width / 2) * 2 };
}

/**
 * Decoded pictures from the node's own camera feed (feeds.ts), read on loopback like the node's recorder:
 * the camera stays opened once. ffmpeg's fps filter picks `fps` pictures a second by the stream's own
 * timestamps, so only sampled pictures are scaled and converted; they come out as raw RGB of a fixed size.
 */
export function startFeedFrames(options: {
  url: string;
  fps: number;
  width: number;
  height: number;
  onFrame: (frame: FeedFrame) => void;
}): FeedFramesHandle {
  const { width, height } = options;
  const frameBytes = width * height * 3;
  const child: ChildProcess = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      // The feed is local and starts at a keyframe with its headers: a second of probing is plenty.
      '-probesize',
      '1000000',
      '-analyzeduration',
      '1000000',
      // A feed that stalls with its connection open ends ffmpeg (and so is read again) after 10 s.
      '-rw_timeout',
      '10000000',
      '-i',
      options.url,
      '-an',
      '-vf',
      `fps=${options.fps},scale=${width}:${height}:force_original_aspect_ratio=decrease:flags=area,` +
        `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=gray`,
      '-fps_mode',
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stoppedHere = false;
  let errorText = '';
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  child.stderr!.on('data', (data: Buffer) => {
    errorText = (errorText + data.toString('utf8')).slice(-2000);
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < frameBytes) return;
    let all = Buffer.concat(pending);
    while (all.length >= frameBytes) {
      // A copy of exactly one picture: it is handed to a worker thread and must not pin the read buffer.
      const pixels = new Uint8Array(all.subarray(0, frameBytes));
      all = all.subarray(frameBytes);
      options.onFrame({ at: Date.now(), width, height, pixels });
    }
    pending = all.length ? [all] : [];
    pendingBytes = all.length;
  });
  const exited = new Promise<string | null>((resolve) => {
    let spawnError: string | null = null;
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code === 'ENOENT' ? 'ffmpeg is not installed' : error.message;
    });
    // 'close', not 'exit': it also comes after a failed spawn.
    child.on('close', (code, signal) => {
      if (stoppedHere) return resolve(null);
      const last = errorText.trim().split('\n').at(-1);
      resolve(redactUrls(spawnError ?? (last || `ffmpeg exited (${code ?? signal})`)).slice(0, 200));
    });
  });
  return {
    get pid() {
      return child.pid;
    },
    exited,
    async stop() {
      stoppedHere = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killer);
    },
  };
}
