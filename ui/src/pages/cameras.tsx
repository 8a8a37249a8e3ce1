import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { Camera } from '../api';
import { useCameras, useCanManage, useIsOwner } from '../cameras';
import { CameraPicture, CameraStatusBadge, StorageBanner } from '../components/camera';
import { CameraForm } from '../components/camera-form';
import { Icon } from '../components/icons';
import { LoadError, Loading, PageHeader } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';

const path = (camera: Camera, rest = '') => `/cameras/${encodeURIComponent(camera.id)}${rest}`;

/**
 * One tile per camera with a still refreshed every few seconds. Deliberately no live stream per
 * tile: a browser has six connections to the hub and the event stream already holds one.
 */
function CameraTile({ camera }: { camera: Camera }) {
  const t = useT();
  return (
    <li class="tile" data-camera={camera.id}>
      <a class="tile-picture" href={path(camera)} aria-label={t('cameras.watch', { name: camera.name })}>
        <CameraPicture camera={camera} />
        <span class="tile-status">
          <CameraStatusBadge camera={camera} />
        </span>
      </a>
      <div class="tile-foot">
        <a class="tile-name" href={path(camera)}>
          {camera.name}
        </a>
        {camera.powerProfile === 'battery' ? (
          <a class="btn btn-small btn-quiet" href={path(camera, '/photos')}>
            <Icon name="photo" />
            <span>{t('photos.open')}</span>
          </a>
        ) : (
          <a class="btn btn-small btn-quiet" href={path(camera, '/playback')}>
            <Icon name="history" />
            <span>{t('cameras.playback')}</span>
          </a>
        )}
      </div>
    </li>
  );
}

export function CamerasPage() {
  const t = useT();
  usePageTitle(t('nav.cameras'));
  const { route } = useLocation();
  const cameras = useCameras();
  const canManage = useCanManage();
  const isOwner = useIsOwner();
  const [adding, setAdding] = useState(false);

  return (
    <>
      <PageHeader title={t('nav.cameras')}>
        {isOwner && !adding ? (
          <a class="btn" href="/cameras/add-bluetooth">
            <Icon name="plus" />
            {t('cameras.addBluetooth')}
          </a>
        ) : null}
        {canManage && !adding ? (
          <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
            <Icon name="plus" />
            {t('cameras.add')}
          </button>
        ) : null}
      </PageHeader>
      <StorageBanner />
      {adding ? (
        <CameraForm
          onCancel={() => setAdding(false)}
          onSaved={(camera) => {
            setAdding(false);
            route(path(camera));
          }}
        />
      ) : null}
      {cameras.error && !cameras.data ? (
        <LoadError error={cameras.error} onRetry={cameras.reload} />
      ) : !cameras.data ? (
        <Loading />
      ) : cameras.data.length === 0 ? (
        <p class="empty">{canManage ? t('cameras.emptyManager') : t('cameras.empty')}</p>
      ) : (
        <ul class="camera-grid">
          {cameras.data.map((camera) => (
            <CameraTile key={camera.id} camera={camera} />
          ))}
        </ul>
      )}
    </>
  );
}
