import { useState } from 'preact/hooks';
import { type AlertChannel, type AlertChannelStatus, ApiError, api } from '../api';
import { useIsOwner } from '../cameras';
import { Icon } from '../components/icons';
import {
  Alert,
  CheckboxField,
  errorMessage,
  LoadError,
  Loading,
  PageHeader,
  SelectField,
  TextField,
  useResource,
} from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { type MessageKey, useT } from '../i18n';
import { useLive } from '../live';

const TYPES: AlertChannel['type'][] = ['webhook', 'ntfy', 'mqtt'];

function blank(type: AlertChannel['type'], taken: string[]): AlertChannel {
  let n = 1;
  while (taken.includes(`${type}-${n}`)) n += 1;
  const base = { id: `${type}-${n}`, name: '', enabled: true, minSeverity: 'warning' as const };
  if (type === 'webhook') return { ...base, type, url: '' };
  if (type === 'ntfy') return { ...base, type, server: '', topic: 'hearth' };
  return { ...base, type, url: '', topic: 'hearth/alerts', qos: 1 };
}

/** What a channel's delivery looks like now: fine, failing (with the reason), or not tried yet. */
function ChannelState({ status }: { status: AlertChannelStatus | undefined }) {
  const t = useT();
  const formatTime = useFormatTime();
  if (!status || status.lastAttemptAt === null) return <span class="muted">{t('channels.notTried')}</span>;
  if (status.consecutiveFailures > 0)
    return (
      <span class="badge status-offline" data-testid="channel-failing">
        {t('channels.failing', { count: status.consecutiveFailures, error: status.lastError ?? '' })}
      </span>
    );
  return (
    <span class="badge status-online">
      {t('channels.delivered', { time: formatTime(status.lastSuccessAt) })}
    </span>
  );
}

/** `/settings/alerts` (owner): the household's webhook, ntfy and MQTT channels, their health and a test. */
export function AlertChannelsPage() {
  const t = useT();
  usePageTitle(t('channels.title'));
  const isOwner = useIsOwner();
  const view = useResource(() => api.notifyChannels());
  // Who may acknowledge: a channel can be one of theirs (their own ntfy topic, say).
  const people = useResource(async () =>
    (await api.listUsers()).users.filter((user) => user.role !== 'viewer'),
  );
  const [draft, setDraft] = useState<AlertChannel[] | null>(null);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [note, setNote] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useLive('notify', () => void view.reload());
  if (!isOwner) return <Alert kind="info">{t('channels.ownerOnly')}</Alert>;
  if (view.error && !view.data) return <LoadError error={view.error} onRetry={view.reload} />;
  if (!view.data) return <Loading />;
  const channels = draft ?? view.data.channels;
  const change = (index: number, patch: Partial<AlertChannel>) =>
    setDraft(
      channels.map((channel, i) => (i === index ? ({ ...channel, ...patch } as AlertChannel) : channel)),
    );
  const field = (index: number, name: string) => issues[`channels.${index}.${name}`];

  const save = async () => {
    setBusy(true);
    setNote(null);
    setIssues({});
    try {
      await api.saveNotifyChannels(channels);
      setDraft(null);
      await view.reload();
      setNote({ kind: 'success', text: t('channels.saved') });
    } catch (error) {
      const details =
        error instanceof ApiError
          ? (error.details as { issues?: { path: string; message: string }[] })
          : undefined;
      setIssues(Object.fromEntries((details?.issues ?? []).map((issue) => [issue.path, issue.message])));
      setNote({ kind: 'error', text: errorMessage(error, t) });
    } finally {
      setBusy(false);
    }
  };

  const test = async (id: string) => {
    setNote(null);
    try {
      const answer = await api.testNotifyChannel(id);
      setNote(
        answer.ok
          ? { kind: 'success', text: t('channels.testOk') }
          : { kind: 'error', text: t('channels.testFailed', { error: answer.error ?? '' }) },
      );
      await view.reload();
    } catch (error) {
      setNote({ kind: 'error', text: errorMessage(error, t) });
    }
  };

  return (
    <>
      <PageHeader title={t('channels.title')}>
        <a class="btn" href="/settings">
          <Icon name="back" />
          {t('nav.settings')}
        </a>
      </PageHeader>
      <p class="hint">{t('channels.intro')}</p>
      {channels.length === 0 ? <p class="empty">{t('channels.empty')}</p> : null}
      {channels.map((channel, index) => (
        <section class="card form" key={channel.id} data-testid={`channel-${channel.id}`}>
          <div class="card-head">
            <h2>{channel.name || t(`channels.type.${channel.type}` as MessageKey)}</h2>
            <ChannelState status={view.data!.status.find((s) => s.id === channel.id)} />
          </div>
          <TextField
            label={t('channels.name')}
            value={channel.name}
            error={field(index, 'name')}
            onInput={(e) => change(index, { name: e.currentTarget.value })}
          />
          {channel.type === 'ntfy' ? (
            <>
              <TextField
                label={t('channels.server')}
                placeholder="http://ntfy.lan"
                value={channel.server}
                error={field(index, 'server')}
                onInput={(e) => change(index, { server: e.currentTarget.value })}
              />
              <TextField
                label={t('channels.topic')}
                value={channel.topic}
                error={field(index, 'topic')}
                onInput={(e) => change(index, { topic: e.currentTarget.value })}
              />
            </>
          ) : (
            <TextField
              label={t('channels.url')}
              placeholder={
                channel.type === 'mqtt'
                  ? 'mqtt://homeassistant.local'
                  : 'http://homeassistant.local:8123/api/webhook/hearth'
              }
              value={channel.url}
              error={field(index, 'url')}
              onInput={(e) => change(index, { url: e.currentTarget.value })}
            />
          )}
          <SelectField
            label={t('channels.minSeverity')}
            value={channel.minSeverity}
            onChange={(e) =>
              change(index, { minSeverity: e.currentTarget.value as AlertChannel['minSeverity'] })
            }
          >
            {(['info', 'warning', 'emergency'] as const).map((severity) => (
              <option key={severity} value={severity}>
                {t(`care.severity.${severity}` as MessageKey)}
              </option>
            ))}
          </SelectField>
          <SelectField
            label={t('channels.member')}
            value={channel.memberId === undefined ? '' : String(channel.memberId)}
            error={field(index, 'memberId')}
            onChange={(e) => {
              const picked = e.currentTarget.value;
              change(index, { memberId: picked === '' ? undefined : Number(picked) });
            }}
          >
            <option value="">{t('channels.member.household')}</option>
            {(people.data ?? []).map((user) => (
              <option key={user.id} value={String(user.id)}>
                {user.displayName}
              </option>
            ))}
          </SelectField>
          <CheckboxField
            label={t('channels.enabled')}
            checked={channel.enabled}
            onChange={(e) => change(index, { enabled: e.currentTarget.checked })}
          />
          <div class="actions">
            {draft === null ? (
              <button type="button" class="btn" onClick={() => void test(channel.id)}>
                {t('channels.test')}
              </button>
            ) : null}
            <button
              type="button"
              class="btn btn-quiet"
              onClick={() => setDraft(channels.filter((_, i) => i !== index))}
            >
              {t('common.remove')}
            </button>
          </div>
        </section>
      ))}
      <div class="actions">
        {TYPES.map((type) => (
          <button
            type="button"
            class="btn"
            key={type}
            onClick={() =>
              setDraft([
                ...channels,
                blank(
                  type,
                  channels.map((c) => c.id),
                ),
              ])
            }
          >
            <Icon name="plus" />
            {t(`channels.type.${type}` as MessageKey)}
          </button>
        ))}
      </div>
      {note ? <Alert kind={note.kind}>{note.text}</Alert> : null}
      {draft !== null ? (
        <div class="actions">
          <button type="button" class="btn btn-primary" disabled={busy} onClick={() => void save()}>
            {busy ? t('common.working') : t('common.save')}
          </button>
          <button type="button" class="btn" onClick={() => setDraft(null)}>
            {t('common.cancel')}
          </button>
        </div>
      ) : null}
    </>
  );
}
