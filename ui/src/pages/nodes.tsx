import { useState } from 'preact/hooks';
import { api, type EdgeNode, type NodeCommandKind, type NodeCommandView } from '../api';
import { useCanManage, useIsOwner } from '../cameras';
import { Icon } from '../components/icons';
import {
  Alert,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  StatusBadge,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { formatBytes } from '../format';
import { useFormatTime, usePageTitle } from '../hooks';
import { type MessageKey, useLocale, useT } from '../i18n';
import { useLive } from '../live';

/** Reading kinds with a name in both languages; others are shown as the node sent them. */
const KNOWN_KINDS = new Set(['temperature', 'crying', 'direction', 'door', 'motion', 'button', 'battery']);

/** The owner makes a one-time code; the node's installer types it into `hearth-node enrol`. */
function AddNode({ onDone }: { onDone: () => void }) {
  const t = useT();
  const formatTime = useFormatTime();
  const { busy, errors, setErrors, run } = useSubmit(['name']);
  const [made, setMade] = useState<{ name: string; code: string; expiresAt: number } | null>(null);
  if (made)
    return (
      <section class="card" data-testid="node-code">
        <h2>{t('nodes.codeFor', { name: made.name })}</h2>
        <p>
          <code class="node-code-value">{made.code}</code>
        </p>
        <p>{t('nodes.codeHowTo')}</p>
        <pre class="command-line">{`hearth-node enrol --hub ${location.origin} --code ${made.code}`}</pre>
        <p class="muted">{t('nodes.codeExpires', { time: formatTime(made.expiresAt) })}</p>
        <div class="actions">
          <button type="button" class="btn" onClick={onDone}>
            {t('common.close')}
          </button>
        </div>
      </section>
    );
  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
        if (!name) return setErrors({ fields: { name: t('form.required') } });
        await run(async () => setMade({ name, ...(await api.nodeCode(name)) }));
      }}
    >
      <h2>{t('nodes.add')}</h2>
      <TextField
        label={t('nodes.name')}
        hint={t('nodes.nameHint')}
        name="name"
        autocomplete="off"
        error={errors.fields.name}
      />
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('nodes.makeCode')}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function NodeFacts({ node }: { node: EdgeNode }) {
  const t = useT();
  const locale = useLocale();
  const formatTime = useFormatTime();
  const beat = node.heartbeat;
  if (!beat) return <p class="muted">{t('nodes.noHeartbeat')}</p>;
  const free = (bytes: number, total: number) =>
    t('nodes.free', {
      free: formatBytes(bytes, locale),
      percent: total ? Math.round((bytes / total) * 100) : 0,
    });
  return (
    <dl class="pairs" data-testid="node-facts">
      <dt>{t('nodes.lastHeartbeat')}</dt>
      <dd>{node.heartbeatAt ? formatTime(node.heartbeatAt) : '—'}</dd>
      <dt>{t('nodes.version')}</dt>
      <dd>{beat.version}</dd>
      <dt>{t('nodes.cpu')}</dt>
      <dd>
        {beat.cpuTemperatureC === null
          ? t('nodes.load', { load: beat.load1 })
          : t('nodes.cpuTemperature', { celsius: beat.cpuTemperatureC, load: beat.load1 })}
      </dd>
      <dt>{t('nodes.memory')}</dt>
      <dd>{free(beat.memory.availableBytes, beat.memory.totalBytes)}</dd>
      <dt>{t('nodes.disk')}</dt>
      <dd>{free(beat.disks.state.freeBytes, beat.disks.state.totalBytes)}</dd>
      <dt>{t('nodes.nas')}</dt>
      <dd>
        {beat.disks.nas ? free(beat.disks.nas.freeBytes, beat.disks.nas.totalBytes) : t('nodes.nasNone')}
      </dd>
      <dt>{t('nodes.clock')}</dt>
      <dd>
        {beat.clockSynced === null
          ? t('nodes.clockUnknown')
          : beat.clockSynced
            ? t('nodes.clockSynced')
            : t('nodes.clockNotSynced')}
      </dd>
      <dt>{t('nodes.outbox')}</dt>
      <dd>{t('nodes.outboxFigures', { pending: beat.outbox.pending, dropped: beat.outbox.dropped })}</dd>
      <dt>{t('nodes.sensors')}</dt>
      <dd>
        {beat.sensors.length === 0
          ? t('nodes.none')
          : beat.sensors.map((sensor) => (
              <span
                key={sensor.name}
                class={sensor.healthy ? 'badge status-online' : 'badge status-offline'}
                title={sensor.detail}
              >
                {sensor.name}: {sensor.healthy ? t('nodes.healthy') : (sensor.detail ?? t('nodes.unhealthy'))}
              </span>
            ))}
      </dd>
    </dl>
  );
}

export function NodesPage() {
  const t = useT();
  usePageTitle(t('nav.nodes'));
  const isOwner = useIsOwner();
  const formatTime = useFormatTime();
  const nodes = useResource(async () => (await api.listNodes()).nodes);
  const [adding, setAdding] = useState(false);
  useLive('nodes', (change) => {
    if (change.change === 'heartbeat') void nodes.reload();
  });
  useLive('devices', () => void nodes.reload());
  useLive('resync', () => void nodes.reload());
  return (
    <>
      <PageHeader title={t('nav.nodes')}>
        {isOwner && !adding ? (
          <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
            <Icon name="plus" />
            {t('nodes.add')}
          </button>
        ) : null}
      </PageHeader>
      {adding ? <AddNode onDone={() => setAdding(false)} /> : null}
      {nodes.error && !nodes.data ? (
        <LoadError error={nodes.error} onRetry={nodes.reload} />
      ) : !nodes.data ? (
        <Loading />
      ) : nodes.data.length === 0 ? (
        <p class="empty">{t('nodes.empty')}</p>
      ) : (
        <ul class="card card-flush rows" data-testid="nodes">
          {nodes.data.map((node) => (
            <li class="row" key={node.id}>
              <div class="row-main">
                <div class="row-title">
                  <a href={`/nodes/${node.id}`}>
                    <strong>{node.name}</strong>
                  </a>
                  <StatusBadge status={node.status} />
                </div>
                <p class="row-meta">
                  <span>
                    {node.heartbeatAt
                      ? t('nodes.heardAt', { time: formatTime(node.heartbeatAt) })
                      : t('nodes.noHeartbeat')}
                  </span>
                  {node.heartbeat ? (
                    <span>
                      {t('nodes.outboxFigures', {
                        pending: node.heartbeat.outbox.pending,
                        dropped: node.heartbeat.outbox.dropped,
                      })}
                    </span>
                  ) : null}
                </p>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const COMMAND_LABEL: Record<NodeCommandKind, MessageKey> = {
  rock: 'nodes.command.rock',
  stop_rocking: 'nodes.command.stop_rocking',
  capture_photo: 'nodes.command.capture_photo',
  check_in: 'nodes.command.check_in',
  restart: 'nodes.command.restart',
};

function Commands({ nodeId, commands }: { nodeId: number; commands: NodeCommandView[] }) {
  const t = useT();
  const formatTime = useFormatTime();
  const canManage = useCanManage();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const send = async (kind: NodeCommandKind, extra: { seconds?: number } = {}) => {
    setBusy(true);
    setError(null);
    try {
      await api.nodeCommand(nodeId, { kind, ...extra });
    } catch (e) {
      setError(errorMessage(e, t));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card">
      <h2>{t('nodes.commands')}</h2>
      {canManage ? (
        <div class="actions">
          <button
            type="button"
            class="btn btn-primary"
            disabled={busy}
            onClick={() => void send('rock', { seconds: 60 })}
          >
            {t('nodes.rockMinute')}
          </button>
          <button type="button" class="btn" disabled={busy} onClick={() => void send('stop_rocking')}>
            {t('nodes.command.stop_rocking')}
          </button>
          <button type="button" class="btn btn-quiet" disabled={busy} onClick={() => void send('restart')}>
            {t('nodes.command.restart')}
          </button>
        </div>
      ) : null}
      {error ? <Alert kind="error">{error}</Alert> : null}
      {commands.length === 0 ? (
        <p class="muted">{t('nodes.noCommands')}</p>
      ) : (
        <ul class="plain-list" data-testid="node-commands">
          {commands.map((command) => (
            <li key={command.id}>
              {t(COMMAND_LABEL[command.kind])} · {formatTime(command.createdAt)} ·{' '}
              <span class={`badge command-${command.state}`}>
                {t(`nodes.state.${command.state}` as MessageKey)}
              </span>
              {command.detail ? <span class="muted"> · {command.detail}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function NodePage({ id }: { id: string }) {
  const t = useT();
  const formatTime = useFormatTime();
  const nodeId = Number(id);
  const detail = useResource(() => api.node(nodeId));
  usePageTitle(detail.data?.node.name ?? t('nav.nodes'));
  useLive('nodes', (change) => {
    if (change.id === nodeId) void detail.reload();
  });
  useLive('devices', () => void detail.reload());
  useLive('resync', () => void detail.reload());
  if (detail.error && !detail.data) return <LoadError error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading />;
  const { node, commands, latest } = detail.data;
  return (
    <>
      <PageHeader title={node.name}>
        <StatusBadge status={node.status} />
        <a class="btn" href="/nodes">
          <Icon name="back" />
          {t('nav.nodes')}
        </a>
      </PageHeader>
      <section class="card">
        <h2>{t('nodes.health')}</h2>
        <NodeFacts node={node} />
      </section>
      <Commands nodeId={node.id} commands={commands} />
      <section class="card">
        <h2>{t('nodes.latest')}</h2>
        {latest.length === 0 ? (
          <p class="muted">{t('nodes.noReadings')}</p>
        ) : (
          <table class="table" data-testid="node-readings">
            <thead>
              <tr>
                <th>{t('nodes.sensor')}</th>
                <th>{t('nodes.kind')}</th>
                <th>{t('nodes.value')}</th>
                <th>{t('nodes.when')}</th>
              </tr>
            </thead>
            <tbody>
              {latest.map((reading) => (
                <tr key={`${reading.sensor}/${reading.kind}`}>
                  <td>{reading.sensor}</td>
                  <td>
                    {KNOWN_KINDS.has(reading.kind)
                      ? t(`nodes.kind.${reading.kind}` as MessageKey)
                      : reading.kind}
                  </td>
                  <td>{reading.value ?? reading.state}</td>
                  <td>{formatTime(reading.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
