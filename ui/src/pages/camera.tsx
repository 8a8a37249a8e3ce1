import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { ApiError, api, type Camera } from '../api';
import { useCamera, useCanManage } from '../cameras';
import { CameraStatusBadge, LiveView, StorageBanner } from '../components/camera';
import { CameraRemoval } from '../components/camera-form';
import { Icon } from '../components/icons';
import { Alert, errorMessage, LoadError, Loading, PageHeader } from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { useT } from '../i18n';

export const cameraPath = (id: string, rest = '') => `/cameras/${encodeURIComponent(id)}${rest}`;

function EnableToggle({ camera, onChanged }: { camera: Camera; onChanged: (camera: Camera) => void }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        class="btn btn-small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            onChanged((await api.updateCamera(camera.id, { enabled: !camera.enabled })).camera);
          } catch (e) {
            setError(errorMessage(e, t));
          } finally {
            setBusy(false);
          }
        }}
      >
        {camera.enabled ? t('camera.disable') : t('camera.enable')}
      </button>
      {error ? <Alert kind="error">{error}</Alert> : null}
    </>
  );
}

function CameraDetails({ camera }: { camera: Camera }) {
  const t = useT();
  const formatTime = useFormatTime();
  const recorder = camera.recorder;
  return (
    <dl class="facts">
      <div>
        <dt>{t('cameraForm.kind')}</dt>
        <dd>{t(`cameraKind.${camera.kind}`)}</dd>
      </div>
      <div>
        <dt>{t('camera.recording')}</dt>
        <dd>
          {camera.record && camera.enabled
            ? t('camera.recordingEvery', { seconds: camera.segmentSeconds })
            : t('camera.notRecording')}
        </dd>
      </div>
      {recorder && recorder.state !== 'disabled' ? (
        <div>
          <dt>{t('camera.since')}</dt>
          <dd>{formatTime(recorder.since)}</dd>
        </div>
      ) : null}
      {recorder?.restarts ? (
        <div>
          <dt>{t('camera.restarts')}</dt>
          <dd>{recorder.restarts}</dd>
        </div>
      ) : null}
      {recorder?.lastError && (recorder.state === 'failed' || recorder.state === 'reconnecting') ? (
        <div class="facts-wide">
          <dt>{t('camera.lastError')}</dt>
          <dd>
            <code>{recorder.lastError}</code>
          </dd>
        </div>
      ) : null}
    </dl>
  );
}

export function CameraPage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  return <CameraView key={id} id={id} />;
}

function CameraView({ id }: { id: string }) {
  const t = useT();
  const { route } = useLocation();
  const camera = useCamera(id);
  const canManage = useCanManage();
  usePageTitle(camera.data?.name ?? t('nav.cameras'));

  if (camera.error && (!camera.data || (camera.error instanceof ApiError && camera.error.status === 404)))
    return (
      <>
        <PageHeader title={t('nav.cameras')} />
        <LoadError error={camera.error} onRetry={camera.reload} />
        <a class="link" href="/cameras">
          {t('camera.backToAll')}
        </a>
      </>
    );
  if (!camera.data) return <Loading />;
  const c = camera.data;
  const set = (next: Camera) => camera.update(() => next);

  return (
    <>
      <a class="link back-link" href="/cameras">
        <Icon name="back" class="back-icon" />
        {t('nav.cameras')}
      </a>
      <PageHeader title={c.name}>
        <CameraStatusBadge camera={c} />
      </PageHeader>
      <StorageBanner />
      <LiveView camera={c} />
      <div class="actions">
        {c.powerProfile === 'battery' ? null : (
          <a class="btn btn-primary" href={cameraPath(c.id, '/playback')}>
            <Icon name="history" />
            {t('camera.openPlayback')}
          </a>
        )}
        {c.deviceId !== null && c.kind === 'esp32' ? (
          <a
            class={c.powerProfile === 'battery' ? 'btn btn-primary' : 'btn'}
            href={cameraPath(c.id, '/photos')}
          >
            <Icon name="photo" />
            {t('photos.open')}
          </a>
        ) : null}
        {canManage ? (
          <>
            <a class="btn btn-small" href={cameraPath(c.id, '/settings')}>
              <Icon name="edit" />
              {t('camera.edit')}
            </a>
            <EnableToggle camera={c} onChanged={set} />
            <CameraRemoval camera={c} onChanged={set} onRemoved={() => route('/cameras', true)} />
          </>
        ) : c.powerProfile === 'battery' ? null : (
          // A viewer reads the camera's detection settings there; a battery camera has none to show.
          <a class="btn btn-small" href={cameraPath(c.id, '/settings')}>
            <Icon name="settings" />
            {t('cameraForm.settingsTitle')}
          </a>
        )}
      </div>
      <section class="card">
        <CameraDetails camera={c} />
      </section>
    </>
  );
}
