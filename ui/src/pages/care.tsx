import { useEffect, useState } from 'preact/hooks';
import {
  type AlertSeverity,
  api,
  type CareRule,
  type EdgeNode,
  type Incident,
  type IncidentFilter,
  type LatestReading,
  type Subject,
  type SubjectKind,
} from '../api';
import { useCameras, useCanManage } from '../cameras';
import { CameraPicture } from '../components/camera';
import { HistoryChart } from '../components/history-chart';
import { Icon } from '../components/icons';
import { SubjectModels } from '../components/subject-models';
import {
  Alert,
  CheckboxField,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  SelectField,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { type MessageKey, useT } from '../i18n';
import { useLive } from '../live';
import { authStore } from '../session';
import { useStore } from '../store';

const SUBJECT_KINDS: SubjectKind[] = ['baby', 'elder', 'pet', 'other'];

function useMyId(): number | null {
  const auth = useStore(authStore);
  return auth.status === 'ready' ? auth.user.id : null;
}

export function SeverityTag({ severity }: { severity: AlertSeverity }) {
  const t = useT();
  return <span class={`badge alert-${severity}`}>{t(`care.severity.${severity}` as MessageKey)}</span>;
}

function IncidentState({ incident }: { incident: Incident }) {
  const t = useT();
  return (
    <span class={`badge incident-${incident.state}`}>
      {t(`care.incidentState.${incident.state}` as MessageKey)}
    </span>
  );
}

/** Acknowledge: anyone signed in may; a second press is harmless. */
export function AcknowledgeButton({ incident, onDone }: { incident: Incident; onDone?: () => void }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (incident.state !== 'open') return null;
  return (
    <>
      <button
        type="button"
        class="btn btn-primary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await api.acknowledge(incident.id);
            onDone?.();
          } catch (e) {
            setError(errorMessage(e, t));
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('care.acknowledge')}
      </button>
      {error ? <Alert kind="error">{error}</Alert> : null}
    </>
  );
}

function IncidentRows({ incidents, onChange }: { incidents: Incident[]; onChange: () => void }) {
  const t = useT();
  const formatTime = useFormatTime();
  return (
    <ul class="card card-flush rows" data-testid="incidents">
      {incidents.map((incident) => (
        <li class={`row incident-row severity-${incident.severity}`} key={incident.id}>
          <div class="row-main">
            <div class="row-title">
              <a href={`/incidents/${incident.id}`}>
                <strong>{incident.title}</strong>
              </a>
              <SeverityTag severity={incident.severity} />
              <IncidentState incident={incident} />
              {incident.silent ? <span class="badge">{t('care.silent')}</span> : null}
            </div>
            <p class="row-meta">
              <span>{t('care.firedAt', { time: formatTime(incident.firedAt) })}</span>
              {incident.acknowledgedBy ? (
                <span>{t('care.acknowledgedBy', { name: incident.acknowledgedBy.name })}</span>
              ) : null}
              {incident.escalations > 0 ? (
                <span>{t('care.escalations', { count: incident.escalations })}</span>
              ) : null}
              {incident.resolvedAt ? (
                <span>{t('care.resolvedAt', { time: formatTime(incident.resolvedAt) })}</span>
              ) : null}
            </p>
          </div>
          <div class="row-actions">
            <AcknowledgeButton incident={incident} onDone={onChange} />
          </div>
        </li>
      ))}
    </ul>
  );
}

/** The newest reading of each kind across a subject's nodes, as tiles. */
function StateTiles({ latest }: { latest: LatestReading[] }) {
  const t = useT();
  const formatTime = useFormatTime();
  const newest = (kind: string) =>
    latest.filter((reading) => reading.kind === kind).sort((a, b) => b.at - a.at)[0];
  const tiles: { kind: string; label: MessageKey; show: (r: LatestReading) => string }[] = [
    { kind: 'temperature', label: 'care.tile.temperature', show: (r) => `${r.value?.toFixed(1)} °C` },
    { kind: 'crying', label: 'care.tile.crying', show: (r) => r.state ?? String(r.value) },
    { kind: 'direction', label: 'care.tile.direction', show: (r) => r.state ?? String(r.value) },
    { kind: 'motion', label: 'care.tile.motion', show: (r) => formatTime(r.at) },
    { kind: 'check_in', label: 'care.tile.checkIn', show: (r) => `${r.state} · ${formatTime(r.at)}` },
  ];
  const shown = tiles.flatMap((tile) => {
    const reading = newest(tile.kind);
    return reading ? [{ ...tile, reading }] : [];
  });
  if (shown.length === 0) return <p class="muted">{t('care.noReadings')}</p>;
  return (
    <div class="state-tiles" data-testid="state-tiles">
      {shown.map(({ kind, label, show, reading }) => (
        <div class="state-tile" key={kind} data-kind={kind}>
          <span class="state-tile-label">{t(label)}</span>
          <strong class="state-tile-value">{show(reading)}</strong>
          <span class="state-tile-when muted">{formatTime(reading.at)}</span>
        </div>
      ))}
    </div>
  );
}

/** Rock the cradle, ask for a check-in: through the subject's first node. */
function Controls({ subject, nodeIds }: { subject: Subject; nodeIds: number[] }) {
  const t = useT();
  const canManage = useCanManage();
  const [note, setNote] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const nodeId = nodeIds[0];
  if (!canManage || nodeId === undefined) return null;
  const send = async (body: Parameters<typeof api.nodeCommand>[1]) => {
    setNote(null);
    try {
      await api.nodeCommand(nodeId, body);
      setNote({ kind: 'success', text: t('care.commandSent') });
    } catch (e) {
      setNote({ kind: 'error', text: errorMessage(e, t) });
    }
  };
  return (
    <div class="actions" data-testid="care-controls">
      {subject.kind === 'baby' ? (
        <>
          <button type="button" class="btn" onClick={() => void send({ kind: 'rock', seconds: 60 })}>
            {t('care.rock')}
          </button>
          <button type="button" class="btn btn-quiet" onClick={() => void send({ kind: 'stop_rocking' })}>
            {t('nodes.command.stop_rocking')}
          </button>
        </>
      ) : null}
      <button type="button" class="btn" onClick={() => void send({ kind: 'check_in', minutes: 5 })}>
        {t('care.askCheckIn')}
      </button>
      {note ? <Alert kind={note.kind}>{note.text}</Alert> : null}
    </div>
  );
}

function FollowToggle({ subject, onChange }: { subject: Subject; onChange: () => void }) {
  const t = useT();
  const me = useMyId();
  const following = me !== null && subject.followers.includes(me);
  return (
    <button
      type="button"
      class={following ? 'btn btn-quiet' : 'btn'}
      aria-pressed={following}
      onClick={async () => {
        await api.followSubject(subject.id, !following);
        onChange();
      }}
    >
      {following ? t('care.following') : t('care.follow')}
    </button>
  );
}

function AddSubject({ nodes, onDone }: { nodes: EdgeNode[]; onDone: () => void }) {
  const t = useT();
  const cameras = useCameras();
  const { busy, errors, setErrors, run } = useSubmit(['name', 'kind', 'quietHours', 'deviceIds']);
  return (
    <form
      class="card form"
      noValidate
      data-testid="add-subject"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const name = String(form.get('name') ?? '').trim();
        if (!name) return setErrors({ fields: { name: t('form.required') } });
        const quietHours = String(form.get('quietHours') ?? '').trim();
        await run(async () => {
          await api.addSubject({
            name,
            kind: String(form.get('kind')) as SubjectKind,
            deviceIds: form.getAll('deviceIds').map(Number),
            cameraIds: form.getAll('cameraIds').map(String),
            quietHours: quietHours || null,
          });
          onDone();
        });
      }}
    >
      <h2>{t('care.add')}</h2>
      <TextField label={t('care.name')} name="name" autocomplete="off" error={errors.fields.name} />
      <SelectField label={t('care.kind')} name="kind" hint={t('care.kindHint')}>
        {SUBJECT_KINDS.map((kind) => (
          <option value={kind} key={kind}>
            {t(`care.kind.${kind}` as MessageKey)}
          </option>
        ))}
      </SelectField>
      <fieldset class="field">
        <legend>{t('care.watchedBy')}</legend>
        {nodes.length === 0 ? <p class="muted">{t('care.noNodes')}</p> : null}
        {nodes.map((node) => (
          <CheckboxField key={node.id} label={node.name} name="deviceIds" value={String(node.id)} />
        ))}
      </fieldset>
      {cameras.data && cameras.data.length > 0 ? (
        <fieldset class="field">
          <legend>{t('care.seenBy')}</legend>
          {cameras.data.map((camera) => (
            <CheckboxField key={camera.id} label={camera.name} name="cameraIds" value={camera.id} />
          ))}
        </fieldset>
      ) : null}
      <TextField
        label={t('care.quietHours')}
        hint={t('care.quietHoursHint')}
        name="quietHours"
        placeholder="22:00-07:00"
        error={errors.fields.quietHours}
      />
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('care.add')}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

/** The newest readings of the nodes that watch each subject. */
function useLatestReadings(deviceIds: number[]) {
  const latest = useResource(async () => {
    const details = await Promise.all(deviceIds.map((id) => api.node(id).catch(() => null)));
    return details.flatMap((detail) => detail?.latest ?? []);
  });
  const key = deviceIds.join(',');
  useEffect(() => void latest.reload(), [key]);
  return latest;
}

export function SubjectCard({ subject, onChange }: { subject: Subject; onChange: () => void }) {
  const t = useT();
  const latest = useLatestReadings(subject.deviceIds);
  useLive('nodes', (change) => {
    if (change.change === 'readings' && subject.deviceIds.includes(change.id)) void latest.reload();
  });
  return (
    <section class="card subject-card" data-testid={`subject-${subject.id}`}>
      <div class="card-head">
        <h2>
          <a href={`/care/${subject.id}`}>{subject.name}</a>
        </h2>
        <span class="badge">{t(`care.kind.${subject.kind}` as MessageKey)}</span>
        <FollowToggle subject={subject} onChange={onChange} />
      </div>
      <SubjectCameras cameraIds={subject.cameraIds} />
      {latest.data ? <StateTiles latest={latest.data} /> : <Loading />}
      <Controls subject={subject} nodeIds={subject.deviceIds} />
    </section>
  );
}

/** The picture of each camera watching the person (tap for the live view). */
function SubjectCameras({ cameraIds }: { cameraIds: string[] }) {
  const cameras = useCameras();
  const watching = (cameras.data ?? []).filter((camera) => cameraIds.includes(camera.id));
  if (watching.length === 0) return null;
  return (
    <div class="subject-cameras">
      {watching.map((camera) => (
        <a key={camera.id} href={`/cameras/${camera.id}`} class="subject-camera" aria-label={camera.name}>
          <CameraPicture camera={camera} />
        </a>
      ))}
    </div>
  );
}

/** `/care`: the household dashboard, by person: open alerts first, then each person's state. */
export function CarePage() {
  const t = useT();
  usePageTitle(t('nav.care'));
  const canManage = useCanManage();
  const subjects = useResource(async () => (await api.subjects()).subjects);
  const open = useResource(async () => (await api.incidents({ state: 'unresolved', limit: 50 })).incidents);
  const nodes = useResource(async () => (await api.listNodes()).nodes);
  const [adding, setAdding] = useState(false);
  useLive('alerts', () => {
    void open.reload();
    void subjects.reload();
  });
  useLive('resync', () => {
    void open.reload();
    void subjects.reload();
  });
  return (
    <>
      <PageHeader title={t('nav.care')}>
        <a class="btn btn-quiet" href="/incidents">
          {t('care.allIncidents')}
        </a>
        {canManage && !adding ? (
          <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
            <Icon name="plus" />
            {t('care.add')}
          </button>
        ) : null}
      </PageHeader>
      {adding && nodes.data ? (
        <AddSubject
          nodes={nodes.data}
          onDone={() => {
            setAdding(false);
            void subjects.reload();
          }}
        />
      ) : null}
      {open.data && open.data.length > 0 ? (
        <section>
          <h2 class="section-title">{t('care.openIncidents')}</h2>
          <IncidentRows incidents={open.data} onChange={() => void open.reload()} />
        </section>
      ) : null}
      {subjects.error && !subjects.data ? (
        <LoadError error={subjects.error} onRetry={subjects.reload} />
      ) : !subjects.data ? (
        <Loading />
      ) : subjects.data.length === 0 ? (
        <p class="empty">{canManage ? t('care.emptyManager') : t('care.empty')}</p>
      ) : (
        <div class="subject-grid">
          {subjects.data.map((subject) => (
            <SubjectCard key={subject.id} subject={subject} onChange={() => void subjects.reload()} />
          ))}
        </div>
      )}
    </>
  );
}

function describeRule(rule: CareRule, t: ReturnType<typeof useT>): string {
  const p = rule.params;
  const text = (key: string) => String(p[key] ?? '');
  const number = (key: string) => Number(p[key] ?? 0);
  const kind = rule.readingKind;
  switch (rule.kind) {
    case 'threshold':
      return t(p.op === 'above' ? 'care.rule.above' : 'care.rule.below', {
        kind,
        limit: number('limit'),
        seconds: number('forSeconds'),
      });
    case 'state':
      return t(p.negate ? 'care.rule.notState' : 'care.rule.state', {
        kind,
        state: text('state'),
        seconds: number('forSeconds'),
      });
    case 'absence': {
      const window = p.window as { from: string; to: string } | undefined;
      return window
        ? t('care.rule.absenceWindow', {
            kind,
            minutes: Math.round(number('forSeconds') / 60),
            from: window.from,
            to: window.to,
          })
        : t('care.rule.absence', { kind, seconds: number('forSeconds') });
    }
    case 'check_in':
      return t('care.rule.checkIn');
  }
}

/** The numbers of a rule's params a member may change, where the rule has them. */
const NUMBER_PARAMS = [
  { name: 'limit', label: 'care.ruleLimit', step: '0.1' },
  { name: 'forSeconds', label: 'care.ruleFor', step: undefined },
  { name: 'resolveSeconds', label: 'care.ruleResolve', step: undefined },
] as const satisfies readonly { name: string; label: MessageKey; step?: string }[];

/** A rule with its state; members change its numbers (limit, how long, repeat window, severity) in place. */
function RuleRow({
  rule,
  canManage,
  onChange,
}: {
  rule: CareRule;
  canManage: boolean;
  onChange: () => void;
}) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  const { busy, errors, run } = useSubmit([
    ...NUMBER_PARAMS.map(({ name }) => `params.${name}`),
    'dedupSeconds',
  ]);
  const p = rule.params as Partial<Record<(typeof NUMBER_PARAMS)[number]['name'], number>>;
  const save = (patch: Partial<CareRule>) =>
    run(async () => {
      await api.saveRule({ ...rule, ...patch });
      setEditing(false);
      onChange();
    });
  return (
    <li class={`rule rule-${rule.state}`} data-testid={`rule-${rule.id}`}>
      <strong>{rule.name}</strong> <SeverityTag severity={rule.severity} />{' '}
      <span class={`badge rule-state-${rule.state}`}>{t(`care.ruleState.${rule.state}` as MessageKey)}</span>
      <span class="muted"> · {describeRule(rule, t)}</span>
      {canManage ? (
        <>
          <label class="inline-check">
            <input
              type="checkbox"
              checked={rule.enabled}
              onChange={(e) => void save({ enabled: e.currentTarget.checked })}
            />{' '}
            {t('care.ruleOn')}
          </label>
          {!editing ? (
            <button type="button" class="btn btn-quiet" onClick={() => setEditing(true)}>
              {t('care.ruleEdit')}
            </button>
          ) : null}
        </>
      ) : null}
      {editing ? (
        <form
          class="form form-inline"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            const number = (name: string) => Number(form.get(name));
            const params = { ...rule.params };
            for (const { name } of NUMBER_PARAMS) if (form.has(name)) params[name] = number(name);
            void save({
              params,
              severity: String(form.get('severity')) as AlertSeverity,
              dedupSeconds: number('dedupMinutes') * 60,
            });
          }}
        >
          {NUMBER_PARAMS.filter(({ name }) => p[name] !== undefined).map(({ name, label, step }) => (
            <TextField
              key={name}
              label={t(label)}
              name={name}
              type="number"
              {...(step ? { step } : { min: '0' })}
              value={String(p[name])}
              error={errors.fields[`params.${name}`]}
            />
          ))}
          <TextField
            label={t('care.ruleDedup')}
            name="dedupMinutes"
            type="number"
            min="0"
            value={String(Math.round(rule.dedupSeconds / 60))}
            error={errors.fields.dedupSeconds}
          />
          <SelectField label={t('care.filter.severity')} name="severity" value={rule.severity}>
            {(['info', 'warning', 'emergency'] as const).map((severity) => (
              <option value={severity} key={severity}>
                {t(`care.severity.${severity}` as MessageKey)}
              </option>
            ))}
          </SelectField>
          <FormError message={errors.form} />
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {t('common.save')}
          </button>
          <button type="button" class="btn" onClick={() => setEditing(false)}>
            {t('common.cancel')}
          </button>
        </form>
      ) : null}
    </li>
  );
}

/** `/care/:id`: one person: state, controls, rules and their incidents. */
export function SubjectPage({ id }: { id: string }) {
  const t = useT();
  const subjectId = Number(id);
  const canManage = useCanManage();
  const detail = useResource(() => api.subject(subjectId));
  const incidents = useResource(async () => (await api.incidents({ subjectId, limit: 20 })).incidents);
  usePageTitle(detail.data?.subject.name ?? t('nav.care'));
  const latest = useLatestReadings(detail.data?.subject.deviceIds ?? []);
  useLive('alerts', () => {
    void detail.reload();
    void incidents.reload();
  });
  useLive('nodes', (change) => {
    if (change.change === 'readings' && detail.data?.subject.deviceIds.includes(change.id))
      void latest.reload();
  });
  if (detail.error && !detail.data) return <LoadError error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading />;
  const { subject, rules } = detail.data;
  return (
    <>
      <PageHeader title={subject.name}>
        <FollowToggle subject={subject} onChange={() => void detail.reload()} />
        <a class="btn" href="/care">
          <Icon name="back" />
          {t('nav.care')}
        </a>
      </PageHeader>
      <section class="card">
        <h2>{t('care.now')}</h2>
        {latest.data ? <StateTiles latest={latest.data} /> : <Loading />}
        <Controls subject={subject} nodeIds={subject.deviceIds} />
      </section>
      {subject.deviceIds.length > 0 ? (
        <section class="card">
          <h2>{t('care.history')}</h2>
          <HistoryChart subjectId={subject.id} kind="temperature" unit="°" />
        </section>
      ) : null}
      <section class="card">
        <h2>{t('care.rules')}</h2>
        {subject.quietHours ? (
          <p class="muted">{t('care.quietHoursAre', { span: subject.quietHours })}</p>
        ) : null}
        <ul class="plain-list" data-testid="rules">
          {rules.map((rule) => (
            <RuleRow key={rule.id} rule={rule} canManage={canManage} onChange={() => void detail.reload()} />
          ))}
        </ul>
      </section>
      <SubjectModels subject={subject} />
      <section>
        <h2 class="section-title">{t('care.incidents')}</h2>
        {incidents.data && incidents.data.length > 0 ? (
          <IncidentRows incidents={incidents.data} onChange={() => void incidents.reload()} />
        ) : (
          <p class="muted">{t('care.noIncidents')}</p>
        )}
      </section>
    </>
  );
}

/** `/incidents`: every incident, filtered. */
export function IncidentsPage() {
  const t = useT();
  usePageTitle(t('care.allIncidents'));
  const [filter, setFilter] = useState<IncidentFilter>({});
  const subjects = useResource(async () => (await api.subjects()).subjects);
  const list = useResource(async () => (await api.incidents({ ...filter, limit: 100 })).incidents);
  useLive('alerts', () => void list.reload());
  const choose = setFilter;
  const filterKey = JSON.stringify(filter);
  useEffect(() => void list.reload(), [filterKey]);
  return (
    <>
      <PageHeader title={t('care.allIncidents')}>
        <a class="btn" href="/care">
          <Icon name="back" />
          {t('nav.care')}
        </a>
      </PageHeader>
      <div class="card form form-inline" data-testid="incident-filters">
        <SelectField
          label={t('care.filter.state')}
          value={filter.state ?? ''}
          onChange={(e) =>
            choose({ ...filter, state: (e.currentTarget.value || undefined) as IncidentFilter['state'] })
          }
        >
          <option value="">{t('care.filter.any')}</option>
          {(['unresolved', 'open', 'acknowledged', 'resolved'] as const).map((state) => (
            <option value={state} key={state}>
              {t(`care.filter.state.${state}` as MessageKey)}
            </option>
          ))}
        </SelectField>
        <SelectField
          label={t('care.filter.severity')}
          value={filter.severity ?? ''}
          onChange={(e) =>
            choose({ ...filter, severity: (e.currentTarget.value || undefined) as AlertSeverity | undefined })
          }
        >
          <option value="">{t('care.filter.any')}</option>
          {(['emergency', 'warning', 'info'] as const).map((severity) => (
            <option value={severity} key={severity}>
              {t(`care.severity.${severity}` as MessageKey)}
            </option>
          ))}
        </SelectField>
        <SelectField
          label={t('care.filter.subject')}
          value={filter.subjectId === undefined ? '' : String(filter.subjectId)}
          onChange={(e) =>
            choose({
              ...filter,
              subjectId: e.currentTarget.value ? Number(e.currentTarget.value) : undefined,
            })
          }
        >
          <option value="">{t('care.filter.any')}</option>
          {(subjects.data ?? []).map((subject) => (
            <option value={String(subject.id)} key={subject.id}>
              {subject.name}
            </option>
          ))}
        </SelectField>
      </div>
      {list.error && !list.data ? (
        <LoadError error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading />
      ) : list.data.length === 0 ? (
        <p class="empty">{t('care.noIncidents')}</p>
      ) : (
        <IncidentRows incidents={list.data} onChange={() => void list.reload()} />
      )}
    </>
  );
}

/** `/incidents/:id`: what happened, what made it fire, who was told and who answered. */
export function IncidentPage({ id }: { id: string }) {
  const t = useT();
  const formatTime = useFormatTime();
  const canManage = useCanManage();
  const incidentId = Number(id);
  const detail = useResource(() => api.incident(incidentId));
  const { busy, errors, run } = useSubmit(['text']);
  usePageTitle(detail.data?.incident.title ?? t('care.allIncidents'));
  useLive('alerts', (change) => {
    if ('incident' in change && change.incident.id === incidentId) void detail.reload();
  });
  if (detail.error && !detail.data) return <LoadError error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading />;
  const { incident, log } = detail.data;
  return (
    <>
      <PageHeader title={incident.title}>
        <SeverityTag severity={incident.severity} />
        <IncidentState incident={incident} />
        <a class="btn" href="/incidents">
          <Icon name="back" />
          {t('care.allIncidents')}
        </a>
      </PageHeader>
      <section class="card">
        <p>{t('care.firedAt', { time: formatTime(incident.firedAt) })}</p>
        <AcknowledgeButton incident={incident} onDone={() => void detail.reload()} />
        <h2>{t('care.evidence')}</h2>
        <table class="table" data-testid="evidence">
          <thead>
            <tr>
              <th>{t('nodes.when')}</th>
              <th>{t('nodes.kind')}</th>
              <th>{t('nodes.value')}</th>
            </tr>
          </thead>
          <tbody>
            {incident.evidence.map((reading, index) => (
              <tr key={index}>
                <td>{formatTime(reading.at)}</td>
                <td>{reading.kind}</td>
                <td>{reading.value ?? reading.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>{t('care.log')}</h2>
        <ol class="plain-list" data-testid="incident-log">
          {log.map((entry, index) => (
            <li key={index}>
              {formatTime(entry.at)} · {t(`care.log.${entry.kind}` as MessageKey)}
              {entry.userName ? ` · ${entry.userName}` : ''}
              {entry.kind === 'note' && entry.detail ? ` · ${String(entry.detail.text)}` : ''}
              {entry.kind === 'notified' && entry.detail
                ? ` · ${t('care.log.people', { count: (entry.detail.userIds as number[]).length })}`
                : ''}
            </li>
          ))}
        </ol>
        {canManage ? (
          <form
            class="form"
            noValidate
            onSubmit={async (e) => {
              e.preventDefault();
              const form = e.currentTarget;
              const text = String(new FormData(form).get('text') ?? '').trim();
              if (!text) return;
              await run(async () => {
                await api.addIncidentNote(incidentId, text);
                form.reset();
                void detail.reload();
              });
            }}
          >
            <TextField label={t('care.note')} name="text" error={errors.fields.text} />
            <FormError message={errors.form} />
            <button type="submit" class="btn" disabled={busy}>
              {t('care.addNote')}
            </button>
          </form>
        ) : null}
      </section>
    </>
  );
}
