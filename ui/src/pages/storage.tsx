import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  api,
  type CameraStorage,
  type RetentionBudget,
  type RetentionDeletion,
  type StorageStatus,
} from '../api';
import { useCameras, useIsOwner } from '../cameras';
import {
  Alert,
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
import { type MessageKey, type Translate, useLocale, useT } from '../i18n';
import { en } from '../i18n/en';
import { useLive } from '../live';

const GB = 1000 ** 3;
const DAY = 86_400_000;

const gigabytes = (bytes: number) => String(Number((bytes / GB).toFixed(2)));

function categoryName(name: string, t: Translate): string {
  const key = `storagePage.category.${name}`;
  return key in en ? t(key as MessageKey) : name;
}

function NasCard({ status }: { status: StorageStatus }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  const { nas, spool } = status;
  const reasonKey = `storage.reason.${nas.reason ?? 'unknown'}` as MessageKey;
  return (
    <section class="card" aria-labelledby="storage-nas">
      <h2 id="storage-nas">{t('storagePage.nas')}</h2>
      <dl class="pairs">
        <dt>{t('storagePage.state')}</dt>
        <dd data-testid="nas-state">
          {nas.healthy ? (
            <span class="badge status-online">{t('storagePage.healthy')}</span>
          ) : (
            <span class="badge sev-error">{t(reasonKey)}</span>
          )}
        </dd>
        {nas.totalBytes !== undefined && nas.freeBytes !== undefined ? (
          <>
            <dt>{t('storagePage.free')}</dt>
            <dd>
              {t('storagePage.freeOf', {
                free: formatBytes(nas.freeBytes, locale),
                total: formatBytes(nas.totalBytes, locale),
              })}
            </dd>
          </>
        ) : null}
        <dt>{t('storagePage.checked')}</dt>
        <dd>{formatTime(nas.checkedAt)}</dd>
        <dt>{t('storagePage.spool')}</dt>
        <dd>
          {t('storagePage.spoolUse', {
            used: formatBytes(spool.usedBytes, locale),
            quota: formatBytes(spool.quotaBytes, locale),
            count: spool.segments,
          })}
        </dd>
        {status.limits.minFreeEffectiveBytes !== null ? (
          <>
            <dt>{t('storagePage.floor')}</dt>
            <dd>{formatBytes(status.limits.minFreeEffectiveBytes, locale)}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

function forecastSentence(camera: CameraStorage, name: string, t: Translate): string {
  if (camera.forecastDays === null) return t('storagePage.noRate', { name });
  return t('storagePage.forecast', { name, days: camera.forecastDays });
}

function UsageCard({ status, names }: { status: StorageStatus; names: Map<string, string> }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  const now = Date.now();
  return (
    <section class="card" aria-labelledby="storage-usage">
      <h2 id="storage-usage">{t('storagePage.usage')}</h2>
      <table class="table" data-testid="camera-usage">
        <thead>
          <tr>
            <th>{t('storagePage.camera')}</th>
            <th>{t('storagePage.used')}</th>
            <th>{t('storagePage.oldest')}</th>
            <th>{t('storagePage.daysKept')}</th>
            <th>{t('storagePage.rate')}</th>
          </tr>
        </thead>
        <tbody>
          {status.cameras.map((camera) => {
            const name = names.get(camera.cameraId) ?? camera.cameraId;
            return (
              <tr key={camera.cameraId} data-camera={camera.cameraId}>
                <td>
                  {name}
                  {camera.recordingPaused ? (
                    <span class="badge sev-error" role="status">
                      {' '}
                      {t('storagePage.paused')}
                    </span>
                  ) : null}
                  <div class="hint" data-testid="forecast">
                    {forecastSentence(camera, name, t)}
                  </div>
                </td>
                <td>{formatBytes(camera.usedBytes, locale)}</td>
                <td>{camera.oldest === null ? '—' : formatTime(camera.oldest)}</td>
                <td>
                  {camera.oldest === null
                    ? '—'
                    : ((now - camera.oldest) / DAY).toLocaleString(locale, { maximumFractionDigits: 1 })}
                </td>
                <td>{t('storagePage.perDay', { size: formatBytes(camera.dailyBytes, locale) })}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>{t('storagePage.categories')}</h3>
      <ul class="plain-list">
        <li>
          {t('storagePage.category.recordings')}:{' '}
          {formatBytes(
            status.cameras.reduce((sum, camera) => sum + camera.usedBytes, 0),
            locale,
          )}
        </li>
        {status.categories.map((category) => (
          <li key={category.name}>
            {categoryName(category.name, t)}: {formatBytes(category.usedBytes, locale)} ({category.items})
            {category.maxBytes > 0 ? ` / ${formatBytes(category.maxBytes, locale)}` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Whole numbers from a form field; blank → undefined. */
function intField(form: FormData, name: string): number | undefined | 'bad' {
  const raw = String(form.get(name) ?? '').trim();
  if (raw === '') return undefined;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : 'bad';
}

function RetentionForm({
  budget,
  cameraIds,
  names,
  isOwner,
  onSaved,
}: {
  budget: RetentionBudget;
  cameraIds: string[];
  names: Map<string, string>;
  isOwner: boolean;
  onSaved: (budget: RetentionBudget) => void;
}) {
  const t = useT();
  const [saved, setSaved] = useState(false);
  const { busy, errors, setErrors, run } = useSubmit([
    'maxBytes',
    'minFreePercent',
    'minFreeBytes',
    'defaults',
  ]);
  return (
    <form
      class="card form"
      noValidate
      data-testid="retention-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!isOwner) return;
        setSaved(false);
        const form = new FormData(e.currentTarget);
        const fields: Record<string, string> = {};
        const number = (name: string, blankAs?: number) => {
          const value = intField(form, name);
          if (value === 'bad') fields[name] = t('storagePage.wholeNumber');
          return value === 'bad' ? 0 : (value ?? blankAs);
        };
        // Sizes are shown rounded; an untouched field keeps the exact stored bytes.
        const bytesField = (name: string, stored: number) => {
          const raw = String(form.get(name) ?? '').trim() || '0';
          if (raw === gigabytes(stored)) return stored;
          const value = Number(raw);
          if (!(value >= 0)) fields[name] = t('storagePage.number');
          return Math.round(value * GB);
        };
        const maxBytes = bytesField('maxGb', budget.maxBytes);
        const minFreeBytes = bytesField('minFreeGb', budget.minFreeBytes);
        const minFreePercent = Number(String(form.get('minFreePercent') ?? '0').trim() || '0');
        if (!(minFreePercent >= 0 && minFreePercent <= 50))
          fields.minFreePercent = t('storagePage.percentRange');
        const defaults = { maxDays: number('maxDays', 0)!, minDays: number('minDays', 0)! };
        if (defaults.maxDays > 0 && defaults.minDays > defaults.maxDays)
          fields.minDays = t('storagePage.minAboveMax');
        const cameras: RetentionBudget['cameras'] = {};
        for (const id of cameraIds) {
          const maxDays = number(`max-${id}`);
          const minDays = number(`min-${id}`);
          const effectiveMax = maxDays ?? defaults.maxDays;
          // Only a camera's own values get their own error; the defaults' conflict is shown once, above.
          const own = maxDays !== undefined || minDays !== undefined;
          if (own && effectiveMax > 0 && (minDays ?? defaults.minDays) > effectiveMax)
            fields[`min-${id}`] = t('storagePage.minAboveMax');
          if (maxDays !== undefined || minDays !== undefined)
            cameras[id] = {
              ...(maxDays !== undefined ? { maxDays } : {}),
              ...(minDays !== undefined ? { minDays } : {}),
            };
        }
        if (Object.keys(fields).length) return setErrors({ fields });
        const next: RetentionBudget = {
          ...budget,
          maxBytes,
          minFreeBytes,
          minFreePercent,
          defaults,
          cameras,
        };
        const ok = await run(async () => {
          try {
            onSaved(await api.saveRetention(next));
          } catch (error) {
            // The hub's own words say why a minimum cannot fit.
            if (error instanceof ApiError && error.code === 'retention_refused')
              throw new ApiError(
                error.status,
                'retention_refused',
                t('storagePage.refused', { reason: error.message }),
              );
            throw error;
          }
        });
        setSaved(ok);
      }}
    >
      <h2>{t('storagePage.settings')}</h2>
      {!isOwner ? <Alert kind="info">{t('storagePage.readOnly')}</Alert> : null}
      <p class="hint">{t('storagePage.settingsHint')}</p>
      <div class="form-grid">
        <TextField
          label={t('storagePage.maxGb')}
          name="maxGb"
          inputMode="decimal"
          defaultValue={gigabytes(budget.maxBytes)}
          readOnly={!isOwner}
          hint={t('storagePage.zeroNoCap')}
          error={errors.fields.maxGb}
        />
        <TextField
          label={t('storagePage.minFreePercent')}
          name="minFreePercent"
          inputMode="decimal"
          defaultValue={String(budget.minFreePercent)}
          readOnly={!isOwner}
          error={errors.fields.minFreePercent}
        />
        <TextField
          label={t('storagePage.minFreeGb')}
          name="minFreeGb"
          inputMode="decimal"
          defaultValue={gigabytes(budget.minFreeBytes)}
          readOnly={!isOwner}
          error={errors.fields.minFreeGb}
        />
        <TextField
          label={t('storagePage.maxDays')}
          name="maxDays"
          inputMode="numeric"
          defaultValue={String(budget.defaults.maxDays)}
          readOnly={!isOwner}
          hint={t('storagePage.zeroKeep')}
          error={errors.fields.maxDays}
        />
        <TextField
          label={t('storagePage.minDays')}
          name="minDays"
          inputMode="numeric"
          defaultValue={String(budget.defaults.minDays)}
          readOnly={!isOwner}
          hint={t('storagePage.minHint')}
          error={errors.fields.minDays}
        />
      </div>
      {cameraIds.length > 0 ? (
        <table class="table">
          <thead>
            <tr>
              <th>{t('storagePage.camera')}</th>
              <th>{t('storagePage.maxDays')}</th>
              <th>{t('storagePage.minDays')}</th>
            </tr>
          </thead>
          <tbody>
            {cameraIds.map((id) => (
              <tr key={id}>
                <td>{names.get(id) ?? id}</td>
                <td>
                  <TextField
                    label={t('storagePage.maxDaysOf', { name: names.get(id) ?? id })}
                    name={`max-${id}`}
                    inputMode="numeric"
                    placeholder={t('storagePage.useDefault')}
                    defaultValue={budget.cameras[id]?.maxDays?.toString() ?? ''}
                    readOnly={!isOwner}
                    error={errors.fields[`max-${id}`]}
                  />
                </td>
                <td>
                  <TextField
                    label={t('storagePage.minDaysOf', { name: names.get(id) ?? id })}
                    name={`min-${id}`}
                    inputMode="numeric"
                    placeholder={t('storagePage.useDefault')}
                    defaultValue={budget.cameras[id]?.minDays?.toString() ?? ''}
                    readOnly={!isOwner}
                    error={errors.fields[`min-${id}`]}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <FormError message={errors.form} />
      {saved ? <Alert kind="success">{t('storagePage.saved')}</Alert> : null}
      {isOwner ? (
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('common.working') : t('common.save')}
          </button>
        </div>
      ) : null}
    </form>
  );
}

function Deletions({ deletions, names }: { deletions: RetentionDeletion[]; names: Map<string, string> }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  return (
    <section class="card" aria-labelledby="storage-deletions">
      <h2 id="storage-deletions">{t('storagePage.deletions')}</h2>
      {deletions.length === 0 ? (
        <p class="hint">{t('storagePage.noDeletions')}</p>
      ) : (
        <table class="table" data-testid="deletions">
          <thead>
            <tr>
              <th>{t('storagePage.deletedAt')}</th>
              <th>{t('storagePage.camera')}</th>
              <th>{t('storagePage.footageFrom')}</th>
              <th>{t('storagePage.size')}</th>
              <th>{t('storagePage.reason')}</th>
            </tr>
          </thead>
          <tbody>
            {deletions.map((item) => (
              <tr key={item.id}>
                <td>{formatTime(item.at)}</td>
                <td>
                  {item.category === 'recordings'
                    ? (names.get(item.cameraId) ?? item.cameraId)
                    : `${categoryName(item.category, t)} ${names.get(item.cameraId) ?? item.cameraId}`}
                </td>
                <td>{formatTime(item.startAt)}</td>
                <td>{formatBytes(item.bytes, locale)}</td>
                <td>{t(`storagePage.reason.${item.reason}` as MessageKey)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function StoragePage() {
  const t = useT();
  usePageTitle(t('storagePage.title'));
  const isOwner = useIsOwner();
  const status = useResource(() => api.storageStatus());
  const budget = useResource(() => api.retention());
  const deletions = useResource(() => api.retentionDeletions(50));
  const cameras = useCameras();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Retention runs and NAS changes arrive on the live stream; one re-read a second at most.
  const refresh = () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      void status.reload();
      void deletions.reload();
    }, 1000);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  useLive('storage', refresh);
  useLive('recording', (data) => {
    if (data.change === 'nas') refresh();
  });

  const names = new Map((cameras.data ?? []).map((camera) => [camera.id, camera.name]));
  const cameraIds = [
    ...new Set([
      ...(cameras.data ?? []).map((camera) => camera.id),
      ...(status.data?.cameras ?? []).map((c) => c.cameraId),
    ]),
  ];

  return (
    <>
      <PageHeader title={t('storagePage.title')} />
      {status.error ? (
        <LoadError error={status.error} onRetry={status.reload} />
      ) : !status.data ? (
        <Loading />
      ) : (
        <>
          <NasCard status={status.data} />
          <UsageCard status={status.data} names={names} />
        </>
      )}
      {budget.data ? (
        <RetentionForm
          budget={budget.data}
          cameraIds={cameraIds}
          names={names}
          isOwner={isOwner}
          onSaved={(saved) => {
            budget.update(() => saved);
            void status.reload();
          }}
        />
      ) : budget.error ? (
        <LoadError error={budget.error} onRetry={budget.reload} />
      ) : null}
      {deletions.data ? <Deletions deletions={deletions.data.deletions} names={names} /> : null}
    </>
  );
}
