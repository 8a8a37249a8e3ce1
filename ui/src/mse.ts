import { api } from './api';

/**
 * Live fragmented MP4 into a <video> through Media Source Extensions: the hub's stream is an
 * init segment (ftyp+moov) and then moof+mdat fragments, each starting at a keyframe, so the
 * bytes are appended as they arrive. The player stays near the live edge (a jump when it lags
 * more than 1.5 s), keeps only a short buffer, and reconnects with backoff when the stream ends.
 */

export type LivePlayerState = 'connecting' | 'playing' | 'unsupported' | 'error';

/** Lag behind the newest buffered frame past which the player jumps forward. */
const MAX_LAG_S = 1.5;
/** Where it lands after a jump: just behind the edge, so it does not stall at once. */
const EDGE_S = 0.3;
/** Buffer kept behind the playhead; older media is removed. */
const KEEP_BEHIND_S = 10;
/** Bytes waiting to be appended past which the player is too far behind and starts over. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

type MediaSourceClass = typeof MediaSource;

function mediaSourceClass(): MediaSourceClass | undefined {
  // iPhone Safari (17.1+) has only ManagedMediaSource; everything else has MediaSource.
  const w = window as unknown as { ManagedMediaSource?: MediaSourceClass; MediaSource?: MediaSourceClass };
  return w.MediaSource ?? w.ManagedMediaSource;
}

export function canPlayLiveMp4(codec: string): boolean {
  const MS = mediaSourceClass();
  return !!MS && MS.isTypeSupported(`video/mp4; codecs="${codec}"`);
}

export function playLiveMp4(options: {
  video: HTMLVideoElement;
  url: string;
  codec: string;
  onState: (state: LivePlayerState, detail?: string) => void;
}): () => void {
  const { video, url, codec, onState } = options;
  const MS = mediaSourceClass();
  const mime = `video/mp4; codecs="${codec}"`;
  if (!MS?.isTypeSupported(mime)) {
    onState('unsupported', mime);
    return () => {};
  }
  const Source: MediaSourceClass = MS;
  if (MS !== window.MediaSource) video.disableRemotePlayback = true; // ManagedMediaSource requires it

  let stopped = false;
  let controller: AbortController | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryDelay = 1000;

  /** Once per failure, however many signals (stream, append, <video>) report it. */
  const retry = (detail: string) => {
    if (stopped || retryTimer !== undefined) return;
    controller?.abort();
    onState('error', detail);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      start();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15_000);
  };

  function start() {
    if (stopped) return;
    onState('connecting');
    const mine = new AbortController();
    controller = mine;
    const source = new Source();
    const objectUrl = URL.createObjectURL(source);
    video.src = objectUrl;
    source.addEventListener(
      'sourceopen',
      () => {
        URL.revokeObjectURL(objectUrl);
        feed(source, mine.signal).catch((error: unknown) => {
          if (!mine.signal.aborted) retry(error instanceof Error ? error.message : String(error));
        });
      },
      { once: true },
    );
  }

  async function feed(source: MediaSource, signal: AbortSignal) {
    const buffer = source.addSourceBuffer(mime);
    const queue: Uint8Array[] = [];
    let queuedBytes = 0;
    let started = false;

    const chase = () => {
      const ranges = video.buffered;
      if (!ranges.length) return;
      const start = ranges.start(0);
      const end = ranges.end(ranges.length - 1);
      if (video.currentTime < start || end - video.currentTime > MAX_LAG_S)
        video.currentTime = Math.max(start, end - EDGE_S);
      if (!started) {
        started = true;
        retryDelay = 1000;
        onState('playing');
      }
      if (video.paused) video.play().catch(() => {});
    };

    const next = () => {
      if (buffer.updating || source.readyState !== 'open' || signal.aborted) return;
      const ranges = video.buffered;
      if (ranges.length && video.currentTime - ranges.start(0) > 2 * KEEP_BEHIND_S) {
        buffer.remove(0, video.currentTime - KEEP_BEHIND_S);
        return; // `updateend` comes back here
      }
      const chunk = queue.shift();
      if (!chunk) return;
      queuedBytes -= chunk.byteLength;
      try {
        buffer.appendBuffer(chunk as Uint8Array<ArrayBuffer>);
      } catch (error) {
        if (error instanceof DOMException && error.name === 'QuotaExceededError' && ranges.length) {
          queue.unshift(chunk);
          queuedBytes += chunk.byteLength;
          buffer.remove(0, Math.max(ranges.start(0) + 0.5, video.currentTime - 1));
        } else throw error;
      }
    };

    buffer.addEventListener('updateend', () => {
      chase();
      next();
    });
    buffer.addEventListener('error', () => {
      if (!signal.aborted) retry('append failed');
    });

    const response = await api.openStream(url, signal);
    if (!response.body) throw new Error('no stream body');
    const reader = response.body.getReader();
    signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) break;
      if (!value?.byteLength) continue;
      queue.push(value);
      queuedBytes += value.byteLength;
      if (queuedBytes > MAX_QUEUED_BYTES) throw new Error('fell behind the live stream');
      next();
    }
    if (!signal.aborted) retry('the stream ended');
  }

  const onVideoError = () => {
    if (!stopped && video.error) retry(`video error ${video.error.code}`);
  };
  video.addEventListener('error', onVideoError);
  start();

  return () => {
    stopped = true;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    controller?.abort();
    video.removeEventListener('error', onVideoError);
    video.removeAttribute('src');
    video.load();
  };
}
