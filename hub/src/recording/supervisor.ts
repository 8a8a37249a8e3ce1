import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { type RecorderHandle, type RecorderInput, type RecorderSpec, redactUrls } from '../media/index.js';

/** `paused`: stopped by retention because the storage is full and only protected footage is left. */
export type RecorderStateName = 'starting' | 'recording' | 'reconnecting' | 'failed' | 'disabled' | 'paused';

export interface RecorderState {
  state: RecorderStateName;
  lastError: string | null;
  since: number;
  restarts: number;
}

export interface SupervisorOptions {
  cameraId: string;
  input: RecorderInput;
  segmentSeconds: number;
  stagingDir: string;
  startRecorder: (
    spec: RecorderSpec,
    events: { onSegment(file: string): void; onLog?(line: { level: string; message: string }): void },
  ) => RecorderHandle;
  /** Called for each segment ffmpeg has finished writing. */
  onSegment(file: string): void;
  onState(state: RecorderState): void;
  /** Called after every ffmpeg exit, before the backoff: the segment it was writing is finished now too. */
  onExit?(): void;
  /** Feeds frames for MJPEG inputs; returns an unsubscribe function. */
  attachFrames?: (write: (jpeg: Buffer) => void) => () => void;
  log: Logger;
  stallSeconds: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Consecutive failed starts before the state says `failed` (it keeps retrying at the longest backoff). */
  failedAfter?: number;
  random?: () => number;
}

/** A run shorter than this counts as a failed start for the backoff. */
const STABLE_MS = 60_000;

/**
 * Keeps one ffmpeg recording for one camera: restarts it with exponential backoff and jitter,
 * and kills it when its output has not grown for `stallSeconds` though the process lives
 * (a camera that stops sending without closing the connection).
 */
export function superviseRecorder(options: SupervisorOptions) {
  const { log } = options;
  const random = options.random ?? Math.random;
  const failedAfter = options.failedAfter ?? 5;
  let current: RecorderHandle | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  let state: RecorderState = { state: 'starting', lastError: null, since: Date.now(), restarts: 0 };

  function setState(next: Partial<RecorderState> & { state: RecorderStateName }) {
    if (next.state === state.state && (next.lastError ?? state.lastError) === state.lastError) return;
    state = { ...state, ...next, since: Date.now() };
    options.onState(state);
  }

  async function newestOutputSize(): Promise<number> {
    const prefix = `${options.cameraId}_`;
    const names = (await readdir(options.stagingDir)).filter(
      (name) => name.startsWith(prefix) && name.endsWith('.mp4'),
    );
    if (names.length === 0) return -1;
    const newest = names.sort().at(-1)!;
    return (await stat(path.join(options.stagingDir, newest)).catch(() => ({ size: -1 }))).size;
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function runOnce(): Promise<string> {
    let lastLogError: string | null = null;
    const handle = options.startRecorder(
      {
        cameraId: options.cameraId,
        input: options.input,
        segmentSeconds: options.segmentSeconds,
        stagingDir: options.stagingDir,
      },
      {
        onSegment: options.onSegment,
        onLog: (line) => {
          if (line.level === 'error') lastLogError = line.message;
          log.debug(
            { camera: options.cameraId, ffmpeg: redactUrls(line.message), level: line.level },
            'ffmpeg',
          );
        },
      },
    );
    current = handle;
    const detach = options.attachFrames?.((jpeg) => {
      if (handle.frames?.writable) handle.frames.write(jpeg);
    });
    let stalled = false;
    let lastSize = -1;
    let lastGrowth = Date.now();
    const watchdog = setInterval(async () => {
      const size = await newestOutputSize().catch(() => -1);
      if (size > lastSize) {
        lastSize = size;
        lastGrowth = Date.now();
        if (size > 0) setState({ state: 'recording', lastError: null });
      } else if (size < lastSize) {
        lastSize = size; // a new segment began
        lastGrowth = Date.now();
      } else if (Date.now() - lastGrowth > options.stallSeconds * 1000 && !stalled) {
        stalled = true;
        log.warn(
          { camera: options.cameraId, stallSeconds: options.stallSeconds },
          'recorder stalled; restarting it',
        );
        handle.kill();
      }
    }, 1000);
    watchdog.unref();
    const exit = await handle.exited;
    clearInterval(watchdog);
    detach?.();
    current = undefined;
    if (stalled) return `stalled: no output for ${options.stallSeconds} s`;
    return (
      exit.lastError ??
      lastLogError ??
      `ffmpeg exited (code ${exit.code ?? '-'}, signal ${exit.signal ?? '-'})`
    );
  }

  const done = (async () => {
    let failures = 0;
    while (!stopped) {
      const startedAt = Date.now();
      // ffmpeg quotes its input URL in errors; a camera password must not reach the log or the API.
      const reason = redactUrls(await runOnce().catch((error: Error) => error.message));
      options.onExit?.();
      if (stopped) break;
      failures = Date.now() - startedAt < STABLE_MS ? failures + 1 : 1;
      const raw = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** (failures - 1));
      const delay = Math.round(raw * (0.75 + random() * 0.5));
      setState({ state: failures >= failedAfter ? 'failed' : 'reconnecting', lastError: reason });
      state.restarts += 1;
      log.warn(
        { camera: options.cameraId, reason, retryInMs: delay, failures },
        'recorder stopped; restarting after backoff',
      );
      await pause(delay);
    }
    setState({ state: 'disabled', lastError: null });
  })();

  return {
    state: () => state,
    /** Finishes the current segment cleanly (ffmpeg closes it), then stops supervising. */
    async stop(graceMs = 10_000): Promise<void> {
      stopped = true;
      wake?.();
      await current?.stop(graceMs);
      await done;
    },
  };
}

export type Supervisor = ReturnType<typeof superviseRecorder>;
