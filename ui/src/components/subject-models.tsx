import { useState } from 'preact/hooks';
import {
  ApiError,
  api,
  type CryClip,
  type CryLabel,
  type CryModels,
  type CryVersion,
  type RoutineVersion,
  type Subject,
  urls,
} from '../api';
import { useCanManage } from '../cameras';
import { useFormatTime } from '../hooks';
import { type Translate, useLocale, useT } from '../i18n';
import { Alert, ConfirmButton, errorMessage, LoadError, Loading, useResource } from './ui';

/** Clips shown before "show all": a household labels the newest; the rest is the training set. */
const CLIPS_SHOWN = 8;

/** The model errors a household meets, in its language; anything else as the generic message. */
function modelError(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return errorMessage(error, t);
  const details = (error.details ?? {}) as Record<string, unknown>;
  switch (error.code) {
    case 'not_enough_clips':
      return t('cry.notEnough', {
        needed: Number(details.needed),
        crying: Number(details.crying),
        notCrying: Number(details.notCrying),
      });
    case 'busy':
      return t('models.busy');
    case 'model_invalid':
      return t('cry.invalid', { reason: String(details.reason ?? error.message) });
    case 'no_active_model':
      return t('cry.noActive');
    case 'not_ready':
      return t('routine.notReady');
    case 'no_previous':
      return t('routine.noPrevious');
    default:
      return errorMessage(error, t);
  }
}

/** One action at a time per section, with its outcome shown under the section's buttons. */
function useAction() {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    setNote(null);
    try {
      setNote({ kind: 'success', text: await action() });
    } catch (error) {
      setNote({ kind: 'error', text: modelError(error, t) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, note, run };
}

function usePercent(): (value: number | null) => string {
  const locale = useLocale();
  return (value) =>
    value === null ? '–' : value.toLocaleString(locale, { style: 'percent', maximumFractionDigits: 0 });
}

/**
 * A person's own models on their page: the household-trained cry classifier and the routine model. Each is
 * folded away unless it is the one their kind usually needs (crying for a baby, routine for an elder).
 */
export function SubjectModels({ subject }: { subject: Subject }) {
  return (
    <>
      <CrySection subjectId={subject.id} open={subject.kind === 'baby'} />
      <RoutineSection subjectId={subject.id} open={subject.kind === 'elder'} />
    </>
  );
}

// ---------------------------------------------------------------- crying

function CrySection({ subjectId, open }: { subjectId: number; open: boolean }) {
  const t = useT();
  const canManage = useCanManage();
  const models = useResource(() => api.cryModels(subjectId));
  const clips = useResource(async () => (await api.cryClips(subjectId)).clips);
  const action = useAction();
  const percent = usePercent();
  const reload = async () => {
    await Promise.all([models.reload(), clips.reload()]);
  };
  const activeVersion = models.data?.active ?? null;
  return (
    <section class="card" data-testid="cry-models">
      <details class="model-section" open={open}>
        <summary>
          <h2>{t('cry.title')}</h2>
          {models.data ? (
            <span class="badge">
              {activeVersion === null
                ? t('cry.usingDefault')
                : t('models.usingVersion', { version: activeVersion })}
            </span>
          ) : null}
        </summary>
        <p class="muted">{t('cry.intro')}</p>
        {models.error && !models.data ? (
          <LoadError error={models.error} onRetry={models.reload} />
        ) : !models.data ? (
          <Loading />
        ) : (
          <>
            <TrainingCounts labelled={models.data.labelled} />
            {canManage ? (
              <div class="actions">
                <button
                  type="button"
                  class="btn btn-primary"
                  disabled={action.busy}
                  onClick={() =>
                    void action.run(async () => {
                      const { version } = await api.trainCryModel(subjectId);
                      await models.reload();
                      return trainedNote(version, t, percent);
                    })
                  }
                >
                  {action.busy ? t('common.working') : t('cry.train')}
                </button>
                {activeVersion !== null ? (
                  <button
                    type="button"
                    class="btn"
                    disabled={action.busy}
                    onClick={() =>
                      void action.run(async () => {
                        const { active } = await api.rollbackCryModel(subjectId);
                        await models.reload();
                        return active
                          ? t('models.nowUsing', { version: active.version })
                          : t('cry.backToDefault');
                      })
                    }
                  >
                    {t('models.rollback')}
                  </button>
                ) : null}
              </div>
            ) : null}
            {action.note ? <Alert kind={action.note.kind}>{action.note.text}</Alert> : null}
            <CryVersions
              models={models.data}
              canManage={canManage}
              busy={action.busy}
              onActivate={(version) =>
                void action.run(async () => {
                  await api.activateCryModel(subjectId, version);
                  await models.reload();
                  return t('models.nowUsing', { version });
                })
              }
            />
          </>
        )}
        <h3>{t('cry.clips')}</h3>
        {clips.error && !clips.data ? (
          <LoadError error={clips.error} onRetry={clips.reload} />
        ) : !clips.data ? (
          <Loading />
        ) : (
          <CryClips subjectId={subjectId} clips={clips.data} canManage={canManage} onChange={reload} />
        )}
      </details>
    </section>
  );
}

function trainedNote(version: CryVersion, t: Translate, percent: (value: number | null) => string): string {
  const held = version.metrics.heldOut;
  return t('cry.trained', {
    version: version.version,
    precision: percent(held.precision),
    recall: percent(held.recall),
    falseAlarms: held.falsePositives,
    negatives: held.negatives,
  });
}

function TrainingCounts({ labelled }: { labelled: CryModels['labelled'] }) {
  const t = useT();
  const enough = labelled.crying >= labelled.needed && labelled.notCrying >= labelled.needed;
  return (
    <p data-testid="cry-counts">
      {t('cry.counts', { crying: labelled.crying, notCrying: labelled.notCrying })}{' '}
      <span class={enough ? 'badge status-online' : 'badge'}>
        {enough ? t('cry.enough') : t('cry.needMore', { needed: labelled.needed })}
      </span>
    </p>
  );
}

function CryVersions({
  models,
  canManage,
  busy,
  onActivate,
}: {
  models: CryModels;
  canManage: boolean;
  busy: boolean;
  onActivate: (version: number) => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const percent = usePercent();
  if (models.versions.length === 0) return <p class="muted">{t('cry.noVersions')}</p>;
  return (
    <div class="table-scroll">
      <p class="muted">{t('cry.figuresHint')}</p>
      <table class="table model-versions" data-testid="cry-versions">
        <thead>
          <tr>
            <th>{t('models.version')}</th>
            <th>{t('models.trained')}</th>
            <th>{t('cry.clipsUsed')}</th>
            <th>{t('cry.precision')}</th>
            <th>{t('cry.recall')}</th>
            <th>{t('cry.falseAlarms')}</th>
            <th>{t('models.state')}</th>
          </tr>
        </thead>
        <tbody>
          {models.versions.map((version) => {
            const held = version.metrics.heldOut;
            return (
              <tr key={version.version} data-testid={`cry-version-${version.version}`}>
                <td>v{version.version}</td>
                <td data-label={t('models.trained')}>{formatTime(version.trainedAt)}</td>
                <td data-label={t('cry.clipsUsed')}>
                  {t('cry.clipsOf', {
                    clips: version.clips,
                    crying: version.positives,
                    notCrying: version.negatives,
                  })}
                </td>
                <td class="num" data-label={t('cry.precision')}>
                  {percent(held.precision)}
                </td>
                <td class="num" data-label={t('cry.recall')}>
                  {percent(held.recall)}
                </td>
                <td class="num" data-label={t('cry.falseAlarms')}>
                  {t('cry.falseAlarmsOf', { count: held.falsePositives, of: held.negatives })}
                </td>
                <td>
                  {version.active ? (
                    <span class="badge status-online">{t('models.inUse')}</span>
                  ) : canManage ? (
                    <button
                      type="button"
                      class="btn btn-small"
                      disabled={busy}
                      onClick={() => onActivate(version.version)}
                    >
                      {t('models.activate')}
                    </button>
                  ) : null}
                  {version.note ? <span class="muted"> {version.note}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function CryClips({
  subjectId,
  clips,
  canManage,
  onChange,
}: {
  subjectId: number;
  clips: CryClip[];
  canManage: boolean;
  onChange: () => Promise<void>;
}) {
  const t = useT();
  const [all, setAll] = useState(false);
  if (clips.length === 0) return <p class="muted">{t('cry.noClips')}</p>;
  // The ones waiting for a label first (they expire); each group newest first, as the API lists them.
  const ordered = [...clips.filter((clip) => !clip.label), ...clips.filter((clip) => clip.label)];
  const shown = all ? ordered : ordered.slice(0, CLIPS_SHOWN);
  return (
    <>
      <ul class="plain-list cry-clips" data-testid="cry-clips">
        {shown.map((clip) => (
          <ClipRow
            key={clip.id}
            subjectId={subjectId}
            clip={clip}
            canManage={canManage}
            onChange={onChange}
          />
        ))}
      </ul>
      {shown.length < ordered.length ? (
        <button type="button" class="btn btn-quiet btn-small" onClick={() => setAll(true)}>
          {t('cry.showAll', { count: ordered.length })}
        </button>
      ) : null}
    </>
  );
}

function ClipRow({
  subjectId,
  clip,
  canManage,
  onChange,
}: {
  subjectId: number;
  clip: CryClip;
  canManage: boolean;
  onChange: () => Promise<void>;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const percent = usePercent();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await onChange();
    } catch (e) {
      setError(modelError(e, t));
    } finally {
      setBusy(false);
    }
  };
  const labelButton = (label: CryLabel) => (
    <button
      type="button"
      class={clip.label === label ? 'btn btn-small btn-primary' : 'btn btn-small'}
      aria-pressed={clip.label === label}
      disabled={busy}
      onClick={() => void act(() => api.labelCryClip(subjectId, clip.id, label))}
    >
      {t(label === 'crying' ? 'cry.crying' : 'cry.notCrying')}
    </button>
  );
  return (
    <li class="cry-clip" data-testid={`cry-clip-${clip.id}`}>
      <div class="row-meta">
        <span>{formatTime(clip.recordedAt)}</span>
        <span>{t('cry.seconds', { seconds: (clip.durationMs / 1000).toFixed(1) })}</span>
        {clip.probability !== null ? (
          <span>{t('cry.detectorSaid', { probability: percent(clip.probability) })}</span>
        ) : null}
        {clip.label ? (
          <span class="badge">{t(clip.label === 'crying' ? 'cry.crying' : 'cry.notCrying')}</span>
        ) : (
          <span class="badge badge-quiet">{t('cry.unlabelled', { time: formatTime(clip.expiresAt) })}</span>
        )}
      </div>
      <div class="cry-clip-controls">
        {/* biome-ignore lint/a11y/useMediaCaption: seconds of room sound, judged by ear; nothing to caption */}
        <audio
          controls
          preload="none"
          src={urls.cryClipAudio(subjectId, clip.id)}
          aria-label={t('cry.listen')}
        />
        {canManage ? (
          <div class="actions">
            {labelButton('crying')}
            {labelButton('not_crying')}
            <ConfirmButton
              label={t('common.remove')}
              confirmLabel={t('cry.confirmRemove')}
              disabled={busy}
              onConfirm={() => act(() => api.deleteCryClip(subjectId, clip.id))}
            />
          </div>
        ) : null}
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
    </li>
  );
}

// ---------------------------------------------------------------- routine

function RoutineSection({ subjectId, open }: { subjectId: number; open: boolean }) {
  const t = useT();
  const canManage = useCanManage();
  const formatTime = useFormatTime();
  const status = useResource(() => api.routine(subjectId));
  const action = useAction();
  const data = status.data;
  const active = data?.active ?? null;
  // Rollback goes to the newest earlier version that can score; without one the hub answers 409.
  const canRollBack = active !== null && !!data?.versions.some((v) => v.ready && v.version < active.version);
  const change = (work: () => Promise<string>) =>
    void action.run(async () => {
      const done = await work();
      await status.reload();
      return done;
    });
  return (
    <section class="card" data-testid="routine-models">
      <details class="model-section" open={open}>
        <summary>
          <h2>{t('routine.title')}</h2>
          {data ? (
            <span class="badge">
              {active === null ? t('routine.noModel') : t('models.usingVersion', { version: active.version })}
            </span>
          ) : null}
        </summary>
        <p class="muted">{t('routine.intro')}</p>
        {status.error && !data ? (
          <LoadError error={status.error} onRetry={status.reload} />
        ) : !data ? (
          <Loading />
        ) : (
          <>
            <div data-testid="routine-now">
              {data.now.ready ? (
                <>
                  <p>
                    {t('routine.score', {
                      score: data.now.score.toFixed(2),
                      time: formatTime(data.now.at),
                    })}{' '}
                    <span class={data.now.state === 'anomaly' ? 'badge sev-warning' : 'badge status-online'}>
                      {t(data.now.state === 'anomaly' ? 'routine.anomaly' : 'routine.normal')}
                    </span>
                  </p>
                  {data.now.reasons.length > 0 ? (
                    <ul>
                      {data.now.reasons.map((reason) => (
                        <li key={reason}>{reason}</li>
                      ))}
                    </ul>
                  ) : null}
                </>
              ) : (
                <p class="muted">
                  {active === null
                    ? t('routine.untrained')
                    : t('routine.cannotScore', { reason: data.now.reason })}
                </p>
              )}
            </div>
            {canManage ? (
              <div class="actions">
                <button
                  type="button"
                  class="btn btn-primary"
                  disabled={action.busy}
                  onClick={() =>
                    change(async () => {
                      const { version } = await api.trainRoutine(subjectId);
                      return version.ready
                        ? t('routine.trained', { version: version.version, days: version.daysUsed })
                        : t('routine.trainedNotReady', {
                            version: version.version,
                            note: version.note ?? '',
                          });
                    })
                  }
                >
                  {action.busy ? t('common.working') : t('routine.train')}
                </button>
                {canRollBack ? (
                  <button
                    type="button"
                    class="btn"
                    disabled={action.busy}
                    onClick={() =>
                      change(async () => {
                        const { version } = await api.rollbackRoutine(subjectId);
                        return t('models.nowUsing', { version: version.version });
                      })
                    }
                  >
                    {t('models.rollback')}
                  </button>
                ) : null}
              </div>
            ) : null}
            {action.note ? <Alert kind={action.note.kind}>{action.note.text}</Alert> : null}
            <RoutineVersions
              versions={data.versions}
              canManage={canManage}
              busy={action.busy}
              onActivate={(version) =>
                change(async () => {
                  await api.activateRoutine(subjectId, version);
                  return t('models.nowUsing', { version });
                })
              }
            />
          </>
        )}
      </details>
    </section>
  );
}

function RoutineVersions({
  versions,
  canManage,
  busy,
  onActivate,
}: {
  versions: RoutineVersion[];
  canManage: boolean;
  busy: boolean;
  onActivate: (version: number) => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  if (versions.length === 0) return null;
  return (
    <div class="table-scroll">
      <table class="table model-versions" data-testid="routine-versions">
        <thead>
          <tr>
            <th>{t('models.version')}</th>
            <th>{t('models.trained')}</th>
            <th>{t('routine.days')}</th>
            <th>{t('routine.streams')}</th>
            <th>{t('routine.flagged')}</th>
            <th>{t('models.state')}</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.version} data-testid={`routine-version-${version.version}`}>
              <td>v{version.version}</td>
              <td data-label={t('models.trained')}>{formatTime(version.trainedAt)}</td>
              <td class="num" data-label={t('routine.days')}>
                {version.daysUsed}
              </td>
              <td class="num" data-label={t('routine.streams')}>
                {version.streams}
              </td>
              <td class="num" data-label={t('routine.flagged')}>
                {version.flaggedDays}
              </td>
              <td>
                {version.active ? <span class="badge status-online">{t('models.inUse')}</span> : null}
                {!version.ready ? (
                  <span class="muted"> {t('routine.versionNotReady', { note: version.note ?? '' })}</span>
                ) : !version.active && canManage ? (
                  <button
                    type="button"
                    class="btn btn-small"
                    disabled={busy}
                    onClick={() => onActivate(version.version)}
                  >
                    {t('models.activate')}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
