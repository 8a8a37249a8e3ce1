import { useState } from 'preact/hooks';
import { api, type ClipExport, isMissingEndpoint, urls } from '../api';
import { useT } from '../i18n';
import { exportFrom, useLive } from '../live';
import { clockText, instantOnDay, timeInputValue } from '../time';
import { Icon } from './icons';
import { Alert, ConfirmButton, errorMessage, FormError, TextField, useResource, useSubmit } from './ui';

/** Longest clip the hub makes (six hours); checked here first for a message in the reader's language. */
const MAX_CLIP_MS = 6 * 3600_000;

function formatBytes(bytes: number | null): string {
  if (!bytes) return '';
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function ExportRow({ item, zone, onRemoved }: { item: ClipExport; zone: string; onRemoved: () => void }) {
  const t = useT();
  const [error, setError] = useState<string | null>(null);
  const percent = Math.round(Math.min(1, Math.max(0, item.progress ?? 0)) * 100);
  return (
    <li class="export-row" data-export={item.id} data-state={item.state}>
      <div class="export-main">
        <span class="export-range">
          {clockText(item.from, zone)} – {clockText(item.to, zone)}
        </span>
        <span class={`badge export-${item.state}`}>{t(`export.state.${item.state}`)}</span>
      </div>
      {item.state === 'queued' || item.state === 'running' ? (
        <progress class="export-progress" max={100} value={percent} aria-label={t('export.progress')}>
          {percent}%
        </progress>
      ) : null}
      {item.state === 'failed' && item.error ? <p class="field-error">{item.error}</p> : null}
      <div class="export-actions">
        {item.state === 'done' ? (
          <a class="btn btn-small btn-primary" href={urls.exportFile(item.id)} download>
            <Icon name="download" />
            {t('export.download')}
            {item.bytes ? <span class="muted-on-accent"> · {formatBytes(item.bytes)}</span> : null}
          </a>
        ) : null}
        <ConfirmButton
          label={t('common.remove')}
          confirmLabel={t('export.confirmRemove')}
          onConfirm={async () => {
            try {
              await api.deleteExport(item.id);
              onRemoved();
            } catch (e) {
              setError(errorMessage(e, t));
            }
          }}
        />
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
    </li>
  );
}

/**
 * Export a clip of one camera (members and owners): a range on the viewed day, by default the
 * ten minutes around the playing moment. Progress comes over the live stream — the `exports`
 * topic, or `jobs` carrying `{ change: 'export', export }`; both are accepted.
 */
export function ExportPanel({
  cameraId,
  day,
  dayStart,
  dayEnd,
  around,
  zone,
  onClose,
}: {
  cameraId: string;
  day: string;
  dayStart: number;
  dayEnd: number;
  around: number;
  zone: string;
  onClose: () => void;
}) {
  const t = useT();
  const exportsList = useResource(async () => {
    try {
      return (await api.listExports()).exports.filter((item) => item.cameraId === cameraId);
    } catch (error) {
      if (isMissingEndpoint(error)) return [];
      throw error;
    }
  });
  const { busy, errors, setErrors, run } = useSubmit(['from', 'to']);

  const apply = (item: ClipExport) =>
    exportsList.update((list) => {
      if (item.cameraId !== cameraId) return list;
      const rest = (list ?? []).filter((x) => x.id !== item.id);
      return [item, ...rest].sort((a, b) => b.id - a.id);
    });
  const onMessage = (data: unknown) => {
    const item = exportFrom(data);
    if (item) return apply(item);
    const removed = data as { change?: unknown; id?: unknown } | null;
    if (removed?.change === 'removed' && typeof removed.id === 'number')
      exportsList.update((list) => list?.filter((x) => x.id !== removed.id));
  };
  useLive('exports', onMessage);
  useLive('jobs', onMessage);
  useLive('resync', () => void exportsList.reload());

  const half = 5 * 60_000;
  const defaultFrom = Math.max(dayStart, Math.min(around - half, dayEnd - 2 * half));
  const defaultTo = Math.min(dayEnd - 1000, defaultFrom + 2 * half);

  return (
    <section class="card export-panel" aria-labelledby="export-title">
      <div class="section-head">
        <h2 id="export-title">{t('export.title')}</h2>
        <button
          type="button"
          class="btn btn-small btn-quiet"
          onClick={onClose}
          aria-label={t('common.close')}
        >
          <Icon name="close" />
        </button>
      </div>
      <form
        class="form"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const from = instantOnDay(day, String(form.get('from') ?? ''), zone);
          let to = instantOnDay(day, String(form.get('to') ?? ''), zone);
          if (from === null) return setErrors({ fields: { from: t('form.required') } });
          if (to === null) return setErrors({ fields: { to: t('form.required') } });
          if (to <= from) to += 24 * 3600_000; // "23:55 – 00:05" runs into the next day
          if (to - from > MAX_CLIP_MS)
            return setErrors({ fields: { to: t('export.tooLong', { hours: MAX_CLIP_MS / 3600_000 }) } });
          await run(async () => {
            const { export: created } = await api.createExport({ cameraId, from, to });
            apply(created);
          });
        }}
      >
        <div class="form-grid export-range-fields">
          <TextField
            label={t('export.from')}
            name="from"
            type="time"
            step={1}
            defaultValue={timeInputValue(defaultFrom, zone)}
            error={errors.fields.from}
          />
          <TextField
            label={t('export.to')}
            name="to"
            type="time"
            step={1}
            defaultValue={timeInputValue(defaultTo, zone)}
            error={errors.fields.to}
          />
        </div>
        <p class="hint">{t('export.hint')}</p>
        <FormError message={errors.form} />
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            <Icon name="scissors" />
            {busy ? t('common.working') : t('export.submit')}
          </button>
        </div>
      </form>
      {exportsList.data?.length ? (
        <ul class="export-list" aria-label={t('export.list')}>
          {exportsList.data.map((item) => (
            <ExportRow
              key={item.id}
              item={item}
              zone={zone}
              onRemoved={() => exportsList.update((list) => list?.filter((x) => x.id !== item.id))}
            />
          ))}
        </ul>
      ) : null}
      {exportsList.error && !exportsList.data ? (
        <Alert kind="error">{errorMessage(exportsList.error, t)}</Alert>
      ) : null}
    </section>
  );
}
