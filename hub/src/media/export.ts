import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MediaError } from './errors.js';
import { ffprobe, newCommand, processOf } from './ffmpeg.js';
import { parseFfmpegLine, redactUrls } from './log.js';

/** One recorded segment file and the wall-clock span it covers (ms since the epoch, end exclusive). */
export interface ClipInput {
  /** Absolute path of a fragmented-MP4 segment. */
  file: string;
  startAt: number;
  endAt: number;
}

export interface ClipSpec {
  /** Consecutive segments of one camera, oldest first; those outside [from, to) are ignored. */
  inputs: ClipInput[];
  from: number;
  to: number;
  /** Absolute path of the MP4 to create; it must not exist (never overwritten). Its folder must exist. */
  output: string;
  /** 0..1, rising, from ffmpeg's `-progress` out_time against the footage expected in the range. */
  onProgress?: (fraction: number) => void;
  /** Aborting kills ffmpeg and removes what it wrote; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * ffmpeg silent this long while it still reads its inputs is killed (MediaError 'timeout'): a hung NAS
   * blocks ffmpeg's read() and nothing else would ever end it. Default 30 s.
   */
  stallTimeoutMs?: number;
}

export interface ClipResult {
  output: string;
  bytes: number;
  /** Footage the inputs hold inside [from, to) (gaps between segments are not counted). */
  expectedMs: number;
  /** The clip's duration as ffprobe reads it. */
  durationMs: number;
  commandLine: string | undefined;
}

/**
 * A clip this much shorter than its footage was cut short by something ffmpeg did not call an error (a
 * file whose length the concat demuxer misjudged overlaps the next one). Trimmed clips of the recorder's
 * segments come out within a frame of their footage; B-frame sources a frame or two longer.
 */
const SHORT_TOLERANCE_MS = 750;
/** After SIGKILL, how long to wait for ffmpeg's exit before giving up on it (stuck in a hung mount). */
const KILL_WAIT_MS = 2000;

/**
 * One MP4 covering [from, to) out of consecutive fragmented-MP4 segments, by stream copy (no re-encode),
 * `+faststart` so it plays while downloading. Written under a temporary name beside `output` and linked
 * into place only when whole; on any failure or abort nothing is left behind.
 *
 * How it trims (found with Debian's ffmpeg 5.1 on the recorder's own segments): the segments go into a
 * concat demuxer list with `inpoint` on the first file and `outpoint` on the last, and ffmpeg runs with
 * `-copyts`. The concat timeline starts at 0 = inpoint; stream copy must begin at the keyframe before it,
 * and with `-copyts` those pre-roll packets keep their negative times, so the mp4 muxer writes an edit list
 * that hides them: the clip decodes from the keyframe but plays (and ffprobe measures) from `from`. Without
 * `-copyts` ffmpeg shifts the pre-roll to 0 and it becomes visible (up to one GOP too much). Per-input
 * `-ss/-to` trims as exactly but cannot join several files without the concat filter, i.e. a re-encode;
 * an input `-ss` on the whole concat list fails ("could not seek") unless every file's `duration` is
 * written in the list, and then those numbers, not the files, decide where each file starts (one that is
 * off overlaps or gaps the next). The concat demuxer needs seekable files for the same reason: fed through
 * a pipe it misjudges a file's length and the next one overlaps it (tried), so inputs are plain paths.
 *
 * ffmpeg ends with exit 0 and a shortened clip when a file in the middle of the list cannot be opened or
 * read (it treats the read error as the end of input), so error lines about the list fail the export,
 * and the finished clip is measured with ffprobe and refused when it is shorter than its footage.
 */
export async function exportClip(spec: ClipSpec): Promise<ClipResult> {
  const plan = planClip(spec);
  spec.signal?.throwIfAborted();
  const output = path.resolve(spec.output);
  if (await exists(output)) throw new MediaError('invalid_spec', `${output} exists already`);
  const tag = randomBytes(6).toString('hex');
  const partial = `${output}.partial-${tag}`;
  const listFile = `${output}.partial-${tag}.ffconcat`;
  try {
    await writeFile(listFile, plan.list, { flag: 'wx' });
    const commandLine = await runConcat(spec, plan.expectedMs, listFile, partial);
    const durationMs = await measure(partial);
    if (durationMs < plan.expectedMs - SHORT_TOLERANCE_MS) {
      throw new MediaError(
        'ffmpeg_failed',
        `the clip came out ${(durationMs / 1000).toFixed(1)} s long for ${(plan.expectedMs / 1000).toFixed(1)} s of footage`,
      );
    }
    spec.signal?.throwIfAborted();
    // link + unlink instead of rename: never replaces a file that appeared meanwhile.
    try {
      await link(partial, output);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new MediaError('invalid_spec', `${output} exists already`);
      throw error;
    }
    await unlink(partial);
    const { size } = await stat(output);
    spec.onProgress?.(1);
    return { output, bytes: size, expectedMs: plan.expectedMs, durationMs, commandLine };
  } finally {
    await rm(partial, { force: true });
    await rm(listFile, { force: true });
  }
}

interface ClipPlan {
  list: string;
  expectedMs: number;
}

/** The concat list and the footage expected, or MediaError('invalid_spec'). Exported for tests. */
export function planClip(spec: Pick<ClipSpec, 'inputs' | 'from' | 'to' | 'output'>): ClipPlan {
  const fail = (message: string): never => {
    throw new MediaError('invalid_spec', message);
  };
  const { from, to } = spec;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) fail(`empty range ${from}..${to}`);
  if (!path.isAbsolute(spec.output)) fail('output must be an absolute path');
  let previousStart = -Infinity;
  for (const input of spec.inputs) {
    if (!path.isAbsolute(input.file)) fail(`${input.file} is not an absolute path`);
    // The list is line-based; a control character in a name could smuggle in a directive.
    if (/[\p{Cc}]/u.test(input.file)) fail('control character in an input path');
    if (!(input.endAt > input.startAt)) fail(`${input.file} has no duration`);
    if (input.startAt < previousStart) fail('inputs are not in time order');
    previousStart = input.startAt;
  }
  const used = spec.inputs.filter((input) => input.endAt > from && input.startAt < to);
  if (used.length === 0) fail('no input covers the range');

  const lines = ['ffconcat version 1.0'];
  let expectedMs = 0;
  used.forEach((input, i) => {
    lines.push(`file ${quoteConcat(input.file)}`);
    // inpoint/outpoint are seconds from the start of that file; decimals with a dot, never exponents.
    if (i === 0 && from > input.startAt) lines.push(`inpoint ${seconds(from - input.startAt)}`);
    if (i === used.length - 1 && to < input.endAt) lines.push(`outpoint ${seconds(to - input.startAt)}`);
    expectedMs += Math.min(input.endAt, to) - Math.max(input.startAt, from);
  });
  return { list: `${lines.join('\n')}\n`, expectedMs };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** ffconcat quoting (av_get_token): inside single quotes nothing is special, so `'` is closed, escaped, reopened. */
function quoteConcat(file: string): string {
  return `'${file.replaceAll("'", "'\\''")}'`;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function measure(file: string): Promise<number> {
  try {
    const data = await ffprobe(file, [], 30_000);
    const seconds = Number(data.format.duration);
    if (!Number.isFinite(seconds)) throw new Error('no duration');
    return Math.round(seconds * 1000);
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('ffmpeg_failed', `the clip does not read back: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Runs ffmpeg over the list into `partial`; resolves with the command line, rejects with why it failed. */
function runConcat(spec: ClipSpec, expectedMs: number, listFile: string, partial: string): Promise<string> {
  const stallMs = spec.stallTimeoutMs ?? 30_000;
  const command = newCommand({ stdoutLines: 20 })
    .input(listFile)
    .inputFormat('concat')
    // -safe 0: the list holds absolute paths. Only local files may be opened from it, never URLs.
    .inputOptions(['-safe', '0', '-protocol_whitelist', 'file'])
    .videoCodec('copy')
    .outputOptions([
      // The recorder keeps video only (-an); one video stream is what a clip carries.
      '-map',
      '0:v:0',
      '-copyts',
      '-movflags',
      '+faststart',
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'level+info',
      '-nostats',
      '-progress',
      'pipe:2',
      '-stats_period',
      '0.25',
    ])
    .format('mp4')
    .output(partial);

  return new Promise<string>((resolve, reject) => {
    let child: ChildProcess | undefined;
    let commandLine: string | undefined;
    let settled = false;
    let killed = false;
    let inputsDone = false;
    let listError: string | null = null;
    let lastError: string | null = null;
    let best = 0;
    let stallTimer: NodeJS.Timeout | undefined;

    const cleanup = () => {
      clearTimeout(stallTimer);
      spec.signal?.removeEventListener('abort', onAbort);
    };
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (error) reject(error);
      else resolve(commandLine ?? '');
    };
    const kill = (error: Error) => {
      if (settled || killed) return;
      killed = true;
      clearTimeout(stallTimer);
      child?.kill('SIGKILL');
      // A process blocked in a hung mount may never exit, even on SIGKILL: report at once, wait a
      // little for the exit only so that a healthy kill does not leave the file open under us.
      const running = child && child.exitCode === null && child.signalCode === null;
      if (!running) return settle(error);
      const timer = setTimeout(() => settle(error), KILL_WAIT_MS);
      child!.once('exit', () => {
        clearTimeout(timer);
        settle(error);
      });
    };
    const armStall = () => {
      clearTimeout(stallTimer);
      // Lines still arrive after a failure was reported; a timer armed then would only hold the process.
      if (inputsDone || settled || killed) return;
      stallTimer = setTimeout(() => {
        kill(
          new MediaError(
            'timeout',
            `ffmpeg read nothing for ${Math.round(stallMs / 1000)} s; the storage holding the footage may be hung`,
          ),
        );
      }, stallMs);
    };
    function onAbort() {
      kill(spec.signal?.reason instanceof Error ? spec.signal.reason : new Error('export aborted'));
    }

    const onLine = (raw: string) => {
      armStall();
      const line = raw.trim();
      const time = /^out_time_us=(-?\d+)$/.exec(line);
      if (time) {
        // 0.999 at most until the clip is checked and in place; 1 means done.
        const fraction = Math.min(0.999, Math.max(0, Number(time[1]) / 1000 / expectedMs));
        if (fraction > best) {
          best = fraction;
          spec.onProgress?.(best);
        }
        return;
      }
      if (line === 'progress=end') {
        inputsDone = true;
        clearTimeout(stallTimer);
        return;
      }
      const parsed = parseFfmpegLine(raw);
      if (!parsed) return;
      // The faststart pass re-reads only our own output: silence then is not a hung input.
      if (/^Starting second pass/.test(parsed.message)) {
        inputsDone = true;
        clearTimeout(stallTimer);
      }
      if (parsed.level !== 'error') return;
      lastError = parsed.source ? `${parsed.source}: ${parsed.message}` : parsed.message;
      // ffmpeg reports a file it cannot open or read as "<list>: <error>" and then ends normally.
      if (
        (parsed.source === 'concat' && /^Impossible to open/.test(parsed.message)) ||
        parsed.message.startsWith(`${listFile}: `)
      ) {
        listError ??= parsed.message.replace(`${listFile}: `, 'reading the segments: ');
      }
    };

    command.on('start', (line: string) => {
      child = processOf(command);
      commandLine = redactUrls(line);
      if (killed) child?.kill('SIGKILL');
      // From here on, not before: fluent-ffmpeg first asks ffmpeg for its formats and codecs (once per
      // process), which takes seconds on a busy Pi and reads nothing from the NAS.
      else armStall();
    });
    command.on('stderr', onLine);
    command.on('error', (error: Error) => {
      if (killed) return;
      const why = listError ?? lastError ?? error.message.split('\n')[0] ?? error.message;
      settle(new MediaError('ffmpeg_failed', `ffmpeg failed: ${why}`, { cause: error }));
    });
    command.on('end', () => {
      if (killed) return;
      if (listError) settle(new MediaError('ffmpeg_failed', listError));
      else settle(null);
    });

    if (spec.signal?.aborted) {
      settle(spec.signal.reason instanceof Error ? spec.signal.reason : new Error('export aborted'));
      return;
    }
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    command.run();
  });
}
