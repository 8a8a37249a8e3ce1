import { useState } from 'preact/hooks';
import { type Adoption, type AdoptionState, api, type ScannedCamera } from '../api';
import { Icon } from '../components/icons';
import {
  Alert,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { usePageTitle } from '../hooks';
import { type MessageKey, useT } from '../i18n';
import { useLive } from '../live';
import { cameraPath } from './camera';

/** The steps as the household sees them, in order; the button step shows only when the camera asks. */
const STEPS: AdoptionState[] = [
  'connecting',
  'waiting_for_button',
  'provisioning',
  'enrolling',
  'waiting_for_contact',
];

function WifiCard({ onReady }: { onReady: (ssid: string) => void }) {
  const t = useT();
  const wifi = useResource(() => api.bleWifi());
  const [editing, setEditing] = useState(false);
  const { busy, errors, run } = useSubmit(['ssid', 'password']);
  if (wifi.error && !wifi.data) return <LoadError error={wifi.error} onRetry={wifi.reload} />;
  if (!wifi.data) return <Loading />;
  const { ssid, passwordSet } = wifi.data;
  if (passwordSet && ssid && !editing)
    return (
      <section class="card" data-testid="wifi">
        <h2>{t('addCamera.wifi')}</h2>
        <p>{t('addCamera.wifiSet', { ssid })}</p>
        <div class="actions">
          <button type="button" class="btn btn-small" onClick={() => setEditing(true)}>
            {t('addCamera.wifiChange')}
          </button>
          <button type="button" class="btn btn-primary" onClick={() => onReady(ssid)}>
            {t('addCamera.next')}
          </button>
        </div>
      </section>
    );
  return (
    <form
      class="card form"
      data-testid="wifi"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const body = { ssid: String(form.get('ssid') ?? ''), password: String(form.get('password') ?? '') };
        await run(async () => {
          const saved = await api.saveBleWifi(body);
          wifi.update(() => saved);
          setEditing(false);
          onReady(body.ssid);
        });
      }}
    >
      <h2>{t('addCamera.wifi')}</h2>
      <p class="hint">{t('addCamera.wifiHint')}</p>
      <TextField
        label={t('addCamera.ssid')}
        name="ssid"
        defaultValue={ssid ?? ''}
        required
        error={errors.fields.ssid}
      />
      <TextField
        label={t('addCamera.password')}
        name="password"
        type="password"
        autoComplete="off"
        error={errors.fields.password}
        hint={t('addCamera.passwordHint')}
      />
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('common.save')}
        </button>
      </div>
    </form>
  );
}

function signalText(rssi: number | null, t: ReturnType<typeof useT>): string {
  if (rssi === null) return '';
  const level = rssi >= -60 ? 'strong' : rssi >= -75 ? 'fair' : 'weak';
  return t(`addCamera.signal.${level}` as MessageKey, { rssi });
}

function ScanCard({ onChosen }: { onChosen: (camera: ScannedCamera, name: string) => Promise<void> }) {
  const t = useT();
  const [cameras, setCameras] = useState<ScannedCamera[] | null>(null);
  const [scanning, setScanning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<ScannedCamera | null>(null);
  const { busy, errors, run } = useSubmit(['name', 'address', 'cameraId']);

  const scan = async () => {
    setScanning(true);
    setError(null);
    try {
      setCameras((await api.bleScan(4)).cameras);
    } catch (e) {
      setError(errorMessage(e, t));
    } finally {
      setScanning(false);
    }
  };

  return (
    <section class="card" data-testid="scan">
      <h2>{t('addCamera.find')}</h2>
      <p class="hint">{t('addCamera.findHint')}</p>
      <div class="actions">
        <button type="button" class="btn btn-primary" disabled={scanning} onClick={scan}>
          {scanning ? t('addCamera.scanning') : cameras ? t('addCamera.scanAgain') : t('addCamera.scan')}
        </button>
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {cameras && cameras.length === 0 ? <p class="empty">{t('addCamera.noneFound')}</p> : null}
      {cameras && cameras.length > 0 ? (
        <ul class="plain-list scan-list">
          {cameras.map((camera) => (
            <li key={camera.address}>
              <label class="scan-choice">
                <input
                  type="radio"
                  name="camera"
                  value={camera.address}
                  checked={chosen?.address === camera.address}
                  onChange={() => setChosen(camera)}
                />
                <span>
                  <strong>{camera.name}</strong> <span class="muted small">{camera.address}</span>
                  <br />
                  <span class="small">
                    {signalText(camera.rssi, t)}
                    {camera.improv === 'authorization_required' ? ` · ${t('addCamera.needsButton')}` : ''}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      ) : null}
      {chosen ? (
        <form
          class="form"
          onSubmit={async (event) => {
            event.preventDefault();
            const name = String(new FormData(event.currentTarget).get('name') ?? '').trim();
            await run(() => onChosen(chosen, name));
          }}
        >
          <TextField
            label={t('addCamera.name')}
            name="name"
            required
            defaultValue=""
            placeholder={t('addCamera.namePlaceholder')}
            error={errors.fields.name ?? errors.fields.cameraId}
          />
          <FormError message={errors.form} />
          <div class="actions">
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {busy ? t('common.working') : t('addCamera.add')}
            </button>
          </div>
        </form>
      ) : null}
    </section>
  );
}

function Progress({ adoption, onRetry }: { adoption: Adoption; onRetry: () => void }) {
  const t = useT();
  const failed = adoption.state === 'failed';
  const reached = STEPS.indexOf(adoption.state);
  const visible = STEPS.filter(
    (step) => step !== 'waiting_for_button' || adoption.state === step || reached > 1,
  );
  return (
    <section class="card" data-testid="adoption" data-state={adoption.state}>
      <h2>{t('addCamera.adding', { name: adoption.name })}</h2>
      <ol class="steps">
        {visible.map((step) => {
          const index = STEPS.indexOf(step);
          const status =
            adoption.state === 'adopted' || (reached >= 0 && index < reached)
              ? 'done'
              : index === reached
                ? 'current'
                : 'todo';
          return (
            <li
              key={step}
              class={`step step-${status}`}
              aria-current={status === 'current' ? 'step' : undefined}
            >
              {t(`addCamera.step.${step}` as MessageKey)}
            </li>
          );
        })}
      </ol>
      {adoption.state === 'waiting_for_button' ? (
        <Alert kind="info">{t('addCamera.pressButton')}</Alert>
      ) : null}
      {adoption.state === 'adopted' ? (
        <>
          <Alert kind="success">{t('addCamera.done', { name: adoption.name })}</Alert>
          <div class="actions">
            <a class="btn btn-primary" href={cameraPath(adoption.cameraId, '/photos')}>
              <Icon name="photo" />
              {t('addCamera.open')}
            </a>
          </div>
        </>
      ) : null}
      {failed ? (
        <>
          <Alert kind="error">{adoption.error ?? t('addCamera.failed')}</Alert>
          <div class="actions">
            <button type="button" class="btn btn-primary" onClick={onRetry}>
              {t('common.retry')}
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}

/** "Add camera" over Bluetooth: household Wi-Fi once, find the camera, name it, watch it join. */
export function AddCameraPage() {
  const t = useT();
  usePageTitle(t('addCamera.title'));
  const ble = useResource(() => api.bleStatus());
  const [ssid, setSsid] = useState<string | null>(null);
  const [adoption, setAdoption] = useState<Adoption | null>(null);
  useLive('ble', (change) => {
    if (adoption && change.adoption.id === adoption.id) setAdoption(change.adoption);
  });
  useLive('resync', () => {
    if (adoption) void api.adoption(adoption.id).then(({ adoption: next }) => setAdoption(next));
  });

  let body = null;
  if (ble.error && !ble.data) body = <LoadError error={ble.error} onRetry={ble.reload} />;
  else if (!ble.data) body = <Loading />;
  else if (ble.data.status.state === 'unavailable')
    body = (
      <Alert kind="warning">
        {t('addCamera.unavailable', { reason: ble.data.status.reason })}{' '}
        <a class="link" href="/cameras">
          {t('addCamera.manual')}
        </a>
      </Alert>
    );
  else if (adoption) body = <Progress adoption={adoption} onRetry={() => setAdoption(null)} />;
  else if (!ssid) body = <WifiCard onReady={setSsid} />;
  else
    body = (
      <ScanCard
        onChosen={async (camera, name) => {
          setAdoption((await api.adoptCamera({ address: camera.address, name })).adoption);
        }}
      />
    );

  return (
    <>
      <a class="link back-link" href="/cameras">
        <Icon name="back" class="back-icon" />
        {t('nav.cameras')}
      </a>
      <PageHeader title={t('addCamera.title')} />
      {body}
    </>
  );
}
