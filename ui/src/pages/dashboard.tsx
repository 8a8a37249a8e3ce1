import { api, type SystemEvent } from '../api';
import { EventList } from '../components/events';
import { LoadError, Loading, PageHeader, useResource } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';

const RECENT = 6;

export function DashboardPage() {
  const t = useT();
  usePageTitle(t('nav.dashboard'));
  const devices = useResource(async () => (await api.listDevices()).devices);
  const events = useResource(async () => (await api.listSystemEvents({ limit: RECENT })).events);

  useLive('devices', () => void devices.reload());
  useLive('system', (event: SystemEvent) =>
    events.update((list) => [event, ...(list ?? []).filter((e) => e.id !== event.id)].slice(0, RECENT)),
  );
  useLive('resync', () => {
    void devices.reload();
    void events.reload();
  });

  const list = devices.data ?? [];
  const count = (status: string) => list.filter((d) => d.status === status).length;
  const stats = [
    { key: 'online', label: t('dashboard.online'), value: count('online') },
    { key: 'offline', label: t('dashboard.offline'), value: count('offline') },
    { key: 'new', label: t('dashboard.new'), value: count('new') },
  ];

  return (
    <>
      <PageHeader title={t('nav.dashboard')} />
      <section aria-labelledby="devices-summary">
        <div class="section-head">
          <h2 id="devices-summary">{t('dashboard.devices')}</h2>
          <a href="/devices" class="link">
            {t('dashboard.allDevices')}
          </a>
        </div>
        {devices.error && !devices.data ? (
          <LoadError error={devices.error} onRetry={devices.reload} />
        ) : (
          <div class="stats">
            {stats.map((s) => (
              <div key={s.key} class={`stat stat-${s.key}`}>
                <span class="stat-value">{devices.data ? s.value : '–'}</span>
                <span class="stat-label">{s.label}</span>
              </div>
            ))}
          </div>
        )}
        {devices.data && list.length === 0 ? <p class="muted">{t('dashboard.noDevices')}</p> : null}
      </section>
      <section aria-labelledby="recent-events" class="card">
        <div class="section-head">
          <h2 id="recent-events">{t('dashboard.recentEvents')}</h2>
          <a href="/events" class="link">
            {t('dashboard.allEvents')}
          </a>
        </div>
        {events.error && !events.data ? (
          <LoadError error={events.error} onRetry={events.reload} />
        ) : !events.data ? (
          <Loading />
        ) : events.data.length === 0 ? (
          <p class="muted">{t('events.empty')}</p>
        ) : (
          <EventList events={events.data} />
        )}
      </section>
    </>
  );
}
