import { useState } from 'preact/hooks';
import { api, type Device, type DeviceKind } from '../api';
import { useIsOwner } from '../cameras';
import { Icon } from '../components/icons';
import {
  Alert,
  ConfirmButton,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  SecretReveal,
  SelectField,
  StatusBadge,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';

const KINDS: DeviceKind[] = ['camera', 'node'];
const text = (form: FormData, name: string) => String(form.get(name) ?? '');

function AddDeviceForm({
  onAdded,
  onCancel,
}: {
  onAdded: (device: Device, token: string) => void;
  onCancel: () => void;
}) {
  const t = useT();
  const { busy, errors, setErrors, run } = useSubmit(['name', 'kind', 'hardwareId']);
  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const hardwareId = text(form, 'hardwareId').trim();
        const body = {
          name: text(form, 'name').trim(),
          kind: text(form, 'kind') as DeviceKind,
          ...(hardwareId ? { hardwareId } : {}),
        };
        if (!body.name) return setErrors({ fields: { name: t('form.required') } });
        await run(async () => {
          const { device, token } = await api.createDevice(body);
          onAdded(device, token);
        });
      }}
    >
      <h2>{t('devices.add')}</h2>
      <div class="form-grid">
        <TextField label={t('devices.name')} name="name" autocomplete="off" error={errors.fields.name} />
        <SelectField label={t('devices.kind')} name="kind" error={errors.fields.kind}>
          {KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {t(`kind.${kind}`)}
            </option>
          ))}
        </SelectField>
        <TextField
          label={t('devices.hardwareId')}
          hint={t('devices.hardwareIdHint')}
          name="hardwareId"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          error={errors.fields.hardwareId}
        />
      </div>
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('devices.addSubmit')}
        </button>
        <button type="button" class="btn btn-quiet" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function TokenPanel({ device }: { device: Device }) {
  const t = useT();
  const formatTime = useFormatTime();
  const tokens = useResource(async () => (await api.listTokens(device.id)).tokens);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  return (
    <div class="subform">
      <div class="section-head">
        <h3>{t('tokens.title')}</h3>
        <button
          type="button"
          class="btn btn-small"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              const { token, info } = await api.createToken(device.id);
              setSecret(token);
              tokens.update((list) => [...(list ?? []), info]);
            } catch (e) {
              setError(errorMessage(e, t));
            } finally {
              setBusy(false);
            }
          }}
        >
          <Icon name="key" />
          {t('tokens.create')}
        </button>
      </div>
      {secret ? (
        <SecretReveal
          title={t('tokens.newFor', { name: device.name })}
          secret={secret}
          onDone={() => setSecret(null)}
        />
      ) : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
      {tokens.error && !tokens.data ? (
        <LoadError error={tokens.error} onRetry={tokens.reload} />
      ) : !tokens.data ? (
        <Loading />
      ) : tokens.data.length === 0 ? (
        <p class="muted small">{t('tokens.none')}</p>
      ) : (
        <ul class="tokens">
          {tokens.data.map((token) => (
            <li key={token.id} class={token.revokedAt ? 'token revoked' : 'token'}>
              <code>{token.prefix}…</code>
              <span class="token-meta">
                <span>{t('tokens.created', { date: formatTime(token.createdAt) })}</span>
                <span>
                  {token.lastUsedAt
                    ? t('tokens.lastUsed', { date: formatTime(token.lastUsedAt) })
                    : t('tokens.neverUsed')}
                </span>
                {token.revokedAt ? (
                  <span class="badge sev-error">
                    {t('tokens.revoked', { date: formatTime(token.revokedAt) })}
                  </span>
                ) : null}
              </span>
              {token.revokedAt ? null : (
                <ConfirmButton
                  label={t('tokens.revoke')}
                  confirmLabel={t('tokens.confirmRevoke')}
                  onConfirm={async () => {
                    try {
                      const { token: info } = await api.revokeToken(device.id, token.id);
                      tokens.update((list) => list?.map((x) => (x.id === info.id ? info : x)));
                    } catch (e) {
                      setError(errorMessage(e, t));
                    }
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function DeviceRow({
  device,
  isOwner,
  onRemoved,
}: {
  device: Device;
  isOwner: boolean;
  onRemoved: () => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const [showTokens, setShowTokens] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <li class="row">
      <div class="row-main">
        <div class="row-title">
          <strong>{device.name}</strong>
          <StatusBadge status={device.status} />
        </div>
        <p class="row-meta">
          <span>{t(`kind.${device.kind}`)}</span>
          <span>
            {device.lastSeenAt
              ? t('devices.lastSeen', { date: formatTime(device.lastSeenAt) })
              : t('devices.neverSeen')}
          </span>
          {device.hardwareId ? <code>{device.hardwareId}</code> : null}
        </p>
      </div>
      {isOwner ? (
        <div class="row-actions">
          <button
            type="button"
            class="btn btn-small"
            aria-expanded={showTokens}
            onClick={() => setShowTokens((v) => !v)}
          >
            <Icon name="key" />
            {t('tokens.title')}
          </button>
          <ConfirmButton
            label={t('common.remove')}
            confirmLabel={t('devices.confirmRemove')}
            onConfirm={async () => {
              try {
                await api.deleteDevice(device.id);
                onRemoved();
              } catch (e) {
                setError(errorMessage(e, t));
              }
            }}
          />
        </div>
      ) : null}
      {showTokens ? <TokenPanel device={device} /> : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
    </li>
  );
}

export function DevicesPage() {
  const t = useT();
  usePageTitle(t('nav.devices'));
  const isOwner = useIsOwner();
  const devices = useResource(async () => (await api.listDevices()).devices);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<{ device: Device; token: string } | null>(null);

  useLive('devices', () => void devices.reload());
  useLive('resync', () => void devices.reload());

  return (
    <>
      <PageHeader title={t('nav.devices')}>
        {isOwner ? (
          <a class="btn" href="/firmware">
            <Icon name="shield" />
            {t('firmware.title')}
          </a>
        ) : null}
        {isOwner && !adding && !created ? (
          <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
            <Icon name="plus" />
            {t('devices.add')}
          </button>
        ) : null}
      </PageHeader>
      {created ? (
        <div class="card">
          <SecretReveal
            title={t('devices.added', { name: created.device.name })}
            secret={created.token}
            onDone={() => setCreated(null)}
          />
        </div>
      ) : adding ? (
        <AddDeviceForm
          onCancel={() => setAdding(false)}
          onAdded={(device, token) => {
            setAdding(false);
            setCreated({ device, token });
            devices.update((list) =>
              list?.some((d) => d.id === device.id) ? list : [...(list ?? []), device],
            );
          }}
        />
      ) : null}
      {devices.error && !devices.data ? (
        <LoadError error={devices.error} onRetry={devices.reload} />
      ) : !devices.data ? (
        <Loading />
      ) : devices.data.length === 0 ? (
        <p class="empty">{isOwner ? t('devices.emptyOwner') : t('devices.empty')}</p>
      ) : (
        <ul class="card card-flush rows">
          {devices.data.map((device) => (
            <DeviceRow
              key={device.id}
              device={device}
              isOwner={isOwner}
              onRemoved={() => devices.update((list) => list?.filter((d) => d.id !== device.id))}
            />
          ))}
        </ul>
      )}
    </>
  );
}
