import type { Logger } from '../log/logger.js';
import { boundaryFromContentType, type MjpegFrame, MjpegParser, type MjpegStats } from '../media/index.js';

export interface UpstreamStatus {
  connected: boolean;
  lastError: string | null;
  connects: number;
  frames: number;
  dropped: MjpegStats['dropped'];
}

type FrameListener = (frame: MjpegFrame) => void;

/**
 * The hub's single connection to one MJPEG camera (an ESP32 serves one client at a time).
 * The recorder and, later, every live viewer subscribe here; the connection opens with the
 * first subscriber, reconnects with backoff while anyone listens, and closes after the last
 * one leaves (after a grace period, so a page reload does not cost a reconnect).
 */
export function createMjpegUpstream(options: {
  url: string;
  log: Logger;
  /** A camera that sends nothing for this long is treated as gone and reconnected. */
  idleTimeoutMs?: number;
  graceMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}) {
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const listeners = new Set<FrameListener>();
  const status: UpstreamStatus = {
    connected: false,
    lastError: null,
    connects: 0,
    frames: 0,
    dropped: { torn: 0, badLength: 0, oversized: 0, notJpeg: 0, garbageBytes: 0 },
  };
  let controller: AbortController | undefined;
  let latest: { jpeg: Buffer; at: number } | undefined;
  let loop: Promise<void> | undefined;
  let closeTimer: NodeJS.Timeout | undefined;

  function addDropped(stats: MjpegStats, previous: MjpegStats['dropped']) {
    for (const key of Object.keys(status.dropped) as (keyof MjpegStats['dropped'])[])
      status.dropped[key] += stats.dropped[key] - previous[key];
  }

  async function connectOnce(signal: AbortSignal): Promise<void> {
    const response = await fetch(options.url, { signal });
    const boundary = boundaryFromContentType(response.headers.get('content-type'));
    if (!response.ok || !boundary || !response.body) {
      await response.body?.cancel();
      throw new Error(
        response.ok
          ? `not an MJPEG stream (${response.headers.get('content-type')})`
          : `camera answered HTTP ${response.status}`,
      );
    }
    status.connected = true;
    status.connects += 1;
    status.lastError = null;
    const parser = new MjpegParser(boundary);
    let counted = structuredClone(parser.stats.dropped);
    const reader = response.body.getReader();
    let idle: NodeJS.Timeout | undefined;
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => reader.cancel(new Error(`no data for ${idleTimeoutMs} ms`)).catch(() => {}),
        idleTimeoutMs,
      );
    };
    resetIdle();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) throw new Error('the camera closed the stream');
        resetIdle();
        for (const frame of parser.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) {
          status.frames += 1;
          latest = { jpeg: frame.jpeg, at: Date.now() };
          for (const listener of listeners) listener(frame);
        }
        addDropped(parser.stats, counted);
        counted = structuredClone(parser.stats.dropped);
      }
    } finally {
      clearTimeout(idle);
      status.connected = false;
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await connectOnce(signal);
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        status.lastError = (error as Error).message;
        options.log.warn(
          { err: (error as Error).message, failures },
          'MJPEG camera connection lost; reconnecting',
        );
      }
      const delay = Math.min(
        options.backoffMaxMs ?? 30_000,
        (options.backoffBaseMs ?? 500) * 2 ** Math.max(0, failures - 1),
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * (0.75 + Math.random() * 0.5));
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  function close() {
    controller?.abort();
    controller = undefined;
  }

  return {
    status: () => ({ ...status, dropped: { ...status.dropped }, subscribers: listeners.size }),

    /** The newest frame if it is fresh (under 2 s old and the connection is up), else null. */
    latest(): Buffer | null {
      return latest && status.connected && Date.now() - latest.at < 2000 ? latest.jpeg : null;
    },

    subscribe(listener: FrameListener): () => void {
      listeners.add(listener);
      clearTimeout(closeTimer);
      if (!controller) {
        controller = new AbortController();
        loop = run(controller.signal);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearTimeout(closeTimer);
          closeTimer = setTimeout(close, options.graceMs ?? 5000);
          closeTimer.unref();
        }
      };
    },

    async stop(): Promise<void> {
      clearTimeout(closeTimer);
      listeners.clear();
      close();
      await loop;
    },
  };
}

export type MjpegUpstream = ReturnType<typeof createMjpegUpstream>;
