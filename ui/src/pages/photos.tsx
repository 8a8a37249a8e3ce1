import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, type Photo, urls } from '../api';
import { useCamera, useCanManage } from '../cameras';
import { CameraDevicePanel, wakeReasonText } from '../components/camera-device';
import { DayNav, useHouseholdZone } from '../components/day-nav';
import { Icon } from '../components/icons';
import {
  Alert,
  ConfirmButton,
  errorMessage,
  LoadError,
  Loading,
  PageHeader,
  useResource,
} from '../components/ui';
import { formatBytes } from '../format';
import { usePageTitle } from '../hooks';
import { useLocale, useT } from '../i18n';
import { useLive } from '../live';
import { clockText, dayBounds, dayOf, isDay } from '../time';
import { cameraPath } from './camera';

interface Burst {
  id: string;
  /** Best shot first, then in the order taken. */
  photos: Photo[];
  at: number;
}

/** Newest burst first; inside a burst the best shot leads, the rest follow in sequence. */
export function groupBursts(photos: readonly Photo[]): Burst[] {
  const byId = new Map<string, Photo[]>();
  for (const photo of photos) {
    const list = byId.get(photo.burstId);
    if (list) list.push(photo);
    else byId.set(photo.burstId, [photo]);
  }
  return [...byId.entries()]
    .map(([id, list]) => ({
      id,
      photos: [...list].sort((a, b) => Number(b.best) - Number(a.best) || a.seq - b.seq),
      at: Math.min(...list.map((p) => p.capturedAt)),
    }))
    .sort((a, b) => b.at - a.at);
}

export function PhotosPage() {
  const { params, query } = useRoute();
  const zone = useHouseholdZone();
  const id = params.id ?? '';
  if (!zone) return <Loading />;
  const day = isDay(query.day) ? query.day : dayOf(Date.now(), zone);
  return <PhotosView key={`${id}|${day}|${zone}`} id={id} day={day} zone={zone} />;
}

function PhotoTile({ photo, zone, onOpen }: { photo: Photo; zone: string; onOpen: () => void }) {
  const t = useT();
  const time = clockText(photo.capturedAt, zone);
  return (
    <button
      type="button"
      class={photo.best ? 'photo-tile photo-best' : 'photo-tile'}
      data-photo={photo.id}
      data-state={photo.state}
      onClick={onOpen}
    >
      {photo.state === 'completed' ? (
        <img
          src={urls.photo(photo.id, 'thumb')}
          alt={t('photos.alt', { seq: photo.seq + 1, time })}
          width={photo.width}
          height={photo.height}
          loading="lazy"
        />
      ) : (
        <span class="photo-pending" title={photo.error ?? undefined}>
          {t(`photos.state.${photo.state}`)}
        </span>
      )}
      <span class="photo-badges">
        {photo.best ? <span class="badge badge-best">{t('photos.best')}</span> : null}
        {photo.favorite ? (
          <span class="badge badge-favorite" title={t('photos.favorited')}>
            <Icon name="star" />
          </span>
        ) : null}
      </span>
    </button>
  );
}

function PhotoViewer({
  photo,
  zone,
  onClose,
  onStep,
  onChanged,
  onDeleted,
}: {
  photo: Photo;
  zone: string;
  onClose: () => void;
  onStep: (delta: number) => void;
  onChanged: (photo: Photo) => void;
  onDeleted: () => void;
}) {
  const t = useT();
  const locale = useLocale();
  const canManage = useCanManage();
  const [error, setError] = useState<string | null>(null);
  const section = useRef<HTMLElement>(null);
  const time = clockText(photo.capturedAt, zone);

  useEffect(() => {
    section.current?.scrollIntoView({ block: 'nearest' });
    section.current?.focus({ preventScroll: true });
  }, [photo.id]);

  const attempt = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e, t));
    }
  };

  return (
    <section
      ref={section}
      class="card photo-viewer"
      aria-label={t('photos.alt', { seq: photo.seq + 1, time })}
      data-testid="photo-viewer"
      tabIndex={-1}
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
        else if (event.key === 'ArrowLeft') onStep(-1);
        else if (event.key === 'ArrowRight') onStep(1);
      }}
    >
      <div class="photo-viewer-head">
        <button type="button" class="btn btn-small" aria-label={t('photos.prev')} onClick={() => onStep(-1)}>
          <Icon name="back" />
        </button>
        <strong class="photo-viewer-time">{time}</strong>
        <button type="button" class="btn btn-small" aria-label={t('photos.next')} onClick={() => onStep(1)}>
          <Icon name="forward" />
        </button>
        <button
          type="button"
          class="btn btn-small btn-quiet"
          aria-label={t('common.close')}
          onClick={onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      {photo.state === 'completed' ? (
        <img
          class="photo-large"
          src={urls.photo(photo.id, 'preview')}
          alt={t('photos.alt', { seq: photo.seq + 1, time })}
        />
      ) : (
        <p class="photo-pending photo-large">{t(`photos.state.${photo.state}`)}</p>
      )}
      <p class="small">
        {photo.best ? <span class="badge badge-best">{t('photos.best')}</span> : null}{' '}
        {t('photos.details', {
          width: photo.width,
          height: photo.height,
          size: formatBytes(photo.bytes, locale),
        })}{' '}
        · {t('photos.woke', { reason: wakeReasonText(photo.wakeReason, t) })}
      </p>
      {photo.clockSuspect ? <Alert kind="warning">{t('photos.clockSuspect')}</Alert> : null}
      {photo.location === 'spool' ? <p class="hint">{t('photos.onSpool')}</p> : null}
      {photo.state === 'failed' && photo.error ? (
        <Alert kind="error">{t('photos.failedWith', { error: photo.error })}</Alert>
      ) : null}
      <div class="actions">
        <a class="btn btn-small" href={urls.photo(photo.id, 'original')} download>
          <Icon name="download" />
          {t('photos.download')}
        </a>
        {photo.best && photo.state === 'completed' ? (
          <a class="btn btn-small" href={urls.photo(photo.id, 'enlarged')} target="_blank" rel="noopener">
            {t('photos.enlarged')}
          </a>
        ) : null}
        {canManage ? (
          <>
            <button
              type="button"
              class="btn btn-small"
              aria-pressed={photo.favorite}
              title={t('photos.favoriteHint')}
              onClick={() =>
                attempt(async () => onChanged((await api.setFavorite(photo.id, !photo.favorite)).photo))
              }
            >
              <Icon name="star" />
              {photo.favorite ? t('photos.unfavorite') : t('photos.favorite')}
            </button>
            <ConfirmButton
              label={t('photos.delete')}
              confirmLabel={t('photos.confirmDelete')}
              onConfirm={() =>
                attempt(async () => {
                  await api.deletePhoto(photo.id);
                  onDeleted();
                })
              }
            />
          </>
        ) : null}
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
    </section>
  );
}

function PhotosView({ id, day, zone }: { id: string; day: string; zone: string }) {
  const t = useT();
  const camera = useCamera(id);
  usePageTitle(`${t('photos.title')} · ${camera.data?.name ?? id}`);
  const { start, end } = useMemo(() => dayBounds(day, zone), [day, zone]);
  const today = dayOf(Date.now(), zone);
  const list = useResource(async () => (await api.dayPhotos(id, day)).photos);
  const [openId, setOpenId] = useState<number | null>(null);

  const patch = (photoId: number, change: Partial<Photo>) =>
    list.update((photos) => photos?.map((p) => (p.id === photoId ? { ...p, ...change } : p)));
  useLive('photos', (change) => {
    switch (change.change) {
      case 'added':
        if (change.photo.cameraId !== id || change.photo.capturedAt < start || change.photo.capturedAt >= end)
          return;
        list.update((photos) =>
          photos?.some((p) => p.id === change.photo.id) ? photos : [...(photos ?? []), change.photo],
        );
        return;
      case 'updated': {
        const { id: photoId, change: _, ...rest } = change;
        patch(photoId, rest);
        return;
      }
      case 'best':
        list.update((photos) =>
          photos?.map((p) => (p.burstId === change.burstId ? { ...p, best: p.id === change.id } : p)),
        );
        return;
      case 'removed':
        list.update((photos) => photos?.filter((p) => p.id !== change.id));
        return;
    }
  });
  useLive('resync', () => void list.reload());

  const bursts = useMemo(() => groupBursts(list.data ?? []), [list.data]);
  const ordered = useMemo(() => bursts.flatMap((b) => b.photos), [bursts]);
  const openIndex = ordered.findIndex((p) => p.id === openId);
  const open = openIndex >= 0 ? ordered[openIndex] : undefined;

  let body = null;
  if (list.error && !list.data) body = <LoadError error={list.error} onRetry={list.reload} />;
  else if (!list.data) body = <Loading />;
  else if (bursts.length === 0)
    body = <p class="empty">{day === today ? t('photos.nothingYet') : t('photos.nothing')}</p>;
  else
    body = (
      <ol class="bursts" data-testid="bursts">
        {bursts.map((burst) => {
          const first = burst.photos[0]!;
          return (
            <li key={burst.id} class="card burst" data-burst={burst.id}>
              <h3 class="burst-head">
                {t('photos.burst', { time: clockText(burst.at, zone) })}
                <span class="muted small">
                  {' '}
                  · {t('photos.count', { count: burst.photos.length })} ·{' '}
                  {t('photos.woke', { reason: wakeReasonText(first.wakeReason, t) })}
                </span>
              </h3>
              <div class="burst-photos">
                {burst.photos.map((photo) => (
                  <PhotoTile key={photo.id} photo={photo} zone={zone} onOpen={() => setOpenId(photo.id)} />
                ))}
              </div>
            </li>
          );
        })}
      </ol>
    );

  return (
    <>
      <a class="link back-link" href={cameraPath(id)}>
        <Icon name="back" class="back-icon" />
        {camera.data?.name ?? id}
      </a>
      <PageHeader title={t('photos.title')} />
      {camera.data?.deviceId ? (
        <CameraDevicePanel deviceId={camera.data.deviceId} onReset={() => void camera.reload()} />
      ) : camera.data ? (
        <p class="hint">{t('cameraDevice.noDevice')}</p>
      ) : null}
      <DayNav day={day} today={today} link={(d) => `${cameraPath(id, '/photos')}?day=${d}`} />
      {open ? (
        <PhotoViewer
          photo={open}
          zone={zone}
          onClose={() => setOpenId(null)}
          onStep={(delta) => {
            const next = ordered[(openIndex + delta + ordered.length) % ordered.length];
            if (next) setOpenId(next.id);
          }}
          onChanged={(photo) => patch(photo.id, photo)}
          onDeleted={() => {
            const next = ordered[openIndex + 1] ?? ordered[openIndex - 1];
            list.update((photos) => photos?.filter((p) => p.id !== open.id));
            setOpenId(next && next.id !== open.id ? next.id : null);
          }}
        />
      ) : null}
      {body}
    </>
  );
}
