import { useState } from 'preact/hooks';
import { api, type Severity, type SystemEvent } from '../api';
import { EventList } from '../components/events';
import { LoadError, Loading, PageHeader } from '../components/ui';
import { usePagedList, usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';

const PAGE = 50;
const SEVERITIES: Severity[] = ['info', 'warning', 'error', 'critical'];
const rank = (s: Severity) => SEVERITIES.indexOf(s);

export function EventsPage() {
  const t = useT();
  usePageTitle(t('nav.events'));
  const [minSeverity, setMinSeverity] = useState<Severity>('info');
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const {
    items: events,
    setItems: setEvents,
    error,
    hasMore,
    loadingOlder,
    reload,
    loadOlder,
  } = usePagedList<SystemEvent>(
    async (before) => {
      const query = { limit: PAGE, ...(before === undefined ? {} : { before }) };
      return (await api.listSystemEvents(minSeverity === 'info' ? query : { ...query, minSeverity })).events;
    },
    PAGE,
    minSeverity,
  );
  const loadFirst = () => {
    setFresh(new Set());
    void reload();
  };

  useLive('system', (event) => {
    if (rank(event.severity) < rank(minSeverity)) return;
    setEvents((list) => {
      if (!list || list.some((e) => e.id === event.id)) return list;
      return [event, ...list].sort((a, b) => b.id - a.id);
    });
    setFresh((ids) => new Set(ids).add(event.id));
  });
  useLive('resync', loadFirst);

  return (
    <>
      <PageHeader title={t('nav.events')}>
        <label class="inline-field">
          <span>{t('events.minSeverity')}</span>
          <select
            value={minSeverity}
            onChange={(e) => setMinSeverity(e.currentTarget.value as Severity)}
            aria-label={t('events.minSeverity')}
          >
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s === 'info'
                  ? t('events.allSeverities')
                  : t('events.atLeast', { severity: t(`severity.${s}`) })}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <p class="muted small">{t('events.liveHint')}</p>
      {error ? <LoadError error={error} onRetry={loadFirst} /> : null}
      {events === null ? (
        error ? null : (
          <Loading />
        )
      ) : events.length === 0 ? (
        <p class="empty">{minSeverity === 'info' ? t('events.empty') : t('events.emptyFiltered')}</p>
      ) : (
        <div class="card card-flush">
          <EventList events={events} fresh={fresh} />
        </div>
      )}
      {events && hasMore ? (
        <div class="actions center">
          <button type="button" class="btn" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? t('common.loading') : t('events.loadOlder')}
          </button>
        </div>
      ) : events && events.length > 0 ? (
        <p class="muted small center">{t('events.end')}</p>
      ) : null}
    </>
  );
}
