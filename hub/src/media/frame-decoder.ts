import type { ChildProcess } from 'node:child_process';
import { MediaError } from './errors.js';
import { type FfmpegCommand, newCommand, processOf } from './ffmpeg.js';
import { parseFfmpegLine } from './log.js';

// Decoded pictures for analysis (motion gating, detectors): one ffmpeg reads a camera's stream from its stdin
// (JPEGs from the MJPEG fan-out, or the live H.264 fan-out's fragmented MP4) and writes small raw pictures
// to stdout as PNM (P5 grey / P6 RGB). PNM rather than bare rawvideo because each picture carries its own
// size in a text header: the caller need not know the camera's resolution or aspect ratio in advance.
// (frames.ts is the JPEG extraction for thumbnails and snapshots; this file is its streaming counterpart.)

export interface FrameDecoderSpec {
  /** What is written to stdin: a sequence of JPEGs, or fragmented MP4 (ftyp+moov, then moof+mdat…). */
  input: 'mjpeg' | 'mp4';
  /**
   * Pictures per second out, picked by the input's timestamps (ffmpeg's fps filter). Omit it when the
   * caller already writes only the pictures it wants (JPEGs thinned before the pipe cost no decoding).
   */
  fps?: number;
  /** Output width, never upscaled; the height keeps the aspect ratio (even). */
  maxWidth: number;
  pixelFormat: 'gray' | 'rgb24';
  /** A PNM picture larger than this ends the decoder (a damaged stream). Default 16 MiB. */
  maxFrameBytes?: number;
}

export interface DecodedFrame {
  width: number;
  height: number;
  /** 1 for gray, 3 for rgb24 (row-major, no padding). */
  channels: 1 | 3;
  pixels: Buffer;
  /** Date.now() when the whole picture had arrived from ffmpeg. */
  receivedAt: number;
}

export interface FrameDecoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastError: string | null;
}

export interface FrameDecoderHandle {
  readonly pid: number | undefined;
  /**
   * Hands bytes to ffmpeg unless it is behind (its stdin pipe is full): then the bytes are dropped and
   * false returned. It never queues, so a stalled decoder costs its caller nothing but the drop.
   */
  write(bytes: Buffer): boolean;
  /** No more input: ffmpeg decodes what it has and exits. */
  end(): void;
  exited: Promise<FrameDecoderExit>;
  /** Ends stdin, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<FrameDecoderExit>;
}

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Starts the decoder; throws MediaError('invalid_spec') synchronously. */
export function startFrameDecoder(
  spec: FrameDecoderSpec,
  onFrame: (frame: DecodedFrame) => void,
): FrameDecoderHandle {
  const command = buildFrameDecoderCommand(spec);
  const parser = new PnmStreamParser(spec.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  let child: ChildProcess | undefined;
  let lastError: string | null = null;
  let finished = false;
  let ending = false;
  let resolveExited!: (exit: FrameDecoderExit) => void;
  const exited = new Promise<FrameDecoderExit>((resolve) => {
    resolveExited = resolve;
  });

  command.on('stderr', (raw: string) => {
    const line = parseFfmpegLine(raw);
    if (line?.level === 'error') lastError = line.message;
  });
  command.on('start', () => {
    child = processOf(command);
    // EPIPE after ffmpeg has gone is reported through `exited`, not thrown.
    child?.stdin?.on('error', () => {});
    if (ending) child?.stdin?.end();
    child?.stdout?.on('data', (chunk: Buffer) => {
      try {
        for (const frame of parser.push(chunk)) onFrame({ ...frame, receivedAt: Date.now() });
      } catch (error) {
        lastError ??= (error as Error).message;
        child?.kill('SIGKILL');
      }
    });
  });
  const finish = (err?: Error | null) => {
    if (finished) return;
    finished = true;
    if (err && !child) lastError ??= err.message;
    resolveExited({ code: child?.exitCode ?? null, signal: child?.signalCode ?? null, lastError });
  };
  command.on('error', (err: Error) => finish(err));
  command.on('end', () => finish());
  command.run();

  let stopping: Promise<FrameDecoderExit> | undefined;
  const end = () => {
    ending = true;
    child?.stdin?.end();
  };
  return {
    get pid() {
      return child?.pid;
    },
    write(bytes) {
      const stdin = child?.stdin;
      if (!stdin || ending || finished || stdin.writableNeedDrain) return false;
      stdin.write(bytes);
      return true;
    },
    end,
    exited,
    stop(graceMs = 2000) {
      stopping ??= (async () => {
        end();
        if (finished) return exited;
        const deadline = setTimeout(() => {
          // Not spawned yet: the start handler ends its stdin, and it exits on its own.
          child?.kill('SIGKILL');
        }, graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(deadline);
        }
      })();
      return stopping;
    },
  };
}

/** The ffmpeg command line; exported for tests. */
export function buildFrameDecoderCommand(spec: FrameDecoderSpec): FfmpegCommand {
  if (spec.fps !== undefined && !(spec.fps > 0 && spec.fps <= 30))
    throw new MediaError('invalid_spec', `fps ${spec.fps}`);
  if (!(Number.isInteger(spec.maxWidth) && spec.maxWidth >= 16 && spec.maxWidth <= 1920))
    throw new MediaError('invalid_spec', `maxWidth ${spec.maxWidth}`);
  const filters = [
    ...(spec.fps !== undefined ? [`fps=${spec.fps}`] : []),
    // min(): a camera smaller than maxWidth is not enlarged; -2 keeps the aspect with an even height.
    `scale='min(${spec.maxWidth},iw)':-2:flags=area`,
  ];
  const inputOptions =
    spec.input === 'mjpeg'
      ? // Each JPEG is stamped when it arrives: the pipe has no timestamps of its own.
        ['-use_wallclock_as_timestamps', '1', '-probesize', '2M', '-analyzeduration', '0']
      : ['-probesize', '1M', '-analyzeduration', '0'];
  return newCommand({ stdoutLines: 0 })
    .input('pipe:0')
    .inputFormat(spec.input)
    .inputOptions(inputOptions)
    .noAudio()
    .videoFilters(filters)
    .outputOptions([
      '-hide_banner',
      '-loglevel',
      'level+warning',
      '-nostats',
      '-pix_fmt',
      spec.pixelFormat,
      '-fps_mode',
      'passthrough',
      '-vcodec',
      spec.pixelFormat === 'gray' ? 'pgm' : 'ppm',
      // Each picture leaves ffmpeg when it is done, not when an output buffer fills.
      '-flush_packets',
      '1',
    ])
    .format('image2pipe')
    .output('pipe:1');
}

/**
 * Splits a stream of binary PNM pictures (P5 grey, P6 RGB, maxval 255, as ffmpeg's pgm/ppm encoders
 * write them) however the bytes arrive. Throws on anything else: the stream is then unusable.
 */
export class PnmStreamParser {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Omit<DecodedFrame, 'receivedAt'>[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Omit<DecodedFrame, 'receivedAt'>[] = [];
    for (;;) {
      const header = /^P([56])\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(
        this.buffer.subarray(0, 64).toString('latin1'),
      );
      if (!header) {
        if (this.buffer.length >= 64 || (this.buffer.length > 0 && this.buffer[0] !== 0x50))
          throw new Error('not a PNM picture');
        return frames;
      }
      const channels = header[1] === '5' ? 1 : 3;
      const width = Number(header[2]);
      const height = Number(header[3]);
      if (header[4] !== '255') throw new Error(`PNM maxval ${header[4]}`);
      const size = width * height * channels;
      if (size === 0 || size > this.maxFrameBytes) throw new Error(`PNM picture of ${width}×${height}`);
      const start = header[0].length;
      if (this.buffer.length < start + size) return frames;
      // A copy: the picture outlives this chunk, and must not pin the whole read buffer.
      frames.push({
        width,
        height,
        channels,
        pixels: Buffer.from(this.buffer.subarray(start, start + size)),
      });
      this.buffer = this.buffer.subarray(start + size);
    }
  }
}
