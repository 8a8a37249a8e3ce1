import { useLocation, useRoute } from 'preact-iso';
import { useCamera, useCanManage } from '../cameras';
import { CameraForm, CameraRemoval } from '../components/camera-form';
import { DetectionSettings } from '../components/detection-settings';
import { Icon } from '../components/icons';
import { Alert, LoadError, Loading, PageHeader } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { cameraPath } from './camera';

export function CameraSettingsPage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  return <CameraSettings key={id} id={id} />;
}

function CameraSettings({ id }: { id: string }) {
  const t = useT();
  const { route } = useLocation();
  const camera = useCamera(id);
  const canManage = useCanManage();
  usePageTitle(t('cameraForm.settingsTitle'));

  const back = (
    <a class="link back-link" href={cameraPath(id)}>
      <Icon name="back" class="back-icon" />
      {camera.data?.name ?? t('nav.cameras')}
    </a>
  );
  if (camera.error && !camera.data)
    return (
      <>
        {back}
        <LoadError error={camera.error} onRetry={camera.reload} />
      </>
    );
  if (!camera.data) return <Loading />;
  const c = camera.data;
  return (
    <>
      {back}
      <PageHeader title={t('cameraForm.settingsTitle')} />
      {!canManage ? (
        <Alert kind="info">{t('cameraForm.readOnly')}</Alert>
      ) : (
        <CameraForm
          key={c.updatedAt}
          camera={c}
          onCancel={() => route(cameraPath(id))}
          onSaved={(saved) => {
            camera.update(() => saved);
            route(cameraPath(id));
          }}
        />
      )}
      {/* Battery cameras send photos, not a stream the detector could sample. */}
      {c.powerProfile === 'battery' ? null : <DetectionSettings key={c.id} camera={c} />}
      {canManage ? (
        <section class="card danger-zone">
          <h2>{t('camera.deleteTitle')}</h2>
          <p class="muted small">{t('camera.deleteHint')}</p>
          <CameraRemoval
            camera={c}
            onChanged={(next) => camera.update(() => next)}
            onRemoved={() => route('/cameras', true)}
          />
        </section>
      ) : null}
    </>
  );
}
