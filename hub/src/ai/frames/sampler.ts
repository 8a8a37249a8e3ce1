/**
 * Frames for analysis, sampled from a camera's existing fan-out, never from a connection of its own:
 * - an MJPEG camera (an ESP32 serves one client) through the hub's one upstream (cameras/mjpeg-sources.ts):
 *   JPEGs are thinned to the sampling rate here, before ffmpeg, so only sampled pictures are decoded;
 * - a demo, RTSP or node camera through its live H.264 fan-out (live/h264-live.ts): the fragments viewers
 *   get are piped into a decoder whose fps filter picks the samples. Subscribing keeps that stream running.
 * The listener only ever writes to the decoder's pipe and drops when ffmpeg is behind, so a slow decoder
 * or a slow consumer of `onFrame` can never hold up the upstream the recorder reads from.
 * When the H.264 stream ends (camera gone, ffmpeg exit) the sampler subscribes again after a delay; the
 * MJPEG upstream reconnects by itself. A decoder that dies is restarted the same way.
 */
import { z } from 'zod';
import type { LiveListener } from '../../live/h264-live.js';
import type { Logger } from '../../log/logger.js';
import { type DecodedFrame, type FrameDecoderHandle, startFrameDecoder } from '../../media/frame-decoder.js';
import type { LiveFragment, LiveInit, MjpegFrame } from '../../media/index.js';
import { type GreyFrame, greyThumbnail } from './motion.js';

export const frameSamplerConfigSchema = z
  .object({
    fps: z.number().min(0.2).max(5).default(2),
    /** The picture handed to a detector: at most this wide (never enlarged). */
    maxWidth: z.number().int().min(64).max(640).default(640),
    /** The grey picture for motion gating. */
    greyWidth: z.number().int().min(32).max(320).default(160),
    restartDelayMs: z.number().int().min(100).max(60_000).default(2000),
  })
  .strict();
export type FrameSamplerConfig = z.infer<typeof frameSamplerConfigSchema>;

export interface SampledFrame {
  cameraId: string;
  /** Date.now() when the decoded picture arrived (the MJPEG path runs one sample interval behind). */
  at: number;
  seq: number;
  grey: GreyFrame;
  /** RGB, row-major, up to `maxWidth` wide. */
  image: { width: number; height: number; channels: 3; pixels: Buffer };
}

/** The parts of the fan-outs a sampler uses (MjpegUpstream, H264Live). */
export type FrameSource =
  | { kind: 'mjpeg'; subscribe(listener: (frame: MjpegFrame) => void): () => void }
  | {
      kind: 'h264';
      subscribe(listener: LiveListener): { unsubscribe(): void; gop: LiveFragment[] };
      init(): LiveInit | null;
    };

export interface FrameSamplerStats {
  running: boolean;
  frames: number;
  /** Input the decoder was too busy to take (JPEGs, or fragments up to the next keyframe). */
  inputDropped: number;
  /** Decoders started (1 + restarts). */
  decoders: number;
  lastError: string | null;
  /** The running ffmpeg, if any. */
  decoderPid?: number;
}

export function createFrameSampler(options: {
  cameraId: string;
  source: FrameSource;
  onFrame: (frame: SampledFrame) => void;
  log: Logger;
  config?: z.input<typeof frameSamplerConfigSchema>;
}) {
  const config = frameSamplerConfigSchema.parse(options.config ?? {});
  const stats: FrameSamplerStats = {
    running: false,
    frames: 0,
    inputDropped: 0,
    decoders: 0,
    lastError: null,
  };
  let decoder: FrameDecoderHandle | undefined;
  let detach: (() => void) | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = true;

  const emit = (decoded: DecodedFrame) => {
    if (decoded.channels !== 3) return;
    stats.frames += 1;
    try {
      options.onFrame({
        cameraId: options.cameraId,
        at: decoded.receivedAt,
        seq: stats.frames,
        grey: greyThumbnail(decoded, config.greyWidth),
        image: { width: decoded.width, height: decoded.height, channels: 3, pixels: decoded.pixels },
      });
    } catch (error) {
      options.log.warn({ err: (error as Error).message }, 'frame consumer failed');
    }
  };

  function newDecoder(input: 'mjpeg' | 'mp4'): FrameDecoderHandle {
    stats.decoders += 1;
    const handle = startFrameDecoder(
      {
        input,
        fps: input === 'mp4' ? config.fps : undefined,
        maxWidth: config.maxWidth,
        pixelFormat: 'rgb24',
      },
      emit,
    );
    void handle.exited.then((exit) => {
      if (decoder !== handle) return;
      decoder = undefined;
      if (stopped) return;
      stats.lastError = exit.lastError ?? `frame decoder exited (${exit.signal ?? exit.code})`;
      options.log.warn({ err: stats.lastError }, 'frame decoder ended; restarting');
      restart();
    });
    return handle;
  }

  function attachMjpeg(source: Extract<FrameSource, { kind: 'mjpeg' }>) {
    const interval = 1000 / config.fps;
    let lastWritten = Number.NEGATIVE_INFINITY;
    const current = newDecoder('mjpeg');
    decoder = current;
    const unsubscribe = source.subscribe((frame) => {
      const now = Date.now();
      // A little slack so a camera's jitter does not halve the rate (2 fps from 10 fps: every 5th frame).
      if (now - lastWritten < interval * 0.9) return;
      if (current.write(frame.jpeg)) lastWritten = now;
      else stats.inputDropped += 1;
    });
    detach = () => {
      unsubscribe();
      void current.stop();
    };
  }

  function attachH264(source: Extract<FrameSource, { kind: 'h264' }>) {
    let current: FrameDecoderHandle | undefined;
    let initWritten = false;
    let needKeyframe = true;
    const accept = (fragment: LiveFragment) => {
      if (!current) {
        if (!source.init()) return;
        current = newDecoder('mp4');
        decoder = current;
      }
      // ffmpeg takes input only once it has started: until then the init segment waits (and with it
      // every fragment), since a decoder given fragments without it has nothing to decode them with.
      if (!initWritten) {
        const init = source.init();
        if (!init || !current.write(init.bytes)) return;
        initWritten = true;
      }
      // A decoder cannot start mid-GOP: after a drop it skips to the next keyframe fragment.
      if (needKeyframe && !fragment.keyframe) return;
      needKeyframe = !current.write(fragment.bytes);
      if (needKeyframe) stats.inputDropped += 1;
    };
    let subscription: { unsubscribe(): void; gop: LiveFragment[] };
    try {
      subscription = source.subscribe({
        onFragment: accept,
        onEnd: (reason) => {
          if (stopped) return;
          stats.lastError = reason;
          detach?.();
          detach = undefined;
          restart();
        },
      });
    } catch (error) {
      // LiveUnavailable during the stream's failure backoff: try again later.
      stats.lastError = (error as Error).message;
      const wait = (error as { retryAfterMs?: number }).retryAfterMs;
      restart(Math.max(config.restartDelayMs, wait ?? 0));
      return;
    }
    for (const fragment of subscription.gop) accept(fragment);
    detach = () => {
      subscription.unsubscribe();
      if (current) {
        if (decoder === current) decoder = undefined;
        void current.stop();
      }
    };
  }

  function attach() {
    retry = undefined;
    if (stopped) return;
    if (options.source.kind === 'mjpeg') attachMjpeg(options.source);
    else attachH264(options.source);
  }

  function restart(delayMs = config.restartDelayMs) {
    detach?.();
    detach = undefined;
    clearTimeout(retry);
    retry = setTimeout(attach, delayMs);
  }

  return {
    config,
    start(): void {
      if (!stopped) return;
      stopped = false;
      stats.running = true;
      attach();
    },
    /** Unsubscribes and waits for the decoder to exit. */
    async stop(): Promise<void> {
      stopped = true;
      stats.running = false;
      clearTimeout(retry);
      const current = decoder;
      decoder = undefined;
      detach?.();
      detach = undefined;
      await current?.stop();
    },
    stats: (): FrameSamplerStats => ({ ...stats, decoderPid: decoder?.pid }),
  };
}

export type FrameSampler = ReturnType<typeof createFrameSampler>;
