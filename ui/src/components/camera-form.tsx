import { useState } from 'preact/hooks';
import {
  ApiError,
  api,
  type Camera,
  type CameraInput,
  type CameraKind,
  type CameraPriority,
  type PowerProfile,
} from '../api';
import { type Translate, useT } from '../i18n';
import {
  Alert,
  CheckboxField,
  ConfirmButton,
  errorMessage,
  FormError,
  SelectField,
  TextField,
  useResource,
  useSubmit,
} from './ui';

/** Add or change a camera (members and owners). The id is chosen once: it names the NAS folder. */

const KINDS: CameraKind[] = ['demo', 'rtsp', 'mjpeg', 'esp32', 'node'];
const URL_SCHEMES: Partial<Record<CameraKind, string[]>> = {
  rtsp: ['rtsp:', 'rtsps:'],
  mjpeg: ['http:', 'https:'],
  esp32: ['http:', 'https:'],
};
const NEEDS_DEVICE: CameraKind[] = ['esp32', 'node'];
const ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const FIELDS = [
  'id',
  'name',
  'kind',
  'sourceUrl',
  'deviceId',
  'powerProfile',
  'record',
  'segmentSeconds',
  'enabled',
  'priority',
];

const text = (form: FormData, name: string) => String(form.get(name) ?? '').trim();

/** A suggested id from a Latin-letter name ("Front door" → front-door); empty for other scripts. */
export function slugOf(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
}

function checkInput(body: CameraInput & { id?: string }, t: Translate): Record<string, string> {
  const errors: Record<string, string> = {};
  if (body.id !== undefined && !ID_RE.test(body.id)) errors.id = t('cameraForm.idInvalid');
  if (!body.name) errors.name = t('form.required');
  const schemes = URL_SCHEMES[body.kind];
  // A battery ESP32-CAM only uploads photos; the hub needs no address for it.
  const streamless = body.kind === 'esp32' && body.powerProfile === 'battery' && !body.sourceUrl;
  if (schemes && !streamless) {
    if (!body.sourceUrl) errors.sourceUrl = t('form.required');
    else {
      let protocol = '';
      try {
        protocol = new URL(body.sourceUrl).protocol;
      } catch {
        errors.sourceUrl = t('cameraForm.urlInvalid');
      }
      if (protocol && !schemes.includes(protocol))
        errors.sourceUrl = t('cameraForm.urlScheme', { schemes: schemes.map((s) => `${s}//`).join(', ') });
    }
  }
  if (NEEDS_DEVICE.includes(body.kind) && body.deviceId === null)
    errors.deviceId = t('cameraForm.deviceNeeded');
  if (!Number.isInteger(body.segmentSeconds) || body.segmentSeconds < 10 || body.segmentSeconds > 300)
    errors.segmentSeconds = t('cameraForm.segmentRange');
  if (body.powerProfile === 'battery' && body.record) errors.record = t('cameraForm.batteryNoRecord');
  return errors;
}

export function CameraForm({
  camera,
  onSaved,
  onCancel,
}: {
  /** Absent: a new camera. */
  camera?: Camera;
  onSaved: (camera: Camera) => void;
  onCancel: () => void;
}) {
  const t = useT();
  const devices = useResource(async () => (await api.listDevices()).devices);
  const [kind, setKind] = useState<CameraKind>(camera?.kind ?? 'rtsp');
  const [power, setPower] = useState<PowerProfile>(camera?.powerProfile ?? 'mains');
  const [id, setId] = useState('');
  const [idTouched, setIdTouched] = useState(false);
  const { busy, errors, setErrors, run } = useSubmit(FIELDS);
  const schemes = URL_SCHEMES[kind];

  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const deviceText = text(form, 'deviceId');
        const body: CameraInput = {
          name: text(form, 'name'),
          kind,
          sourceUrl: schemes ? text(form, 'sourceUrl') || null : null,
          deviceId: deviceText ? Number(deviceText) : null,
          powerProfile: power,
          record: power === 'battery' ? false : form.get('record') === 'on',
          segmentSeconds: Number(text(form, 'segmentSeconds')),
          enabled: form.get('enabled') === 'on',
          priority: text(form, 'priority') as CameraPriority,
        };
        const newId = camera ? undefined : text(form, 'id');
        const problems = checkInput(newId === undefined ? body : { ...body, id: newId }, t);
        if (Object.keys(problems).length) return setErrors({ fields: problems });
        await run(async () => {
          try {
            const saved = camera
              ? await api.updateCamera(camera.id, body)
              : await api.createCamera({ ...body, id: newId ?? '' });
            onSaved(saved.camera);
          } catch (error) {
            if (!camera && error instanceof ApiError && error.code === 'conflict')
              throw new ApiError(400, 'invalid_input', t('cameraForm.idTaken'), {
                issues: [{ path: ['id'], message: t('cameraForm.idTaken') }],
              });
            throw error;
          }
        });
      }}
    >
      <h2>{camera ? t('cameraForm.editTitle', { name: camera.name }) : t('cameraForm.addTitle')}</h2>
      <div class="form-grid">
        <TextField
          label={t('cameraForm.name')}
          name="name"
          defaultValue={camera?.name ?? ''}
          maxLength={64}
          autocomplete="off"
          error={errors.fields.name}
          onInput={(e) => {
            if (!camera && !idTouched) setId(slugOf(e.currentTarget.value));
          }}
        />
        {camera ? (
          <TextField label={t('cameraForm.id')} value={camera.id} readOnly hint={t('cameraForm.idFixed')} />
        ) : (
          <TextField
            label={t('cameraForm.id')}
            name="id"
            value={id}
            maxLength={32}
            autocomplete="off"
            autocapitalize="off"
            spellcheck={false}
            hint={t('cameraForm.idHint')}
            error={errors.fields.id}
            onInput={(e) => {
              setIdTouched(true);
              setId(e.currentTarget.value);
            }}
          />
        )}
        <SelectField
          label={t('cameraForm.kind')}
          name="kind"
          value={kind}
          error={errors.fields.kind}
          disabled={!!camera}
          hint={camera ? t('cameraForm.kindFixed') : t(`cameraForm.kindHint.${kind}`)}
          onChange={(e) => {
            const next = e.currentTarget.value as CameraKind;
            setKind(next);
            if (!camera) setPower(next === 'esp32' ? 'battery' : 'mains');
          }}
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`cameraKind.${k}`)}
            </option>
          ))}
        </SelectField>
        {schemes ? (
          <TextField
            label={t('cameraForm.sourceUrl')}
            name="sourceUrl"
            type="url"
            inputMode="url"
            defaultValue={camera?.sourceUrl ?? ''}
            placeholder={
              kind === 'rtsp'
                ? 'rtsp://user:password@192.168.1.20:554/stream1'
                : 'http://192.168.1.30:81/stream'
            }
            autocomplete="off"
            autocapitalize="off"
            spellcheck={false}
            hint={camera?.sourceUrl?.includes('***') ? t('cameraForm.urlRedacted') : t('cameraForm.urlHint')}
            error={errors.fields.sourceUrl}
          />
        ) : null}
        <SelectField
          label={t('cameraForm.device')}
          name="deviceId"
          defaultValue={camera?.deviceId ? String(camera.deviceId) : ''}
          key={`devices-${devices.data?.length ?? 0}`}
          error={errors.fields.deviceId}
          hint={NEEDS_DEVICE.includes(kind) ? t('cameraForm.deviceNeeded') : t('form.optional')}
        >
          <option value="">{t('cameraForm.noDevice')}</option>
          {(devices.data ?? []).map((device) => (
            <option key={device.id} value={String(device.id)}>
              {device.name}
            </option>
          ))}
        </SelectField>
        <SelectField
          label={t('cameraForm.power')}
          name="powerProfile"
          value={power}
          error={errors.fields.powerProfile}
          onChange={(e) => setPower(e.currentTarget.value as PowerProfile)}
        >
          <option value="mains">{t('cameraForm.power.mains')}</option>
          <option value="battery">{t('cameraForm.power.battery')}</option>
        </SelectField>
        <SelectField
          label={t('cameraForm.priority')}
          name="priority"
          defaultValue={camera?.priority ?? 'normal'}
          hint={t('cameraForm.priorityHint')}
          error={errors.fields.priority}
        >
          <option value="high">{t('cameraForm.priority.high')}</option>
          <option value="normal">{t('cameraForm.priority.normal')}</option>
          <option value="low">{t('cameraForm.priority.low')}</option>
        </SelectField>
        <TextField
          label={t('cameraForm.segmentSeconds')}
          name="segmentSeconds"
          type="number"
          inputMode="numeric"
          min={10}
          max={300}
          step={1}
          defaultValue={String(camera?.segmentSeconds ?? 60)}
          hint={t('cameraForm.segmentHint')}
          error={errors.fields.segmentSeconds}
        />
        <CheckboxField
          label={t('cameraForm.record')}
          name="record"
          defaultChecked={camera?.record ?? true}
          disabled={power === 'battery'}
          hint={power === 'battery' ? t('cameraForm.batteryNoRecord') : t('cameraForm.recordHint')}
          error={errors.fields.record}
          key={`record-${power}`}
        />
        <CheckboxField
          label={t('cameraForm.enabled')}
          name="enabled"
          defaultChecked={camera?.enabled ?? true}
          hint={t('cameraForm.enabledHint')}
          error={errors.fields.enabled}
        />
      </div>
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : camera ? t('common.save') : t('cameraForm.addSubmit')}
        </button>
        <button type="button" class="btn btn-quiet" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

/** Delete, or — when the camera has footage (409) — the offer to disable it instead. */
export function CameraRemoval({
  camera,
  onRemoved,
  onChanged,
}: {
  camera: Camera;
  onRemoved: () => void;
  onChanged: (camera: Camera) => void;
}) {
  const t = useT();
  const [hasFootage, setHasFootage] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div class="camera-removal">
      <ConfirmButton
        label={t('camera.delete')}
        confirmLabel={t('camera.confirmDelete')}
        onConfirm={async () => {
          setError(null);
          try {
            await api.deleteCamera(camera.id);
            onRemoved();
          } catch (e) {
            if (e instanceof ApiError && e.status === 409) setHasFootage(true);
            else setError(errorMessage(e, t));
          }
        }}
      />
      {hasFootage ? (
        <Alert kind="warning">
          <p>{t('camera.hasFootage')}</p>
          {camera.enabled ? (
            <button
              type="button"
              class="btn btn-small"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  onChanged((await api.updateCamera(camera.id, { enabled: false })).camera);
                  setHasFootage(false);
                } catch (e) {
                  setError(errorMessage(e, t));
                } finally {
                  setBusy(false);
                }
              }}
            >
              {t('camera.disableInstead')}
            </button>
          ) : (
            <p>{t('camera.alreadyDisabled')}</p>
          )}
        </Alert>
      ) : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
    </div>
  );
}
