import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type Severity, type SystemEvent } from '../api';
import { EventList } from '../components/events';
import { LoadError, Loading, PageHeader } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';

const PAGE = 50;
const SEVERITIES: Severity[] = ['info', 'warning', 'error', 'critical'];
const rank = (s: Severity) => SEVERITIES.indexOf(s);

export function EventsPage() {
  const t = useT();
  usePageTitle(t('nav.events'));
  const [minSeverity, setMinSeverity] = useState<Severity>('info');
  const [events, setEvents] = useState<SystemEvent[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const sequence = useRef(0);

  const loadFirst = useCallback(async (severity: Severity) => {
    const mine = ++sequence.current;
    setError(null);
    try {
      const query = severity === 'info' ? { limit: PAGE } : { limit: PAGE, minSeverity: severity };
      const page = (await api.listSystemEvents(query)).events;
      if (mine !== sequence.current) return;
      setEvents(page);
      setHasMore(page.length === PAGE);
      setFresh(new Set());
    } catch (e) {
      if (mine === sequence.current) setError(e);
    }
  }, []);

  useEffect(() => {
    setEvents(null);
    void loadFirst(minSeverity);
  }, [minSeverity, loadFirst]);

  const loadOlder = async () => {
    const oldest = events?.[events.length - 1];
    if (!oldest) return;
    const mine = sequence.current;
    setLoadingOlder(true);
    try {
      const query = { before: oldest.id, limit: PAGE, ...(minSeverity === 'info' ? {} : { minSeverity }) };
      const page = (await api.listSystemEvents(query)).events;
      if (mine !== sequence.current) return;
      setEvents((list) => {
        const known = new Set((list ?? []).map((e) => e.id));
        return [...(list ?? []), ...page.filter((e) => !known.has(e.id))];
      });
      setHasMore(page.length === PAGE);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingOlder(false);
    }
  };

  useLive('system', (event) => {
    if (rank(event.severity) < rank(minSeverity)) return;
    setEvents((list) => {
      if (!list || list.some((e) => e.id === event.id)) return list;
      return [event, ...list].sort((a, b) => b.id - a.id);
    });
    setFresh((ids) => new Set(ids).add(event.id));
  });
  useLive('resync', () => void loadFirst(minSeverity));

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
      {error ? <LoadError error={error} onRetry={() => void loadFirst(minSeverity)} /> : null}
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
