/**
 * Recorded footage through the hub's HLS playlist. hls.js (its light build) is loaded only
 * here, by dynamic import, so it is fetched only when someone opens playback. Browsers that play
 * HLS themselves without Media Source Extensions (older iPhones) get the playlist directly.
 */

export interface PlaylistPlayer {
  /** Each fragment's start in playlist time as the player knows it (corrected by what it buffered). */
  fragmentStarts(): number[] | null;
  destroy(): void;
}

export async function attachPlaylist(options: {
  video: HTMLVideoElement;
  url: string;
  /** Playlist seconds to start at. */
  startPosition: number;
  onFatal: (detail: string) => void;
}): Promise<PlaylistPlayer> {
  const { video, url, startPosition, onFatal } = options;
  const { default: Hls } = await import('hls.js/dist/hls.light.mjs');
  if (Hls.isSupported()) {
    const hls = new Hls({
      startPosition,
      // The hub's CSP allows no blob: workers, and remuxing fMP4 is light work anyway.
      enableWorker: false,
      maxBufferLength: 20,
      maxMaxBufferLength: 60,
      backBufferLength: 30,
    });
    let recoveries = 0;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (recoveries++ < 3) {
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) return hls.startLoad();
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) return hls.recoverMediaError();
      }
      onFatal(`${data.type}: ${data.details}`);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return {
      fragmentStarts() {
        const level = hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : 0];
        return level?.details?.fragments.map((fragment) => fragment.start) ?? null;
      },
      destroy() {
        hls.destroy();
      },
    };
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    const seek = () => {
      video.currentTime = startPosition;
    };
    const fail = () => onFatal(`video error ${video.error?.code ?? ''}`);
    video.addEventListener('loadedmetadata', seek, { once: true });
    video.addEventListener('error', fail);
    video.src = url;
    return {
      fragmentStarts: () => null,
      destroy() {
        video.removeEventListener('loadedmetadata', seek);
        video.removeEventListener('error', fail);
        video.removeAttribute('src');
        video.load();
      },
    };
  }
  onFatal('unsupported');
  return { fragmentStarts: () => null, destroy() {} };
}
