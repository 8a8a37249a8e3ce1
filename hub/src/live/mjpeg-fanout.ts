import type { MjpegFrame } from '../media/index.js';

/** The boundary the hub's own MJPEG answers use (any token works; this one is short). */
export const LIVE_BOUNDARY = 'hearthframe';

/**
 * One viewer's MJPEG answer fed from the camera's shared upstream. The viewer holds at most one
 * pending frame: when it reads slower than the camera sends, older frames are replaced, never
 * queued, so a slow phone costs memory for one JPEG and never slows the others.
 */
export function mjpegViewerStream(
  subscribe: (listener: (frame: MjpegFrame) => void) => () => void,
  onEnd: () => void,
) {
  let pending: Buffer | null = null;
  let wake: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  let ended = false;
  let dropped = 0;
  const encoder = new TextEncoder();

  function end() {
    if (ended) return;
    ended = true;
    unsubscribe?.();
    wake?.();
    onEnd();
  }

  const stream = new ReadableStream<Uint8Array>(
    {
      start() {
        unsubscribe = subscribe((frame) => {
          if (pending) dropped += 1;
          pending = frame.jpeg;
          wake?.();
          wake = undefined;
        });
      },
      async pull(controller) {
        while (!pending && !ended) await new Promise<void>((resolve) => (wake = resolve));
        if (ended) {
          controller.close();
          return;
        }
        const jpeg = pending!;
        pending = null;
        controller.enqueue(
          encoder.encode(
            `--${LIVE_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
          ),
        );
        controller.enqueue(new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
        controller.enqueue(encoder.encode('\r\n'));
      },
      cancel: end,
    },
    // Nothing queued beyond the frame being written: backpressure lands on `pending`, which keeps only the newest.
    { highWaterMark: 0 },
  );
  return { stream, dropped: () => dropped, end };
}
