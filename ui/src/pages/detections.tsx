import { useMemo } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, DETECTION_LABELS, type DetectionEvent, type DetectionLabel, isMissingEndpoint } from '../api';
import { useCameras, useIsOwner } from '../cameras';
import { DayNav, useHouseholdZone } from '../components/day-nav';
import {
  applyDetectionChange,
  DetectionThumb,
  detectionLabel,
  durationText,
  playbackLink,
} from '../components/detections';
import { Alert, ConfirmButton, errorMessage, LoadError, Loading, PageHeader } from '../components/ui';
import { usePagedList, usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';
import { clockText, dayBounds, dayOf, isDay } from '../time';

const PAGE = 100;

interface Filter {
  day: string;
  cameraId: string | undefined;
  label: DetectionLabel | undefined;
}

/** The filter lives in the address (`?day=&camera=&label=`), so a view can be shared and Back works. */
function filterLink(filter: Filter): string {
  const query = new URLSearchParams({ day: filter.day });
  if (filter.cameraId) query.set('camera', filter.cameraId);
  if (filter.label) query.set('label', filter.label);
  return `/detections?${query}`;
}

export function DetectionsPage() {
  const { query } = useRoute();
  const zone = useHouseholdZone();
  if (!zone) return <Loading />;
  const filter: Filter = {
    day: isDay(query.day) ? query.day : dayOf(Date.now(), zone),
    cameraId: query.camera || undefined,
    label: DETECTION_LABELS.find((label) => label === query.label),
  };
  return <DetectionsView key={`${filterLink(filter)}|${zone}`} filter={filter} zone={zone} />;
}

function DetectionsView({ filter, zone }: { filter: Filter; zone: string }) {
  const t = useT();
  usePageTitle(t('nav.detections'));
  const { route } = useLocation();
  const isOwner = useIsOwner();
  const cameras = useCameras();
  const cameraName = (id: string) => cameras.data?.find((camera) => camera.id === id)?.name ?? id;
  const { start, end } = useMemo(() => dayBounds(filter.day, zone), [filter.day, zone]);
  const today = dayOf(Date.now(), zone);

  const query = { day: filter.day, cameraId: filter.cameraId, label: filter.label, limit: PAGE };
  // The view is keyed by its filter: one list per mount.
  const {
    items: events,
    setItems: setEvents,
    error,
    setError,
    hasMore,
    loadingOlder,
    reload: loadFirst,
    loadOlder,
  } = usePagedList<DetectionEvent>(
    async (before) => (await api.detections(before === undefined ? query : { ...query, before })).events,
    PAGE,
    '',
  );

  const belongs = (event: DetectionEvent) =>
    event.startAt >= start &&
    event.startAt < end &&
    (!filter.cameraId || event.cameraId === filter.cameraId) &&
    (!filter.label || event.label === filter.label);
  useLive('detections', (change) => setEvents((list) => list && applyDetectionChange(list, change, belongs)));
  useLive('resync', () => void loadFirst());

  const filtered = Boolean(filter.cameraId || filter.label);
  let body = null;
  if (error && !events)
    body = isMissingEndpoint(error) ? (
      <Alert kind="error">{t('detections.unavailable')}</Alert>
    ) : (
      <LoadError error={error} onRetry={() => void loadFirst()} />
    );
  else if (events === null) body = <Loading />;
  else if (events.length === 0)
    body = <p class="empty">{filtered ? t('detections.emptyFiltered') : t('detections.empty')}</p>;
  else
    body = (
      <ol class="detections" aria-label={t('nav.detections')}>
        {events.map((event) => {
          const time = clockText(event.startAt, zone);
          return (
            <li key={event.id} class="detection" data-testid="detection" data-id={event.id}>
              <a
                class="detection-link"
                href={playbackLink(event, zone)}
                title={t('detections.play', { time })}
              >
                <DetectionThumb event={event} t={t} />
                <span class="detection-text">
                  <span class="detection-title">
                    <strong class={`detection-label label-${event.label}`}>
                      {detectionLabel(t, event.label)}
                    </strong>
                    <span>{cameraName(event.cameraId)}</span>
                  </span>
                  <span class="detection-meta">
                    <time dateTime={new Date(event.startAt).toISOString()}>{time}</time>
                    <span>{durationText(event, t)}</span>
                    <span>{t('detections.score', { percent: Math.round(event.score * 100) })}</span>
                    {event.zone ? <span>{t('detections.zone', { zone: event.zone })}</span> : null}
                  </span>
                </span>
              </a>
              {isOwner ? (
                <ConfirmButton
                  label={t('detections.delete')}
                  confirmLabel={t('detections.deleteConfirm')}
                  onConfirm={async () => {
                    try {
                      await api.deleteDetection(event.id);
                      setEvents((list) => list?.filter((e) => e.id !== event.id) ?? null);
                    } catch (e) {
                      setError(e);
                    }
                  }}
                />
              ) : null}
            </li>
          );
        })}
      </ol>
    );

  return (
    <>
      <PageHeader title={t('nav.detections')}>
        <label class="inline-field">
          <span>{t('detections.camera')}</span>
          <select
            value={filter.cameraId ?? ''}
            onChange={(e) => route(filterLink({ ...filter, cameraId: e.currentTarget.value || undefined }))}
          >
            <option value="">{t('detections.allCameras')}</option>
            {(cameras.data ?? []).map((camera) => (
              <option key={camera.id} value={camera.id}>
                {camera.name}
              </option>
            ))}
            {filter.cameraId && !cameras.data?.some((c) => c.id === filter.cameraId) ? (
              <option value={filter.cameraId}>{filter.cameraId}</option>
            ) : null}
          </select>
        </label>
        <label class="inline-field">
          <span>{t('detections.label')}</span>
          <select
            value={filter.label ?? ''}
            onChange={(e) =>
              route(
                filterLink({
                  ...filter,
                  label: DETECTION_LABELS.find((label) => label === e.currentTarget.value),
                }),
              )
            }
          >
            <option value="">{t('detections.allLabels')}</option>
            {DETECTION_LABELS.map((label) => (
              <option key={label} value={label}>
                {detectionLabel(t, label)}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <DayNav day={filter.day} today={today} link={(day) => filterLink({ ...filter, day })} />
      <p class="muted small">{t('detections.hint')}</p>
      {error && events ? <Alert kind="error">{errorMessage(error, t)}</Alert> : null}
      {body}
      {events && hasMore ? (
        <div class="actions center">
          <button type="button" class="btn" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? t('common.loading') : t('detections.loadOlder')}
          </button>
        </div>
      ) : events && events.length > 0 ? (
        <p class="muted small center">{t('detections.end')}</p>
      ) : null}
    </>
  );
}
