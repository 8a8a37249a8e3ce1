import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { MediaError } from './errors.js';
import { type FfmpegCommand, findProcesses, newCommand, processOf, runFfmpegForOutput } from './ffmpeg.js';
import { type FfmpegLogLine, messageKey, parseFfmpegLine, redactUrls } from './log.js';

export { type FfmpegLogLine, parseFfmpegLine, redactUrls } from './log.js';

/** Debian's fonts-dejavu-core; the demo clock is skipped, not fatal, where it is missing. */
export const DEMO_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export type RecorderInput =
  | {
      kind: 'demo';
      label: string;
      width?: number;
      height?: number;
      fps?: number;
      /** Font for the burnt-in clock and label; defaults to DEMO_FONT_FILE. */
      fontFile?: string;
    }
  | {
      kind: 'stream';
      /** rtsp:// or http(s):// carrying H.264; copied, never re-encoded. */
      url: string;
      /** Socket I/O timeout: a source silent this long makes ffmpeg exit. Default 10 s. */
      timeoutMs?: number;
      /**
       * How much of the stream ffmpeg reads before it starts writing (-analyzeduration). Default 5 s, ffmpeg's
       * own (MPEG-TS is always read that long). Keep it below segmentSeconds: see README.md on name collisions.
       */
      analyzeDurationMs?: number;
    }
  | {
      kind: 'mjpeg-pipe';
      /** The rate the recording is encoded at: late frames are repeated, surplus ones dropped. */
      fps: number;
    };

export interface RecorderSpec {
  input: RecorderInput;
  /** 1..300 (the product uses 10..300; tests go lower). */
  segmentSeconds: number;
  /** ffmpeg writes flat here; the segment muxer does not create directories, so it must exist. */
  stagingDir: string;
  /** Names files `${cameraId}_%Y%m%d_%H%M%S.mp4` in UTC. Letters, digits, `-` and `_` only. */
  cameraId: string;
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last error line ffmpeg printed (URLs redacted), or why it could not run at all. */
  lastError: string | null;
}

export interface SegmentInfo {
  /** Segment bounds on ffmpeg's output timeline, from its segment list (seconds since it started). */
  startSeconds: number;
  endSeconds: number;
}

export interface RecorderEvents {
  /** A segment is finished: trailer written and flushed, no further bytes will be appended. */
  onSegment(file: string, info: SegmentInfo): void;
  onLog?(line: FfmpegLogLine): void;
  /** ffmpeg encoded or copied more frames (from `-progress`, every 2 s at most) or finished a segment. */
  onProgress?(): void;
}

export interface RecorderHandle {
  readonly pid: number | undefined;
  /** The command line as started (credentials masked); undefined until ffmpeg runs. */
  readonly commandLine: string | undefined;
  /** stdin for mjpeg-pipe input (write whole JPEG buffers); null otherwise. */
  frames: Writable | null;
  /**
   * Writes one JPEG to `frames` unless the pipe is still full from earlier frames, in which case the frame
   * is dropped (returns false): a live source must not queue without bound behind a slow encoder.
   */
  writeFrame(jpeg: Buffer): boolean;
  readonly droppedFrames: number;
  exited: Promise<RecorderExit>;
  /** Finish the current segment cleanly and exit ('q' or end of stdin, SIGINT after 1.5 s, SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<RecorderExit>;
  /** SIGKILL now. */
  kill(): void;
}

const FRAME_PIPE_BYTES = 1024 * 1024;
const LOG_REPEAT_WINDOW_MS = 10_000;
const MAX_STDOUT_LINE = 4096;
const GENERIC_ERRORS = [
  /^Error initializing output stream/,
  /^Conversion failed/,
  /^Error marking filters as finished/,
  /^Error while filtering/,
  /^Error closing file/,
];

/**
 * Starts ffmpeg writing fragmented-MP4 segments into spec.stagingDir and reports each finished one
 * (from the segment list ffmpeg prints on its stdout). Throws MediaError('invalid_spec') synchronously.
 */
export function startRecorder(spec: RecorderSpec, events: RecorderEvents): RecorderHandle {
  validateSpec(spec);
  const stagingDir = path.resolve(spec.stagingDir);
  const frames =
    spec.input.kind === 'mjpeg-pipe' ? new PassThrough({ highWaterMark: FRAME_PIPE_BYTES }) : null;
  const command = buildCommand(spec, stagingDir, frames);

  let child: ChildProcess | undefined;
  let commandLine: string | undefined;
  let lastError: string | null = null;
  let killRequested = false;
  let finished = false;
  let droppedFrames = 0;
  let lastFrameCount = -1;
  let stdoutTail = '';
  let lastSegmentFile: string | undefined;
  const recent = new Map<string, { at: number; suppressed: number }>();

  let resolveSpawned!: (proc: ChildProcess | undefined) => void;
  const spawned = new Promise<ChildProcess | undefined>((resolve) => {
    resolveSpawned = resolve;
  });
  let resolveExited!: (exit: RecorderExit) => void;
  const exited = new Promise<RecorderExit>((resolve) => {
    resolveExited = resolve;
  });

  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      // A throwing callback must not take the stream parsing (or the process) down with it.
      try {
        events.onLog?.({
          level: 'error',
          source: 'hearth',
          message: `${what} threw: ${(err as Error).message}`,
        });
      } catch {}
    }
  };

  const emitLog = (line: FfmpegLogLine) => {
    // ffmpeg ends most failures with a generic line; the specific one before it is the useful lastError.
    if (line.level === 'error' && !(lastError && GENERIC_ERRORS.some((re) => re.test(line.message)))) {
      lastError = line.source ? `${line.source}: ${line.message}` : line.message;
    }
    if (!events.onLog) return;
    // A broken source can print the same warning for every packet; pass one per window with a count.
    const key = messageKey(line);
    const now = Date.now();
    const seen = recent.get(key);
    if (seen && now - seen.at < LOG_REPEAT_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    recent.delete(key);
    recent.set(key, { at: now, suppressed: 0 });
    if (recent.size > 100) recent.delete(recent.keys().next().value!);
    const out = seen?.suppressed ? { ...line, repeated: seen.suppressed } : line;
    safely('onLog', () => events.onLog?.(out));
  };

  const onStderrLine = (raw: string) => {
    const progress = /^frame=(\d+)$/.exec(raw.trim());
    if (progress) {
      const count = Number(progress[1]);
      if (count > lastFrameCount) {
        lastFrameCount = count;
        if (events.onProgress) safely('onProgress', () => events.onProgress?.());
      }
      return;
    }
    const line = parseFfmpegLine(raw);
    if (!line || line.repeated !== undefined) return;
    emitLog(line);
  };

  const onStdout = (chunk: Buffer | string) => {
    stdoutTail += chunk.toString();
    const lines = stdoutTail.split('\n');
    stdoutTail = lines.pop() ?? '';
    if (stdoutTail.length > MAX_STDOUT_LINE) stdoutTail = '';
    for (const line of lines) {
      const entry = parseSegmentListLine(line);
      if (!entry) continue;
      const file = path.resolve(stagingDir, entry.file);
      if (file === lastSegmentFile) {
        // -strftime names come from the wall clock when a segment opens, so two segments opened within one
        // second (a burst after a long probe, or segments shorter than the backlog) share a name and the
        // second has overwritten the first.
        emitLog({
          level: 'error',
          source: 'hearth',
          message: `segment name collision: ${path.basename(file)} was overwritten by the next segment`,
        });
      }
      lastSegmentFile = file;
      safely('onSegment', () => events.onSegment(file, { startSeconds: entry.start, endSeconds: entry.end }));
      if (events.onProgress) safely('onProgress', () => events.onProgress?.());
    }
  };

  command.on('stderr', onStderrLine);
  command.on('start', (line: string) => {
    child = processOf(command);
    commandLine = redactUrls(line);
    child?.stdin?.on('error', () => {
      // ffmpeg gone before it read 'q' or the last frame: its exit is reported through `exited`.
    });
    child?.stdout?.on('data', onStdout);
    resolveSpawned(child);
    if (killRequested) child?.kill('SIGKILL');
  });
  const finish = (err?: Error | null) => {
    if (finished) return;
    finished = true;
    resolveSpawned(undefined);
    // fluent-ffmpeg reports the end from its own 'exit' listener, so read the status off the process.
    const exitCode = child ? child.exitCode : null;
    const exitSignal = child ? child.signalCode : null;
    if (err && !child) lastError = err.message;
    else if (err && lastError === null && exitSignal === null && exitCode !== 0 && exitCode !== 255) {
      lastError = err.message.split('\n')[0] ?? err.message;
    }
    frames?.destroy();
    resolveExited({ code: exitCode, signal: exitSignal, lastError });
  };
  command.on('error', (err: Error) => finish(err));
  command.on('end', () => finish());
  command.run();

  let stopping: Promise<RecorderExit> | undefined;
  return {
    get pid() {
      return child?.pid;
    },
    get commandLine() {
      return commandLine;
    },
    frames,
    writeFrame(jpeg: Buffer): boolean {
      if (!frames || finished || stopping || frames.writableEnded) return false;
      if (frames.writableNeedDrain) {
        droppedFrames++;
        return false;
      }
      frames.write(jpeg);
      return true;
    },
    get droppedFrames() {
      return droppedFrames;
    },
    exited,
    stop(graceMs = 10_000): Promise<RecorderExit> {
      stopping ??= (async () => {
        const proc = await spawned;
        if (!proc || finished) return exited;
        if (frames) frames.end();
        else proc.stdin?.write('q');
        // 'q' is only read between packets; SIGINT also interrupts a read blocked on a silent source.
        const interrupt = setTimeout(() => proc.kill('SIGINT'), Math.min(1500, graceMs / 2));
        const deadline = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(interrupt);
          clearTimeout(deadline);
        }
      })();
      return stopping;
    },
    kill(): void {
      killRequested = true;
      child?.kill('SIGKILL');
    },
  };
}

/** `ffmpeg -version` first line, for health. */
export async function ffmpegVersion(timeoutMs = 10_000): Promise<string> {
  const out = await runFfmpegForOutput(['-hide_banner', '-version'], timeoutMs);
  const first = out.split('\n')[0]?.trim();
  if (!first) throw new MediaError('ffmpeg_failed', 'ffmpeg -version printed nothing');
  return first;
}

/**
 * Stops ffmpeg recorders left writing into stagingDir by an earlier hub process (Linux /proc). A demo or
 * stream ffmpeg does not notice its parent's death: after a SIGKILL of the hub outside systemd (whose
 * control group would take it down too) it records on, and a restarted hub would run a second writer
 * beside it. SIGINT first, so the segment in progress is finished; SIGKILL at the deadline. Returns the
 * pids found. Call it at start-up, before starting recorders into that folder.
 */
export async function stopOrphanRecorders(stagingDir: string, graceMs = 5000): Promise<number[]> {
  const dir = path.resolve(stagingDir).replaceAll('%', '%%');
  const isOrphan = (p: { pid: number; ppid: number; argv: string[] }) =>
    p.ppid !== process.pid &&
    p.pid !== process.pid &&
    /(^|\/)ffmpeg$/.test(p.argv[0] ?? '') &&
    p.argv.includes('-segment_list') &&
    p.argv.some((a) => path.dirname(a) === dir && a.endsWith('_%Y%m%d_%H%M%S.mp4'));
  const orphans = await findProcesses(isOrphan);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone.
    }
  };
  for (const p of orphans) signal(p.pid, 'SIGINT');
  const deadline = Date.now() + graceMs;
  let left = orphans;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const alive = new Set((await findProcesses(isOrphan)).map((p) => p.pid));
    left = left.filter((p) => alive.has(p.pid));
  }
  for (const p of left) signal(p.pid, 'SIGKILL');
  return orphans.map((p) => p.pid);
}

/** One line of `-segment_list_type csv`: `name,start,end`, the name quoted when it holds `,` or `"`. */
export function parseSegmentListLine(line: string): { file: string; start: number; end: number } | null {
  const text = line.replace(/\r$/, '');
  let file: string;
  let rest: string;
  if (text.startsWith('"')) {
    let i = 1;
    file = '';
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) return null;
      file += text.slice(i, q);
      if (text[q + 1] === '"') {
        file += '"';
        i = q + 2;
        continue;
      }
      rest = text.slice(q + 1);
      break;
    }
  } else {
    const comma = text.indexOf(',');
    if (comma < 0) return null;
    file = text.slice(0, comma);
    rest = text.slice(comma);
  }
  const m = /^,(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(rest);
  if (!m || !file) return null;
  return { file, start: Number(m[1]), end: Number(m[2]) };
}

function validateSpec(spec: RecorderSpec): void {
  const fail = (message: string): never => {
    throw new MediaError('invalid_spec', message);
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(spec.cameraId))
    fail(`cameraId ${JSON.stringify(spec.cameraId)}`);
  if (!Number.isFinite(spec.segmentSeconds) || spec.segmentSeconds < 1 || spec.segmentSeconds > 300) {
    fail(`segmentSeconds ${spec.segmentSeconds} is outside 1..300`);
  }
  if (!spec.stagingDir) fail('stagingDir is empty');
  const input = spec.input;
  if (input.kind === 'stream' && !/^(rtsp|rtsps|http|https):\/\//i.test(input.url)) {
    fail('stream url must be rtsp://, rtsps://, http:// or https://');
  }
  if (input.kind === 'mjpeg-pipe' && !(input.fps >= 1 && input.fps <= 60)) fail(`fps ${input.fps}`);
  if (input.kind === 'demo') {
    const { width = 640, height = 480, fps = 10 } = input;
    if (!(width >= 16 && width <= 3840 && width % 2 === 0)) fail(`width ${width}`);
    if (!(height >= 16 && height <= 2160 && height % 2 === 0)) fail(`height ${height}`);
    if (!(fps >= 1 && fps <= 60)) fail(`fps ${fps}`);
  }
}

function buildCommand(spec: RecorderSpec, stagingDir: string, frames: PassThrough | null): FfmpegCommand {
  const command = newCommand({ env: { TZ: 'UTC' } });
  const input = spec.input;
  let gop: number;

  switch (input.kind) {
    case 'demo': {
      const { width = 640, height = 480, fps = 10 } = input;
      gop = Math.round(fps);
      command
        .input(`testsrc2=size=${width}x${height}:rate=${fps}`)
        .inputFormat('lavfi')
        .inputOptions(['-re'])
        .videoCodec('libx264');
      const overlay = demoOverlay(input.label, height, input.fontFile ?? DEMO_FONT_FILE);
      if (overlay) command.videoFilters(overlay);
      command.outputOptions(['-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
      break;
    }
    case 'stream': {
      gop = 0;
      const micros = String(Math.round((input.timeoutMs ?? 10_000) * 1000));
      const options = input.url.toLowerCase().startsWith('rtsp') ? ['-rtsp_transport', 'tcp'] : [];
      if (input.analyzeDurationMs !== undefined) {
        options.push('-analyzeduration', String(Math.round(input.analyzeDurationMs * 1000)));
      }
      options.push(
        '-timeout',
        micros,
        '-fflags',
        '+genpts+discardcorrupt',
        '-use_wallclock_as_timestamps',
        '1',
      );
      command.input(input.url).inputOptions(options).videoCodec('copy');
      // A muxer option: given as an input option (as Frigate does) ffmpeg accepts it and ignores it.
      command.outputOptions(['-map', '0:v:0', '-avoid_negative_ts', 'make_zero']);
      break;
    }
    case 'mjpeg-pipe': {
      gop = Math.round(input.fps);
      command
        .input(frames!)
        .inputFormat('mjpeg')
        .inputOptions([
          '-framerate',
          String(input.fps),
          '-use_wallclock_as_timestamps',
          '1',
          // A known format needs no long probe; the first frame gives the size.
          '-probesize',
          '2M',
          '-analyzeduration',
          '0',
        ])
        .videoCodec('libx264');
      command.outputOptions([
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-pix_fmt',
        'yuv420p',
        '-fps_mode',
        'cfr',
        '-r',
        String(input.fps),
      ]);
      break;
    }
  }

  if (gop > 0) command.outputOptions(['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0']);
  command
    .noAudio()
    .outputOptions([
      '-hide_banner',
      '-loglevel',
      'level+warning',
      '-nostats',
      '-progress',
      'pipe:2',
      '-stats_period',
      '2',
    ])
    .format('segment')
    .outputOptions([
      '-segment_format',
      'mp4',
      '-segment_format_options',
      // flush_packets: without it the segment's writer holds up to 256 KiB, i.e. whole seconds of footage that
      // a crash loses and a file that does not grow while ffmpeg is healthy; with it each fragment is on disk
      // when complete.
      'movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1',
      '-segment_time',
      String(spec.segmentSeconds),
      '-reset_timestamps',
      '1',
      '-strftime',
      '1',
      '-segment_list',
      'pipe:1',
      '-segment_list_type',
      'csv',
    ])
    .output(path.join(stagingDir.replaceAll('%', '%%'), `${spec.cameraId}_%Y%m%d_%H%M%S.mp4`));
  return command;
}

/**
 * drawtext filters for the demo: a UTC clock and the label, or none when the font is missing. The live
 * view's demo stream draws the same picture (media/live-stream.ts).
 */
export function demoOverlay(label: string, height: number, fontFile: string): string[] | null {
  if (!existsSync(fontFile)) return null;
  const size = Math.max(12, Math.round(height / 18));
  const common = `fontfile=${escapeOption(fontFile)}:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=${Math.round(size / 4)}`;
  const clock = `drawtext=${common}:x=${size}:y=${Math.round(size * 1.6)}:text=${escapeOption('%{gmtime:%F %T} UTC')}`;
  const cleanLabel = label.replace(/[\p{Cc}]/gu, ' ').slice(0, 80);
  const name = `drawtext=${common}:x=${size}:y=h-th-${size}:expansion=none:text=${escapeOption(cleanLabel || ' ')}`;
  return [escapeGraph(clock), escapeGraph(name)];
}

/** First level of ffmpeg's filter escaping: an option value inside a filter's argument list. */
function escapeOption(value: string): string {
  return value.replace(/[\\':]/g, (c) => `\\${c}`);
}

/** Second level: a filter description inside a filtergraph. */
function escapeGraph(value: string): string {
  return value.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}
