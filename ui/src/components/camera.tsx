import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Camera, isMissingEndpoint, type LiveSource } from '../api';
import {
  cameraStatus,
  findLatestSegment,
  latestSegments,
  loadStorageState,
  useStorageState,
} from '../cameras';
import { type MessageKey, useT } from '../i18n';
import { type LivePlayerState, playLiveMp4 } from '../mse';
import { useStore } from '../store';
import { Icon } from './icons';
import { errorMessage } from './ui';

/** How often a tile's picture is refreshed; a live view is only opened on the camera's own page. */
export const SNAPSHOT_INTERVAL_MS = 5000;

/** Whether the page is visible now, re-rendering on change (nothing refreshes in a hidden tab). */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== 'hidden');
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return visible;
}

export function CameraStatusBadge({ camera }: { camera: Camera }) {
  const t = useT();
  const status = cameraStatus(camera);
  const error = camera.recorder?.lastError;
  return (
    <span
      class={`badge cam-${status}`}
      data-status={status}
      title={error && (status === 'failed' || status === 'reconnecting') ? error : undefined}
    >
      {status === 'recording' ? <span class="rec-dot" aria-hidden="true" /> : null}
      {t(`camera.status.${status}`)}
    </span>
  );
}

/** NAS down, recordings going to the local spool, and what the full spool had to delete. */
export function StorageBanner() {
  const t = useT();
  const storage = useStorageState();
  useEffect(() => {
    void loadStorageState();
  }, []);
  const nas = storage.nas;
  if (!nas) return null;
  if (nas.healthy) {
    if (!nas.totalBytes || nas.freeBytes === undefined || nas.freeBytes / nas.totalBytes > 0.05) return null;
    return (
      <div class="alert alert-warning storage-banner" role="status">
        <Icon name="warning" />
        <span>{t('storage.nasLow', { percent: Math.round((nas.freeBytes / nas.totalBytes) * 100) })}</span>
      </div>
    );
  }
  const reasonKey = `storage.reason.${nas.reason ?? 'unknown'}`;
  return (
    <div class="alert alert-error storage-banner" role="alert">
      <Icon name="warning" />
      <strong>{t('storage.nasDown')}</strong>
      <p>
        {reasonKey in REASONS ? t(reasonKey as MessageKey) : t('storage.reason.unknown')}{' '}
        {t('storage.spooling')}
      </p>
      {storage.spool && storage.spool.segments > 0 ? (
        <p>
          {t('storage.spooled', { count: storage.spool.segments })}{' '}
          {t('storage.spoolUsage', {
            percent: Math.min(100, Math.round((storage.spool.usedBytes / storage.spool.quotaBytes) * 100)),
          })}
        </p>
      ) : null}
      {storage.spoolDropped > 0 ? <p>{t('storage.spoolFull', { count: storage.spoolDropped })}</p> : null}
    </div>
  );
}

const REASONS: Record<string, true> = {
  'storage.reason.unchecked': true,
  'storage.reason.missing': true,
  'storage.reason.not_mounted': true,
  'storage.reason.no_marker': true,
  'storage.reason.probe_failed': true,
  'storage.reason.probe_timeout': true,
  'storage.reason.full': true,
};

function NoPicture({ label }: { label: string }) {
  return (
    <div class="no-picture">
      <Icon name="camera" class="no-picture-icon" />
      <span>{label}</span>
    </div>
  );
}

/**
 * A camera's latest still, refreshed every few seconds: the hub's snapshot where the camera has
 * one, otherwise the thumbnail of its newest recorded segment. The shown picture is swapped only
 * when a new one has loaded, so a tile never flashes empty or shows a broken image.
 */
export function CameraPicture({ camera }: { camera: Camera }) {
  const t = useT();
  const visible = usePageVisible();
  const latest = useStore(latestSegments).get(camera.id);
  const [picture, setPicture] = useState<string | null>(null);
  const snapshotWorks = useRef<boolean | null>(null);
  const shownSegment = useRef<number | null>(null);
  const shownTag = useRef<string | null>(null);
  const shownUrl = useRef<string | null>(null);
  const latestRef = useRef(latest);
  latestRef.current = latest;

  useEffect(() => {
    snapshotWorks.current = null;
  }, [camera.kind, camera.enabled]);

  useEffect(() => {
    if (!visible) return;
    const controller = new AbortController();
    const show = (blob: Blob) => {
      if (controller.signal.aborted) return;
      const url = URL.createObjectURL(blob);
      if (shownUrl.current) URL.revokeObjectURL(shownUrl.current);
      shownUrl.current = url;
      setPicture(url);
    };
    const refresh = async () => {
      if (snapshotWorks.current !== false) {
        try {
          const snapshot = await api.snapshot(camera.id, controller.signal);
          snapshotWorks.current = true;
          if (snapshot.tag && snapshot.tag === shownTag.current) return; // unchanged (a 304)
          show(await snapshot.blob());
          shownTag.current = snapshot.tag;
          shownSegment.current = null;
          return;
        } catch (error) {
          if (controller.signal.aborted) return;
          // 409 (disabled, battery, node camera) or an older hub: show its newest recording instead.
          if (error instanceof ApiError && (error.status === 409 || isMissingEndpoint(error)))
            snapshotWorks.current = false;
          else if (snapshotWorks.current) return; // a passing hiccup: keep the last picture
        }
      }
      const segment = latestRef.current;
      if (!segment) {
        void findLatestSegment(camera.id);
        return;
      }
      if (shownSegment.current === segment.id) return;
      try {
        show(await api.segmentThumbnail(segment.id, controller.signal));
        shownSegment.current = segment.id;
        shownTag.current = null;
      } catch {
        // No thumbnail (yet): keep what is shown.
      }
    };
    void refresh();
    const timer = setInterval(() => void refresh(), SNAPSHOT_INTERVAL_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [camera.id, visible, latest?.id]);

  useEffect(
    () => () => {
      if (shownUrl.current) URL.revokeObjectURL(shownUrl.current);
    },
    [],
  );

  if (!picture)
    return <NoPicture label={camera.enabled ? t('camera.noPicture') : t('camera.status.disabled')} />;
  return <img class="camera-picture" src={picture} alt={t('camera.pictureOf', { name: camera.name })} />;
}

// ---------------------------------------------------------------- live view

function MjpegLive({ url, name }: { url: string; name: string }) {
  const t = useT();
  const img = useRef<HTMLImageElement>(null);
  const [attempt, setAttempt] = useState(0);
  const [failed, setFailed] = useState(false);
  const visible = usePageVisible();
  useEffect(() => {
    const element = img.current;
    // An <img> keeps a multipart stream open until its source is cleared.
    return () => element?.removeAttribute('src');
  }, [visible, attempt]);
  if (!visible) return <NoPicture label={t('liveView.paused')} />;
  return (
    <>
      <img
        key={attempt}
        ref={img}
        class="live-media"
        src={attempt ? `${url}${url.includes('?') ? '&' : '?'}retry=${attempt}` : url}
        alt={t('liveView.of', { name })}
        onLoad={() => setFailed(false)}
        onError={() => setFailed(true)}
      />
      {failed ? (
        <div class="live-overlay">
          <p>{t('liveView.lost')}</p>
          <button type="button" class="btn btn-small" onClick={() => setAttempt((n) => n + 1)}>
            {t('common.retry')}
          </button>
        </div>
      ) : null}
    </>
  );
}

function Mp4Live({ url, codec, name }: { url: string; codec: string; name: string }) {
  const t = useT();
  const video = useRef<HTMLVideoElement>(null);
  const visible = usePageVisible();
  const [state, setState] = useState<{ state: LivePlayerState; detail?: string | undefined }>({
    state: 'connecting',
  });
  useEffect(() => {
    if (!visible || !video.current) return;
    return playLiveMp4({
      video: video.current,
      url,
      codec,
      onState: (next, detail) => setState({ state: next, detail }),
    });
  }, [url, codec, visible]);
  return (
    <>
      <video
        ref={video}
        class="live-media"
        muted
        autoplay
        playsInline
        disablePictureInPicture
        aria-label={t('liveView.of', { name })}
        data-state={state.state}
      />
      {state.state !== 'playing' ? (
        <div class="live-overlay" aria-live="polite">
          <p>
            {state.state === 'unsupported'
              ? t('liveView.unsupported')
              : state.state === 'error'
                ? t('liveView.reconnecting')
                : t('liveView.connecting')}
          </p>
        </div>
      ) : null}
    </>
  );
}

/** The camera's live picture: MJPEG in an <img>, or fragmented MP4 through MSE, as the hub says. */
export function LiveView({ camera }: { camera: Camera }) {
  const t = useT();
  const [source, setSource] = useState<LiveSource | { error: unknown } | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let cancelled = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    if (attempt === 0) setSource(null);
    api.liveSource(camera.id).then(
      (live) => !cancelled && setSource(live),
      (error: unknown) => {
        if (cancelled) return;
        // A hub without the `/live` route still has the MJPEG fan-out for MJPEG cameras.
        if (isMissingEndpoint(error) && (camera.kind === 'mjpeg' || camera.kind === 'esp32'))
          return setSource({
            kind: 'mjpeg',
            url: `/api/cameras/${encodeURIComponent(camera.id)}/live.mjpeg`,
          });
        setSource({ error });
        // 503: the stream is starting, or too many people watch; the hub says when to ask again.
        if (error instanceof ApiError && error.status === 503)
          retry = setTimeout(() => setAttempt((n) => n + 1), (error.retryAfter ?? 3) * 1000);
      },
    );
    return () => {
      cancelled = true;
      if (retry !== undefined) clearTimeout(retry);
    };
  }, [camera.id, camera.kind, camera.enabled, camera.powerProfile, attempt]);

  let body: ComponentChildren;
  if (!source) body = <NoPicture label={t('common.loading')} />;
  else if ('error' in source) {
    const error = source.error;
    const code = error instanceof ApiError ? error.code : '';
    const message =
      code === 'battery_camera'
        ? t('liveView.battery')
        : code === 'disabled'
          ? t('liveView.disabled')
          : code === 'too_many_viewers'
            ? t('liveView.tooMany')
            : error instanceof ApiError && error.status === 503
              ? t('liveView.unavailable')
              : (error instanceof ApiError && error.status === 409) || isMissingEndpoint(error)
                ? t('liveView.none')
                : errorMessage(error, t);
    body = (
      <>
        <CameraPicture camera={camera} />
        <div class="live-overlay live-overlay-bottom">
          <p>{message}</p>
        </div>
      </>
    );
  } else if (source.kind === 'mjpeg') body = <MjpegLive url={source.url} name={camera.name} />;
  else body = <Mp4Live url={source.url} codec={source.codec} name={camera.name} />;

  const live = source && !('error' in source);
  return (
    <div class="live-view" data-live={live ? source.kind : 'none'}>
      {body}
      {live ? (
        <span class="live-badge" aria-hidden="true">
          <span class="rec-dot" />
          {t('liveView.badge')}
        </span>
      ) : null}
    </div>
  );
}
