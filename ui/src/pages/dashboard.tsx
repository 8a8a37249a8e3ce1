import { api, type SystemEvent } from '../api';
import { cameraStatus, useCameras } from '../cameras';
import { StorageBanner } from '../components/camera';
import { EventList } from '../components/events';
import { LoadError, Loading, PageHeader, useResource } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';
import { SubjectCard } from './care';

const RECENT = 6;

export function DashboardPage() {
  const t = useT();
  usePageTitle(t('nav.dashboard'));
  const devices = useResource(async () => (await api.listDevices()).devices);
  const cameras = useCameras();
  const events = useResource(async () => (await api.listSystemEvents({ limit: RECENT })).events);
  const subjects = useResource(async () => (await api.subjects()).subjects);
  useLive('alerts', (change) => {
    if (change.change === 'subjects') void subjects.reload();
  });

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

  const cams = cameras.data ?? [];
  const camCount = (...states: string[]) => cams.filter((c) => states.includes(cameraStatus(c))).length;
  const camStats = [
    { key: 'recording', label: t('dashboard.camerasRecording'), value: camCount('recording', 'starting') },
    { key: 'trouble', label: t('dashboard.camerasTrouble'), value: camCount('reconnecting', 'failed') },
    { key: 'off', label: t('dashboard.camerasOff'), value: camCount('idle', 'photos', 'disabled') },
  ];

  return (
    <>
      <PageHeader title={t('nav.dashboard')} />
      <StorageBanner />
      {subjects.data && subjects.data.length > 0 ? (
        <section aria-labelledby="people-summary">
          <div class="section-head">
            <h2 id="people-summary">{t('nav.care')}</h2>
            <a href="/care" class="link">
              {t('care.allIncidents')}
            </a>
          </div>
          <div class="subject-grid">
            {subjects.data.map((subject) => (
              <SubjectCard key={subject.id} subject={subject} onChange={() => void subjects.reload()} />
            ))}
          </div>
        </section>
      ) : null}
      <section aria-labelledby="cameras-summary">
        <div class="section-head">
          <h2 id="cameras-summary">{t('nav.cameras')}</h2>
          <a href="/cameras" class="link">
            {t('dashboard.allCameras')}
          </a>
        </div>
        {cameras.error && !cameras.data ? (
          <LoadError error={cameras.error} onRetry={cameras.reload} />
        ) : (
          <div class="stats">
            {camStats.map((s) => (
              <a key={s.key} href="/cameras" class={`stat stat-cam-${s.key}`}>
                <span class="stat-value">{cameras.data ? s.value : '–'}</span>
                <span class="stat-label">{s.label}</span>
              </a>
            ))}
          </div>
        )}
      </section>
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
