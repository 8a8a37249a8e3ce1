import type { CameraRow } from '../cameras/cameras.service.js';
import type { Logger } from '../log/logger.js';
import {
  type LiveFragment,
  type LiveInit,
  type LiveStreamEvents,
  type LiveStreamHandle,
  type LiveStreamInput,
  type LiveStreamSpec,
  startLiveStream,
} from '../media/index.js';

/** What a viewer (or a snapshot) hears from a camera's live stream. */
export interface LiveListener {
  onFragment(fragment: LiveFragment): void;
  /** The stream ended (ffmpeg exited or was stopped): the viewer closes, the browser reconnects. */
  onEnd(reason: string): void;
}

/** Why a stream cannot be watched now; the route answers 503 with Retry-After. */
export class LiveUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

export interface LiveStatus {
  running: boolean;
  listeners: number;
  codec: string | null;
  /** Date.now() when the current ffmpeg was spawned. */
  startedAt: number | null;
  fragments: number;
  /**
   * Hub-side delay of the newest fragment: time since ffmpeg was spawned minus the media time at the end of
   * the fragment. Exact for the demo (generated in real time from spawn, so this includes ffmpeg's start-up
   * and is an upper bound); for an RTSP camera it also includes connecting and is only an upper bound.
   */
  hubDelayMs: number | null;
  /** The largest such delay since the stream started, after its first two seconds (start-up burst). */
  hubDelayMaxMs: number | null;
  failures: number;
  lastError: string | null;
}

type StartLiveStream = (spec: LiveStreamSpec, events: LiveStreamEvents) => LiveStreamHandle;

export interface H264LiveOptions {
  log: Logger;
  /** ffmpeg runs on this long after the last viewer leaves, so a page reload does not restart it. */
  graceMs?: number;
  /** No fragment for this long (a camera that went silent without closing): ffmpeg is stopped. */
  idleTimeoutMs?: number;
  /** The GOP kept for joining viewers is dropped past this size; they then wait for the next keyframe. */
  maxGopBytes?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Tests swap ffmpeg out; the hub always uses the real one. */
  start?: StartLiveStream;
}

/** How a camera is watched live as H.264, or null when it is not (MJPEG cameras, nodes). */
export function liveInputFor(camera: Pick<CameraRow, 'kind' | 'name' | 'sourceUrl'>): LiveStreamInput | null {
  if (camera.kind === 'demo') return { kind: 'demo', label: camera.name };
  // A node camera's URL is its node's feed, set from the node's heartbeats.
  if ((camera.kind === 'rtsp' || camera.kind === 'node') && camera.sourceUrl)
    return { kind: 'stream', url: camera.sourceUrl };
  return null;
}

interface Run {
  generation: number;
  handle: LiveStreamHandle;
  init: LiveInit | null;
  /** Fragments from the newest keyframe fragment on: what a joining viewer starts with. */
  gop: LiveFragment[];
  gopBytes: number;
  latestKeyframe: LiveFragment | null;
  lastFragmentAt: number;
  fragments: number;
  hubDelayMs: number | null;
  hubDelayMaxMs: number | null;
  waiters: Set<{ resolve(init: LiveInit): void; reject(error: Error): void }>;
  /** Set when we stopped it on purpose (no viewers, camera changed, shutdown): not a failure. */
  stopReason: string | null;
  /** Set when we stopped it because it misbehaved (silent): a failure, with this reason. */
  failReason: string | null;
}

/**
 * One camera's live H.264: one ffmpeg shared by every viewer, started by the first and stopped a grace
 * period after the last leaves (the MJPEG upstream's lifecycle, cameras/mjpeg-upstream.ts). A run that
 * fails is not restarted while nobody asks; requests during its backoff are refused quickly instead of
 * each spawning an ffmpeg against a dead camera.
 */
export function createH264Live(input: LiveStreamInput, options: H264LiveOptions) {
  const start = options.start ?? startLiveStream;
  const graceMs = options.graceMs ?? 5000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  const maxGopBytes = options.maxGopBytes ?? 8 * 1024 * 1024;
  const listeners = new Set<LiveListener>();
  let run: Run | undefined;
  let generation = 0;
  let failures = 0;
  let retryAt = 0;
  let lastError: string | null = null;
  let codec: string | null = null;
  let closeTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;

  function begin(): Run {
    const current: Run = {
      generation: ++generation,
      handle: undefined as unknown as LiveStreamHandle,
      init: null,
      gop: [],
      gopBytes: 0,
      latestKeyframe: null,
      lastFragmentAt: Date.now(),
      fragments: 0,
      hubDelayMs: null,
      hubDelayMaxMs: null,
      waiters: new Set(),
      stopReason: null,
      failReason: null,
    };
    current.handle = start(
      { input },
      {
        onInit(init) {
          current.init = init;
          codec = init.codec;
          for (const waiter of current.waiters) waiter.resolve(init);
          current.waiters.clear();
        },
        onFragment(fragment) {
          current.fragments += 1;
          current.lastFragmentAt = Date.now();
          const startedAt = current.handle.startedAt;
          if (startedAt !== undefined) {
            const delay = fragment.receivedAt - startedAt - fragment.endSeconds * 1000;
            current.hubDelayMs = delay;
            if (fragment.endSeconds > 2) current.hubDelayMaxMs = Math.max(current.hubDelayMaxMs ?? 0, delay);
          }
          if (fragment.keyframe) {
            failures = 0;
            current.latestKeyframe = fragment;
            current.gop = [];
            current.gopBytes = 0;
          }
          // A GOP too large to keep is dropped: joining viewers then wait for the next keyframe.
          if (current.gop.length > 0 || fragment.keyframe) {
            if (current.gopBytes + fragment.bytes.length <= maxGopBytes) {
              current.gop.push(fragment);
              current.gopBytes += fragment.bytes.length;
            } else {
              current.gop = [];
              current.gopBytes = 0;
            }
          }
          for (const listener of listeners) listener.onFragment(fragment);
        },
        onLog(line) {
          if (line.level === 'error')
            options.log.warn({ ffmpeg: line.message, source: line.source }, 'live stream ffmpeg error');
        },
      },
    );
    void current.handle.exited.then((exit) => {
      const reason =
        current.stopReason ??
        current.failReason ??
        exit.lastError ??
        `ffmpeg exited (${exit.signal ?? exit.code})`;
      if (current.stopReason === null) {
        // Ended by itself, or silent: the camera went away or never answered. Back off before the next try.
        failures += 1;
        lastError = reason;
        retryAt = Date.now() + backoff();
        options.log.warn({ err: reason, failures }, 'live stream ended');
      }
      if (run === current) {
        run = undefined;
        clearInterval(idleTimer);
      }
      for (const waiter of current.waiters) waiter.reject(new LiveUnavailable(reason, backoff()));
      current.waiters.clear();
      const ended = [...listeners];
      listeners.clear();
      for (const listener of ended) listener.onEnd(reason);
    });
    clearInterval(idleTimer);
    idleTimer = setInterval(() => {
      if (run !== current || Date.now() - current.lastFragmentAt < idleTimeoutMs) return;
      current.failReason = `no video for ${Math.round(idleTimeoutMs / 1000)} s`;
      void current.handle.stop(2000);
    }, 1000);
    idleTimer.unref();
    return current;
  }

  function backoff(): number {
    if (failures === 0) return 0;
    return Math.min(options.backoffMaxMs ?? 30_000, (options.backoffBaseMs ?? 1000) * 2 ** (failures - 1));
  }

  async function stopRun(current: Run, reason: string): Promise<void> {
    current.stopReason ??= reason;
    await current.handle.stop(2000);
  }

  function ensure(): Run {
    if (run) return run;
    const wait = retryAt - Date.now();
    if (wait > 0)
      throw new LiveUnavailable(lastError ?? 'the live stream failed; retrying shortly', Math.ceil(wait));
    run = begin();
    return run;
  }

  function scheduleClose() {
    clearTimeout(closeTimer);
    closeTimer = setTimeout(() => {
      if (listeners.size > 0 || !run) return;
      // Someone is still waiting for the first picture (a slow camera): keep it going for them.
      if (run.waiters.size > 0) scheduleClose();
      else void stopRun(run, 'no viewers');
    }, graceMs);
    closeTimer.unref();
  }

  return {
    /**
     * Listens to the stream, starting it if needed (throws LiveUnavailable during a failure's backoff).
     * The GOP returned was current at the moment of subscribing, so a viewer appends it and then every
     * fragment its listener hears, without a gap or a repeat.
     */
    subscribe(listener: LiveListener): { unsubscribe(): void; gop: LiveFragment[] } {
      const current = ensure();
      clearTimeout(closeTimer);
      listeners.add(listener);
      return {
        gop: [...current.gop],
        unsubscribe() {
          if (!listeners.delete(listener)) return;
          if (listeners.size === 0) scheduleClose();
        },
      };
    },

    /** The init segment of the running stream, waiting for it (and starting the stream) if needed. */
    ready(timeoutMs: number): Promise<LiveInit> {
      let current: Run;
      try {
        current = ensure();
      } catch (error) {
        return Promise.reject(error);
      }
      if (current.init) return Promise.resolve(current.init);
      if (listeners.size === 0) scheduleClose(); // started only for this question: it ends unless someone watches
      return new Promise<LiveInit>((resolve, reject) => {
        const waiter = {
          resolve: (init: LiveInit) => {
            clearTimeout(timer);
            resolve(init);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          current.waiters.delete(waiter);
          reject(new LiveUnavailable(lastError ?? `no video within ${Math.round(timeoutMs / 1000)} s`, 5000));
        }, timeoutMs);
        current.waiters.add(waiter);
      });
    },

    init: (): LiveInit | null => run?.init ?? null,

    /** The newest keyframe fragment of the running stream (for snapshots), with the run it belongs to. */
    latestKeyframe(): { generation: number; init: LiveInit; fragment: LiveFragment } | null {
      if (!run?.init || !run.latestKeyframe) return null;
      return { generation: run.generation, init: run.init, fragment: run.latestKeyframe };
    },

    status(): LiveStatus {
      return {
        running: run !== undefined,
        listeners: listeners.size,
        codec,
        startedAt: run?.handle.startedAt ?? null,
        fragments: run?.fragments ?? 0,
        hubDelayMs: run?.hubDelayMs ?? null,
        hubDelayMaxMs: run?.hubDelayMaxMs ?? null,
        failures,
        lastError,
      };
    },

    /** Ends the stream and its viewers now (shutdown, camera changed). */
    async stop(reason = 'stopped'): Promise<void> {
      clearTimeout(closeTimer);
      clearInterval(idleTimer);
      if (run) await stopRun(run, reason);
    },
  };
}

export type H264Live = ReturnType<typeof createH264Live>;

/** One H.264 live stream per camera for the whole hub (cf. cameras/mjpeg-sources.ts). */
export function createH264LiveSources(options: H264LiveOptions) {
  const sources = new Map<string, { key: string; live: H264Live }>();
  return {
    /** The camera's stream, or null for a camera not watched as H.264. A changed source replaces it. */
    forCamera(camera: Pick<CameraRow, 'id' | 'kind' | 'name' | 'sourceUrl'>): H264Live | null {
      const input = liveInputFor(camera);
      if (!input) return null;
      const key = JSON.stringify(input);
      const existing = sources.get(camera.id);
      if (existing?.key === key) return existing.live;
      void existing?.live.stop('the camera changed');
      const live = createH264Live(input, { ...options, log: options.log.child({ camera: camera.id }) });
      sources.set(camera.id, { key, live });
      return live;
    },
    /** The running stream of a camera, if any: snapshots use it but never start one. */
    running(cameraId: string): H264Live | null {
      const live = sources.get(cameraId)?.live;
      return live?.status().running ? live : null;
    },
    status(cameraId: string): LiveStatus | null {
      return sources.get(cameraId)?.live.status() ?? null;
    },
    /** A camera was edited, disabled or removed: its viewers reconnect and see the new state. */
    async cameraChanged(cameraId: string): Promise<void> {
      const existing = sources.get(cameraId);
      sources.delete(cameraId);
      await existing?.live.stop('the camera changed');
    },
    async stopAll(): Promise<void> {
      const all = [...sources.values()];
      sources.clear();
      await Promise.all(all.map(({ live }) => live.stop('the hub is stopping')));
    },
  };
}

export type H264LiveSources = ReturnType<typeof createH264LiveSources>;
