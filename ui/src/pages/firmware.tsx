import { useState } from 'preact/hooks';
import { api, type FirmwareImage } from '../api';
import { useIsOwner } from '../cameras';
import { rolloutStateText } from '../components/camera-device';
import { Icon } from '../components/icons';
import {
  Alert,
  ConfirmButton,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { formatBytes } from '../format';
import { useFormatTime, usePageTitle } from '../hooks';
import { useLocale, useT } from '../i18n';
import { useLive } from '../live';

function UploadForm({ onAdded }: { onAdded: () => void }) {
  const t = useT();
  const { busy, errors, setErrors, run } = useSubmit(['image', 'version', 'notes']);
  const [added, setAdded] = useState<string | null>(null);
  return (
    <form
      class="card form"
      noValidate
      data-testid="firmware-upload"
      onSubmit={async (e) => {
        e.preventDefault();
        const formElement = e.currentTarget;
        const form = new FormData(formElement);
        const file = form.get('image');
        if (!(file instanceof File) || file.size === 0)
          return setErrors({ fields: { image: t('firmware.chooseFile') } });
        setAdded(null);
        await run(async () => {
          const { image } = await api.uploadFirmware(form);
          setAdded(image.version);
          formElement.reset();
          onAdded();
        });
      }}
    >
      <h2>{t('firmware.upload')}</h2>
      <p class="muted">{t('firmware.uploadHint')}</p>
      <div class="form-grid">
        <TextField
          label={t('firmware.file')}
          name="image"
          type="file"
          accept=".bin,application/octet-stream"
          error={errors.fields.image}
        />
        <TextField
          label={t('firmware.version')}
          hint={t('firmware.versionHint')}
          name="version"
          autocomplete="off"
          inputMode="decimal"
          error={errors.fields.version}
        />
        <TextField label={t('firmware.notes')} name="notes" autocomplete="off" error={errors.fields.notes} />
      </div>
      <FormError message={errors.form} />
      {added ? <Alert kind="success">{t('firmware.added', { version: added })}</Alert> : null}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('firmware.uploadSubmit')}
        </button>
      </div>
    </form>
  );
}

function ImageCard({ image, onWithdrawn }: { image: FirmwareImage; onWithdrawn: () => void }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  const [error, setError] = useState<string | null>(null);
  return (
    <section class="card" data-testid={`firmware-${image.version}`}>
      <div class="row-title">
        <h2>{t('firmware.versionTitle', { version: image.version })}</h2>
        <ConfirmButton
          label={t('firmware.withdraw')}
          confirmLabel={t('firmware.confirmWithdraw')}
          onConfirm={async () => {
            try {
              await api.withdrawFirmware(image.id);
              onWithdrawn();
            } catch (e) {
              setError(errorMessage(e, t));
            }
          }}
        />
      </div>
      <p class="row-meta">
        <span>{image.fileName}</span>
        <span>{formatBytes(image.size, locale)}</span>
        <span>{formatTime(image.createdAt)}</span>
        <code title={image.sha256}>SHA-256 {image.sha256.slice(0, 16)}…</code>
      </p>
      {image.notes ? <p>{image.notes}</p> : null}
      {image.rollouts.length === 0 ? (
        <p class="muted">{t('firmware.noRollouts')}</p>
      ) : (
        <table class="table" data-testid="rollouts">
          <thead>
            <tr>
              <th>{t('firmware.camera')}</th>
              <th>{t('firmware.stateTitle')}</th>
              <th>{t('firmware.from')}</th>
              <th>{t('firmware.when')}</th>
            </tr>
          </thead>
          <tbody>
            {image.rollouts.map((rollout) => (
              <tr key={rollout.deviceId}>
                <td>{rollout.deviceName}</td>
                <td>
                  <span class={`badge rollout-${rollout.state}`}>{rolloutStateText(rollout.state, t)}</span>
                  {rollout.detail ? <span class="muted"> · {rollout.detail}</span> : null}
                </td>
                <td>{rollout.fromVersion ?? '—'}</td>
                <td>{formatTime(rollout.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error ? <Alert kind="error">{error}</Alert> : null}
    </section>
  );
}

/** The owner's firmware images: upload (the hub checks and signs), where each camera is, withdraw. */
export function FirmwarePage() {
  const t = useT();
  usePageTitle(t('firmware.title'));
  const isOwner = useIsOwner();
  const firmware = useResource(() => api.firmware());
  useLive('firmware', () => void firmware.reload());
  useLive('resync', () => void firmware.reload());
  if (!isOwner) return <Alert kind="info">{t('firmware.ownerOnly')}</Alert>;
  return (
    <>
      <PageHeader title={t('firmware.title')}>
        <a class="btn" href="/devices">
          <Icon name="back" />
          {t('nav.devices')}
        </a>
      </PageHeader>
      <UploadForm onAdded={() => void firmware.reload()} />
      {firmware.error && !firmware.data ? (
        <LoadError error={firmware.error} onRetry={firmware.reload} />
      ) : !firmware.data ? (
        <Loading />
      ) : (
        <>
          <p class="muted" data-testid="signing-key">
            {t('firmware.signingKey')} <code>{firmware.data.signingKey.slice(0, 16)}…</code>
          </p>
          {firmware.data.images.length === 0 ? (
            <p class="empty">{t('firmware.empty')}</p>
          ) : (
            firmware.data.images.map((image) => (
              <ImageCard key={image.id} image={image} onWithdrawn={() => void firmware.reload()} />
            ))
          )}
        </>
      )}
    </>
  );
}
