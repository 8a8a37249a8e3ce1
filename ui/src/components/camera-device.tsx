import { useState } from 'preact/hooks';
import {
  api,
  type CameraDeviceState,
  type CameraSettings,
  FRAME_SIZES,
  type FrameSize,
  type RolloutState,
  type WakeReason,
} from '../api';
import { useCanManage, useIsOwner } from '../cameras';
import { useFormatTime } from '../hooks';
import { type MessageKey, type Translate, useLocale, useT } from '../i18n';
import { useLive } from '../live';
import {
  Alert,
  CheckboxField,
  ConfirmButton,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  SelectField,
  TextField,
  useResource,
  useSubmit,
} from './ui';

/** What the firmware uses until the hub sends something else (docs/protocols.md, "Compact encoding"). */
const FIRMWARE_DEFAULTS: Required<CameraSettings> = {
  frameSize: 'VGA',
  jpegQuality: 12,
  wakeIntervalSeconds: 300,
  pirEnabled: true,
  burstLength: 3,
};
const LIMITS = {
  jpegQuality: [10, 63],
  wakeIntervalSeconds: [10, 86_400],
  burstLength: [1, 10],
} as const;

export const rolloutStateText = (state: RolloutState, t: Translate) =>
  t(`firmware.state.${state}` as MessageKey);

export const wakeReasonText = (reason: WakeReason, t: Translate) => t(`photos.wake.${reason}` as MessageKey);

function StatusFacts({ state }: { state: CameraDeviceState }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  const { status } = state;
  const unknown = <span class="muted">{t('cameraDevice.unknown')}</span>;
  return (
    <dl class="pairs" data-testid="camera-device-status">
      <dt>{t('cameraDevice.battery')}</dt>
      <dd>
        {status.batteryMv === null
          ? unknown
          : t('cameraDevice.volts', {
              volts: (status.batteryMv / 1000).toLocaleString(locale, {
                minimumFractionDigits: 2,
                maximumFractionDigits: 2,
              }),
            })}
      </dd>
      <dt>{t('cameraDevice.signal')}</dt>
      <dd>{status.rssi === null ? unknown : t('cameraDevice.dbm', { rssi: status.rssi })}</dd>
      <dt>{t('cameraDevice.lastWake')}</dt>
      <dd>
        {status.lastWakeAt === null || status.lastWakeReason === null
          ? unknown
          : t('cameraDevice.wokeAt', {
              time: formatTime(status.lastWakeAt),
              reason: wakeReasonText(status.lastWakeReason, t),
            })}
      </dd>
      <dt>{t('cameraDevice.firmware')}</dt>
      <dd>
        {status.firmware ?? unknown}
        <FirmwareUpdate deviceId={state.deviceId} />
      </dd>
      {status.bluetooth ? (
        <>
          <dt>{t('cameraDevice.bluetooth')}</dt>
          <dd data-testid="ble-presence">
            {status.bleSeenAt === null
              ? t('cameraDevice.bleNever')
              : t('cameraDevice.bleSeen', { time: formatTime(status.bleSeenAt) })}
          </dd>
        </>
      ) : null}
    </dl>
  );
}

/** The camera's newest firmware rollout, live: "Update 1.4.0: downloading". */
function FirmwareUpdate({ deviceId }: { deviceId: number }) {
  const t = useT();
  const update = useResource(async () => (await api.deviceFirmware(deviceId)).update);
  useLive('firmware', (change) => {
    if (change.change !== 'rollout' || change.deviceId === deviceId) void update.reload();
  });
  const current = update.data;
  if (!current) return null;
  return (
    <span class="muted" data-testid="firmware-update">
      {' · '}
      {t('cameraDevice.update', { version: current.version, state: rolloutStateText(current.state, t) })}
      {current.detail ? ` (${current.detail})` : ''}
    </span>
  );
}

function PendingCommands({
  state,
  onQueued,
}: {
  state: CameraDeviceState;
  onQueued: (next: CameraDeviceState) => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const canManage = useCanManage();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <h3>{t('cameraDevice.pending')}</h3>
      {state.pendingCommands.length === 0 ? (
        <p class="muted" data-testid="pending-commands">
          {t('cameraDevice.noPending')}
        </p>
      ) : (
        <ul class="plain-list" data-testid="pending-commands">
          {state.pendingCommands.map((command) => (
            <li key={command.id}>
              {t(`cameraDevice.command.${command.kind}` as MessageKey)} · {formatTime(command.createdAt)}
              {command.firstSentAt ? <span class="muted"> · {t('cameraDevice.sent')}</span> : null}
            </li>
          ))}
        </ul>
      )}
      {state.recentCommands.length ? (
        <>
          <h3>{t('cameraDevice.recent')}</h3>
          <ul class="plain-list" data-testid="recent-commands">
            {state.recentCommands.map((command) => (
              <li key={command.id}>
                {t(`cameraDevice.command.${command.kind}` as MessageKey)} ·{' '}
                {formatTime(command.ackedAt ?? command.createdAt)}
                {command.deliveredVia ? (
                  <span class="muted"> · {t(`cameraDevice.via.${command.deliveredVia}` as MessageKey)}</span>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {canManage ? (
        <div class="actions">
          <button
            type="button"
            class="btn btn-small"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await api.queueCommand(state.deviceId, 'capture_now');
                onQueued(await api.cameraDevice(state.deviceId));
              } catch (e) {
                setError(errorMessage(e, t));
              } finally {
                setBusy(false);
              }
            }}
          >
            {t('cameraDevice.captureNow')}
          </button>
        </div>
      ) : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
    </>
  );
}

function SettingsForm({
  state,
  onSaved,
}: {
  state: CameraDeviceState;
  onSaved: (next: CameraDeviceState) => void;
}) {
  const t = useT();
  const current = { ...FIRMWARE_DEFAULTS, ...state.settings };
  const fields = ['frameSize', 'jpegQuality', 'wakeIntervalSeconds', 'burstLength', 'pirEnabled'] as const;
  const { busy, errors, setErrors, run } = useSubmit(fields);
  const waiting = state.version > state.appliedVersion;
  return (
    <form
      class="form"
      data-testid="camera-device-settings"
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const change: CameraSettings = {
          frameSize: String(form.get('frameSize')) as FrameSize,
          pirEnabled: form.get('pirEnabled') === 'on',
        };
        const fieldErrors: Record<string, string> = {};
        for (const name of ['jpegQuality', 'wakeIntervalSeconds', 'burstLength'] as const) {
          const value = Number(String(form.get(name) ?? '').trim());
          const [min, max] = LIMITS[name];
          if (!Number.isInteger(value) || value < min || value > max)
            fieldErrors[name] = t('cameraDevice.range', { min, max });
          else change[name] = value;
        }
        if (Object.keys(fieldErrors).length) {
          setErrors({ fields: fieldErrors });
          return;
        }
        await run(async () => onSaved(await api.updateCameraDevice(state.deviceId, change)));
      }}
    >
      <SelectField label={t('cameraDevice.frameSize')} name="frameSize" error={errors.fields.frameSize}>
        {FRAME_SIZES.map((size) => (
          <option key={size} value={size} selected={size === current.frameSize}>
            {size}
          </option>
        ))}
      </SelectField>
      <TextField
        label={t('cameraDevice.jpegQuality')}
        name="jpegQuality"
        type="number"
        inputMode="numeric"
        defaultValue={String(current.jpegQuality)}
        hint={t('cameraDevice.jpegQualityHint')}
        error={errors.fields.jpegQuality}
      />
      <TextField
        label={t('cameraDevice.wakeInterval')}
        name="wakeIntervalSeconds"
        type="number"
        inputMode="numeric"
        defaultValue={String(current.wakeIntervalSeconds)}
        hint={t('cameraDevice.wakeIntervalHint')}
        error={errors.fields.wakeIntervalSeconds}
      />
      <TextField
        label={t('cameraDevice.burstLength')}
        name="burstLength"
        type="number"
        inputMode="numeric"
        defaultValue={String(current.burstLength)}
        error={errors.fields.burstLength}
      />
      <CheckboxField
        label={t('cameraDevice.pir')}
        name="pirEnabled"
        defaultChecked={current.pirEnabled}
        error={errors.fields.pirEnabled}
      />
      <FormError message={errors.form} />
      <p class="hint" role="status" data-testid="settings-sync">
        {waiting ? t('cameraDevice.waiting') : t('cameraDevice.applied')}
      </p>
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('common.save')}
        </button>
      </div>
    </form>
  );
}

/** Owner actions that need the camera next to the hub: the Wi-Fi again, or a factory reset. */
function BluetoothActions({ deviceId, onReset }: { deviceId: number; onReset: () => void }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const act = async (action: () => Promise<string>) => {
    setBusy(true);
    setMessage(null);
    try {
      setMessage({ kind: 'success', text: await action() });
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e, t) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="device-ble-actions">
      <p class="hint">{t('cameraDevice.bleActionsHint')}</p>
      <div class="actions">
        <button
          type="button"
          class="btn btn-small"
          disabled={busy}
          onClick={() =>
            act(async () => {
              await api.reprovisionWifi(deviceId);
              return t('cameraDevice.wifiSent');
            })
          }
        >
          {busy ? t('common.working') : t('cameraDevice.resendWifi')}
        </button>
        <ConfirmButton
          label={t('cameraDevice.factoryReset')}
          confirmLabel={t('cameraDevice.confirmReset')}
          disabled={busy}
          onConfirm={() =>
            act(async () => {
              await api.factoryReset(deviceId);
              onReset();
              return t('cameraDevice.resetDone');
            })
          }
        />
      </div>
      {message ? <Alert kind={message.kind}>{message.text}</Alert> : null}
    </div>
  );
}

/**
 * A battery camera's own state: what it reported on its last wake, the commands and settings that
 * wait for its next one, and (for members) "capture now" and its settings.
 */
export function CameraDevicePanel({ deviceId, onReset }: { deviceId: number; onReset?: () => void }) {
  const t = useT();
  const canManage = useCanManage();
  const isOwner = useIsOwner();
  const state = useResource(() => api.cameraDevice(deviceId));
  useLive('devices', (change) => {
    if ('id' in change && change.id === deviceId) void state.reload();
  });
  useLive('resync', () => void state.reload());
  const set = (next: CameraDeviceState) => state.update(() => next);

  let body = null;
  if (state.error && !state.data) body = <LoadError error={state.error} onRetry={state.reload} />;
  else if (!state.data) body = <Loading />;
  else
    body = (
      <>
        <StatusFacts state={state.data} />
        <PendingCommands state={state.data} onQueued={set} />
        {isOwner && state.data.status.bluetooth ? (
          <BluetoothActions deviceId={deviceId} onReset={() => onReset?.()} />
        ) : null}
        {canManage ? (
          <details class="device-settings">
            <summary>{t('cameraDevice.settings')}</summary>
            <SettingsForm key={state.data.version} state={state.data} onSaved={set} />
          </details>
        ) : null}
      </>
    );
  return (
    <section class="card" aria-labelledby="camera-device-title" data-testid="camera-device">
      <h2 id="camera-device-title">{t('cameraDevice.title')}</h2>
      {body}
    </section>
  );
}
