/**
 * The inference service's input: a bounded queue of frames per camera that drops instead of backlogging.
 * A detector slower than the cameras (or stuck) must not make the hub hold ever more pictures, nor make
 * it analyse the past: a consumer that comes back gets each camera's newest frame, and whatever it never
 * got is counted, by reason, for the health view.
 *
 * - `perCamera` frames at most are held per camera; a push beyond that evicts that camera's oldest
 *   (`overflow`).
 * - A frame older than `maxAgeMs` (by the frame's own `at`) is never handed out (`stale`).
 * - `take()` hands out the newest frame of the camera served least recently (cameras take turns, so a busy
 *   one cannot starve a quiet one), and drops that camera's older ones (`superseded`): frames of one camera
 *   reach the consumer in time order, never out of it.
 * So memory is bounded by `perCamera × cameras` frames whatever the consumer does.
 */
import { z } from 'zod';
import type { Clock } from '../../clock.js';

export const frameQueueConfigSchema = z
  .object({
    perCamera: z.number().int().min(1).max(16).default(2),
    maxAgeMs: z.number().int().min(100).max(60_000).default(2000),
  })
  .strict();
export type FrameQueueConfig = z.infer<typeof frameQueueConfigSchema>;

export interface QueuedFrame {
  cameraId: string;
  /** When the frame was taken (ms since the epoch), by the clock the queue is given. */
  at: number;
}

export interface FrameQueueStats {
  pushed: number;
  taken: number;
  dropped: { overflow: number; stale: number; superseded: number };
  /** Frames held now. */
  queued: number;
}

export function createFrameQueue<T extends QueuedFrame>(
  clock: Clock,
  input: z.input<typeof frameQueueConfigSchema> = {},
) {
  const config = frameQueueConfigSchema.parse(input);
  /** Per camera, oldest first. Map order is the serving order: a served camera moves to the back. */
  const held = new Map<string, T[]>();
  const stats: FrameQueueStats = {
    pushed: 0,
    taken: 0,
    dropped: { overflow: 0, stale: 0, superseded: 0 },
    queued: 0,
  };
  const waiters: ((frame: T) => void)[] = [];

  function dropStale(now: number) {
    for (const [cameraId, frames] of held) {
      const fresh = frames.filter((f) => now - f.at <= config.maxAgeMs);
      stats.dropped.stale += frames.length - fresh.length;
      stats.queued -= frames.length - fresh.length;
      if (fresh.length === 0) held.delete(cameraId);
      else if (fresh.length !== frames.length) held.set(cameraId, fresh);
    }
  }

  /** The newest fresh frame of the next camera, or undefined. */
  function next(): T | undefined {
    dropStale(clock.now());
    for (const [cameraId, frames] of held) {
      held.delete(cameraId);
      const newest = frames.at(-1)!;
      stats.dropped.superseded += frames.length - 1;
      stats.queued -= frames.length;
      stats.taken += 1;
      return newest;
    }
    return undefined;
  }

  return {
    config,
    push(frame: T): void {
      stats.pushed += 1;
      const waiter = waiters.shift();
      if (waiter && clock.now() - frame.at <= config.maxAgeMs) {
        stats.taken += 1;
        waiter(frame);
        return;
      }
      if (waiter) waiters.unshift(waiter);
      let frames = held.get(frame.cameraId);
      if (!frames) {
        frames = [];
        held.set(frame.cameraId, frames);
      }
      frames.push(frame);
      stats.queued += 1;
      if (frames.length > config.perCamera) {
        frames.shift();
        stats.queued -= 1;
        stats.dropped.overflow += 1;
      }
    },

    /** The next frame to analyse, waiting for one if none is held. Rejects when `signal` aborts. */
    take(signal?: AbortSignal): Promise<T> {
      signal?.throwIfAborted();
      const frame = next();
      if (frame) return Promise.resolve(frame);
      return new Promise<T>((resolve, reject) => {
        const waiter = (f: T) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(f);
        };
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },

    stats(): FrameQueueStats {
      dropStale(clock.now());
      return { ...stats, dropped: { ...stats.dropped } };
    },
  };
}

export type FrameQueue<T extends QueuedFrame> = ReturnType<typeof createFrameQueue<T>>;
