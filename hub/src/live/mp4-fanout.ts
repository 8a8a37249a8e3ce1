import type { LiveFragment, LiveInit } from '../media/index.js';
import type { H264Live } from './h264-live.js';

/** A viewer's backlog past which it is behind: the backlog is dropped and it resumes at the next keyframe. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface Mp4ViewerStats {
  fragmentsSent: number;
  /** Fragments this viewer never got: dropped backlogs and the non-keyframe ones skipped after them. */
  fragmentsDropped: number;
  queuedBytes: number;
}

/**
 * One viewer's fragmented-MP4 answer fed from a camera's shared live stream: the init segment, then the
 * current GOP (so the picture starts at once from its keyframe), then every fragment as it comes. Fragments
 * are shared Buffers, never copied per viewer. A viewer that reads slower than the camera sends builds a
 * backlog; past `maxQueuedBytes` the backlog is dropped whole and the viewer waits for the next keyframe
 * fragment, because a decoder cannot resume in the middle of a GOP. So a stalled phone holds at most
 * `maxQueuedBytes` of references and never slows the others.
 *
 * Throws LiveUnavailable (from subscribe) when the stream is in a failure's backoff.
 */
export function mp4ViewerStream(
  live: Pick<H264Live, 'subscribe' | 'init'>,
  onEnd: () => void,
  options: { maxQueuedBytes?: number } = {},
) {
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  let queue: Buffer[] = [];
  let queuedBytes = 0;
  let needKeyframe = true;
  let initSent = false;
  let ended = false;
  let wake: (() => void) | undefined;
  const stats = { fragmentsSent: 0, fragmentsDropped: 0 };

  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  const accept = (fragment: LiveFragment) => {
    if (ended) return;
    if (queue.length > 0 && queuedBytes + fragment.bytes.length > maxQueuedBytes) {
      stats.fragmentsDropped += queue.length;
      queue = [];
      queuedBytes = 0;
      needKeyframe = true;
    }
    if (needKeyframe && !fragment.keyframe) {
      stats.fragmentsDropped += 1;
      return;
    }
    needKeyframe = false;
    queue.push(fragment.bytes);
    queuedBytes += fragment.bytes.length;
    notify();
  };

  let unsubscribe: () => void = () => {};
  function end() {
    if (ended) return;
    ended = true;
    unsubscribe();
    notify();
    onEnd();
  }

  const subscription = live.subscribe({
    onFragment: accept,
    // The stream is gone: what is queued is still sent, then the answer ends and the browser reconnects.
    onEnd: () => end(),
  });
  unsubscribe = subscription.unsubscribe;
  for (const fragment of subscription.gop) accept(fragment);

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!initSent) {
          // The route waits for the init before answering, so this loop is a safeguard, not a wait.
          let init: LiveInit | null = live.init();
          while (!init && !ended) {
            await new Promise<void>((resolve) => (wake = resolve));
            init = live.init();
          }
          if (init) {
            initSent = true;
            controller.enqueue(view(init.bytes));
            return;
          }
        }
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
        const next = queue.shift();
        if (!next) {
          controller.close();
          return;
        }
        queuedBytes -= next.length;
        stats.fragmentsSent += 1;
        controller.enqueue(view(next));
      },
      cancel: end,
    },
    // Nothing buffered ahead of the socket: the backlog is `queue`, where it can be bounded and dropped.
    { highWaterMark: 0 },
  );

  return {
    stream,
    end,
    stats: (): Mp4ViewerStats => ({ ...stats, queuedBytes }),
  };
}

function view(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
