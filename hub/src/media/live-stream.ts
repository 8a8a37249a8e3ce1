import type { ChildProcess } from 'node:child_process';
import { MediaError } from './errors.js';
import { type FfmpegCommand, newCommand, processOf } from './ffmpeg.js';
import { type LiveInit, Mp4BoxSplitter, type ParsedInit, parseFragment, parseLiveInit } from './fmp4.js';
import { type FfmpegLogLine, parseFfmpegLine, redactUrls } from './log.js';
import { DEMO_FONT_FILE, demoOverlay } from './recorder.js';

// Live H.264 as fragmented MP4 on ffmpeg's stdout, split into an init segment (ftyp+moov) and
// fragments (moof+mdat) for Media Source Extensions. One of these runs per watched camera; the hub
// fans its fragments out to every viewer (hub/src/live/). See docs/protocols.md, "Live H.264".

export type { LiveInit } from './fmp4.js';

export type LiveStreamInput =
  | {
      kind: 'demo';
      label: string;
      width?: number;
      height?: number;
      fps?: number;
      fontFile?: string;
    }
  | {
      kind: 'stream';
      /** rtsp://, rtsps://, http(s):// carrying H.264 (or HEVC); copied, never re-encoded. */
      url: string;
      /** Socket I/O timeout: a source silent this long makes ffmpeg exit. Default 10 s. */
      timeoutMs?: number;
      /** -analyzeduration; default 1 s (ffmpeg's 5 s would delay the first picture for nothing on RTSP). */
      analyzeDurationMs?: number;
    };

export interface LiveStreamSpec {
  input: LiveStreamInput;
  /**
   * A fragment is cut at every keyframe and also after this much media (ffmpeg `-frag_duration`): the
   * hub can pass on a fragment only once it is whole, so this bounds the delay the fragmenting adds,
   * whatever the camera's keyframe interval. Default 200 ms. 0: keyframes only.
   */
  fragmentMs?: number;
  /** A top-level box larger than this ends the stream (a damaged or hostile stream). Default 16 MiB. */
  maxBoxBytes?: number;
}

export interface LiveFragment {
  /** 0, 1, 2… within one ffmpeg run. */
  seq: number;
  /** moof + mdat. */
  bytes: Buffer;
  /** The first sample is a sync sample: a decoder (or a new viewer) can start here. */
  keyframe: boolean;
  /** Media time of the first and past the last sample, seconds since the stream's first sample. */
  startSeconds: number;
  endSeconds: number;
  /** Date.now() when the whole fragment had arrived from ffmpeg. */
  receivedAt: number;
}

export interface LiveStreamEvents {
  onInit(init: LiveInit): void;
  onFragment(fragment: LiveFragment): void;
  onLog?(line: FfmpegLogLine): void;
}

export interface LiveStreamExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last error ffmpeg printed (URLs redacted), or why the stream was ended. */
  lastError: string | null;
}

export interface LiveStreamHandle {
  readonly pid: number | undefined;
  readonly commandLine: string | undefined;
  /** Date.now() when ffmpeg was spawned: the demo's media time 0, for the delay measurement. */
  readonly startedAt: number | undefined;
  exited: Promise<LiveStreamExit>;
  /** SIGTERM (ffmpeg quits at once; there is no file to finish), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<LiveStreamExit>;
}

const MAX_INIT_BYTES = 4 * 1024 * 1024;

/**
 * Starts ffmpeg producing fragmented MP4 on stdout and reports the init segment once, then each
 * fragment as it completes. Throws MediaError('invalid_spec') synchronously.
 */
export function startLiveStream(spec: LiveStreamSpec, events: LiveStreamEvents): LiveStreamHandle {
  validateSpec(spec);
  const command = buildLiveCommand(spec);
  const splitter = new Mp4BoxSplitter(spec.maxBoxBytes ?? Mp4BoxSplitter.DEFAULT_MAX_BOX);

  let child: ChildProcess | undefined;
  let commandLine: string | undefined;
  let startedAt: number | undefined;
  let lastError: string | null = null;
  let finished = false;
  let killRequested = false;
  let ftyp: Buffer | undefined;
  let init: ParsedInit | undefined;
  let pendingMoof: Buffer | undefined;
  let firstDecodeTime: number | undefined;
  let seq = 0;

  let resolveExited!: (exit: LiveStreamExit) => void;
  const exited = new Promise<LiveStreamExit>((resolve) => {
    resolveExited = resolve;
  });

  /** A stream we cannot use is ended: its viewers reconnect rather than get undecodable bytes. */
  const fail = (message: string) => {
    lastError ??= message;
    killRequested = true;
    child?.kill('SIGKILL');
  };

  const onBox = (type: string, bytes: Buffer) => {
    if (type === 'ftyp') {
      ftyp = bytes;
      return;
    }
    if (type === 'moov') {
      if (!ftyp || init) return fail(`unexpected ${type} box in the live stream`);
      if (bytes.length > MAX_INIT_BYTES) return fail('moov box too large');
      const parsed = parseLiveInit(Buffer.concat([ftyp, bytes]));
      if (typeof parsed === 'string') return fail(parsed);
      init = parsed;
      events.onInit(parsed.init);
      return;
    }
    if (type === 'moof') {
      if (!init) return fail('a fragment before the init segment');
      pendingMoof = bytes;
      return;
    }
    if (type === 'mdat') {
      if (!init || !pendingMoof) return fail('mdat without moof');
      const moof = pendingMoof;
      pendingMoof = undefined;
      const info = parseFragment(moof, init);
      if (typeof info === 'string') return fail(info);
      firstDecodeTime ??= info.decodeTime;
      const start = (info.decodeTime - firstDecodeTime) / init.init.timescale;
      events.onFragment({
        seq: seq++,
        bytes: Buffer.concat([moof, bytes]),
        keyframe: info.keyframe,
        startSeconds: start,
        endSeconds: start + info.durationTicks / init.init.timescale,
        receivedAt: Date.now(),
      });
    }
    // free, skip, mfra (the trailer on a clean stop): nothing for viewers.
  };

  command.on('stderr', (raw: string) => {
    const line = parseFfmpegLine(raw);
    if (!line || line.repeated !== undefined) return;
    if (line.level === 'error') lastError = line.source ? `${line.source}: ${line.message}` : line.message;
    try {
      events.onLog?.(line);
    } catch {}
  });
  command.on('start', (line: string) => {
    child = processOf(command);
    startedAt = Date.now();
    commandLine = redactUrls(line);
    child?.stdin?.on('error', () => {});
    child?.stdout?.on('data', (chunk: Buffer) => {
      if (killRequested) return;
      try {
        for (const box of splitter.push(chunk)) onBox(box.type, box.bytes);
      } catch (error) {
        fail((error as Error).message);
      }
    });
    if (killRequested) child?.kill('SIGKILL');
  });
  const finish = (err?: Error | null) => {
    if (finished) return;
    finished = true;
    const code = child ? child.exitCode : null;
    const signal = child ? child.signalCode : null;
    if (err && !child) lastError = err.message;
    else if (err && lastError === null && signal === null && code !== 0 && code !== 255)
      lastError = err.message.split('\n')[0] ?? err.message;
    resolveExited({ code, signal, lastError });
  };
  command.on('error', (err: Error) => finish(err));
  command.on('end', () => finish());
  command.run();

  let stopping: Promise<LiveStreamExit> | undefined;
  return {
    get pid() {
      return child?.pid;
    },
    get commandLine() {
      return commandLine;
    },
    get startedAt() {
      return startedAt;
    },
    exited,
    stop(graceMs = 2000) {
      stopping ??= (async () => {
        killRequested = true;
        if (finished) return exited;
        if (!child) return exited; // the start handler kills it as soon as it exists
        child.kill('SIGTERM');
        const deadline = setTimeout(() => child?.kill('SIGKILL'), graceMs);
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

function validateSpec(spec: LiveStreamSpec): void {
  const fail = (message: string): never => {
    throw new MediaError('invalid_spec', message);
  };
  const input = spec.input;
  if (input.kind === 'stream' && !/^(rtsp|rtsps|http|https):\/\//i.test(input.url))
    fail('stream url must be rtsp://, rtsps://, http:// or https://');
  if (input.kind === 'demo') {
    const { width = 640, height = 480, fps = 10 } = input;
    if (!(width >= 16 && width <= 3840 && width % 2 === 0)) fail(`width ${width}`);
    if (!(height >= 16 && height <= 2160 && height % 2 === 0)) fail(`height ${height}`);
    if (!(fps >= 1 && fps <= 60)) fail(`fps ${fps}`);
  }
  const fragmentMs = spec.fragmentMs ?? 200;
  if (!(fragmentMs >= 0 && fragmentMs <= 10_000)) fail(`fragmentMs ${fragmentMs}`);
}

/** The ffmpeg command line; exported for tests (they assert parts of it). */
export function buildLiveCommand(spec: LiveStreamSpec): FfmpegCommand {
  const command = newCommand({ stdoutLines: 0 });
  const input = spec.input;
  if (input.kind === 'demo') {
    const { width = 640, height = 480, fps = 10 } = input;
    const gop = String(Math.round(fps));
    command
      .input(`testsrc2=size=${width}x${height}:rate=${fps}`)
      .inputFormat('lavfi')
      // Real time, as a camera would deliver it: without -re lavfi produces as fast as the encoder runs.
      .inputOptions(['-re'])
      .videoCodec('libx264');
    const overlay = demoOverlay(
      `${input.label.slice(0, 72)} · live`,
      height,
      input.fontFile ?? DEMO_FONT_FILE,
    );
    if (overlay) command.videoFilters(overlay);
    // zerolatency: no lookahead and no B-frames, so each frame leaves the encoder as soon as it is in;
    // a 1-s GOP is how long a new viewer may wait for a keyframe.
    command.outputOptions([
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-pix_fmt',
      'yuv420p',
      '-g',
      gop,
      '-keyint_min',
      gop,
      '-sc_threshold',
      '0',
    ]);
  } else {
    const options = input.url.toLowerCase().startsWith('rtsp') ? ['-rtsp_transport', 'tcp'] : [];
    options.push(
      '-analyzeduration',
      String(Math.round((input.analyzeDurationMs ?? 1000) * 1000)),
      '-timeout',
      String(Math.round((input.timeoutMs ?? 10_000) * 1000)),
      // nobuffer: hand packets on as they arrive instead of buffering them during probing.
      '-fflags',
      '+genpts+discardcorrupt+nobuffer',
      '-use_wallclock_as_timestamps',
      '1',
    );
    command.input(input.url).inputOptions(options).videoCodec('copy');
    // Video only (camera audio is often G.711, which MP4 cannot carry by copy); timestamps from 0.
    command.outputOptions(['-map', '0:v:0', '-avoid_negative_ts', 'make_zero']);
  }
  const fragmentMs = spec.fragmentMs ?? 200;
  const movflags = 'empty_moov+default_base_moof+frag_keyframe';
  command
    .noAudio()
    .outputOptions([
      '-hide_banner',
      '-loglevel',
      'level+warning',
      '-nostats',
      '-movflags',
      movflags,
      ...(fragmentMs > 0 ? ['-frag_duration', String(fragmentMs * 1000)] : []),
      // Each fragment goes to the pipe as soon as it is complete, not when an I/O buffer fills.
      '-flush_packets',
      '1',
    ])
    .format('mp4')
    .output('pipe:1');
  return command;
}
