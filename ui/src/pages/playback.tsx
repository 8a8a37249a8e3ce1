import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import {
  api,
  type DetectionEvent,
  isMissingEndpoint,
  type Span,
  type Timeline,
  type TimelineSegment,
  urls,
} from '../api';
import { useCamera, useCanManage } from '../cameras';
import { CameraStatusBadge } from '../components/camera';
import { DayNav, useHouseholdZone } from '../components/day-nav';
import { applyDetectionChange, detectionLabel } from '../components/detections';
import { ExportPanel } from '../components/export-panel';
import { Icon } from '../components/icons';
import { TimeBar, type TimeMarker } from '../components/timebar';
import { Alert, errorMessage, LoadError, Loading, PageHeader, useResource } from '../components/ui';
import { attachPlaylist, type PlaylistPlayer } from '../hls-player';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { useLive } from '../live';
import {
  buildMap,
  extendCoverage,
  indexAtTime,
  type PlaybackMap,
  segmentAtWall,
  timeAtWall,
  wallAt,
  withStarts,
} from '../playback-map';
import { clockText, dayBounds, dayOf, durationParts, instantOnDay, isDay } from '../time';
import { cameraPath } from './camera';

const HOUR = 3600_000;
const WINDOW_MS = HOUR;
const THUMB_STEP_MS = 3 * 60_000;
const MAX_THUMBS = 24;
/** A jump of the wall clock smaller than this between two segments is not announced. */
const GAP_NOTICE_MS = 2000;

interface Session {
  map: PlaybackMap;
  player: PlaylistPlayer;
}

export function PlaybackPage() {
  const { params, query } = useRoute();
  const zone = useHouseholdZone();
  const id = params.id ?? '';
  if (!zone) return <Loading />;
  const day = isDay(query.day) ? query.day : dayOf(Date.now(), zone);
  const at = Number(query.t);
  return (
    <PlaybackView
      key={`${id}|${day}|${zone}`}
      id={id}
      day={day}
      zone={zone}
      initialWall={Number.isFinite(at) && at > 0 ? at : null}
    />
  );
}

function Duration({ ms }: { ms: number }) {
  const t = useT();
  const { h, m, s } = durationParts(ms);
  if (h) return <>{t('time.hoursMinutes', { h, m })}</>;
  if (m) return <>{t('time.minutesSeconds', { m, s })}</>;
  return <>{t('time.seconds', { s })}</>;
}

function suspectSpans(segments: readonly TimelineSegment[]): Span[] {
  return segments.filter((s) => s.clockSuspect).map((s) => ({ from: s.startAt, to: s.endAt }));
}

function PlaybackView({
  id,
  day,
  zone,
  initialWall,
}: {
  id: string;
  day: string;
  zone: string;
  initialWall: number | null;
}) {
  const t = useT();
  const camera = useCamera(id);
  const canManage = useCanManage();
  usePageTitle(`${t('playback.title')} · ${camera.data?.name ?? id}`);

  const { start: dayStart, end: dayEnd } = useMemo(() => dayBounds(day, zone), [day, zone]);
  const today = dayOf(Date.now(), zone);
  const isToday = day === today;
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!isToday) return;
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, [isToday]);

  const timeline = useResource<Timeline | null>(async () => {
    if (dayStart > Date.now()) return null;
    return api.timeline(id, dayStart, Math.min(dayEnd, Date.now()));
  });
  const segments = timeline.data?.segments ?? [];

  // New footage of this camera on this day joins the bar as it is recorded.
  useLive('recording', (data) => {
    if (data.change === 'segment-updated' && data.segment.cameraId === id) {
      const { id: segmentId, protected: value } = data.segment;
      timeline.update((tl) =>
        tl?.segments.some((s) => s.id === segmentId && s.protected !== value)
          ? { ...tl, segments: tl.segments.map((s) => (s.id === segmentId ? { ...s, protected: value } : s)) }
          : tl,
      );
      return;
    }
    if (data.change !== 'segment' || data.segment.cameraId !== id) return;
    const s = data.segment;
    const location = s.location;
    if (s.startAt >= dayEnd || s.endAt <= dayStart || location === 'staging') return;
    // The hub leaves rows with no media out of timelines and playlists; so does the bar.
    if (s.durationMs <= 0 || (s.bytes !== undefined && s.initBytes !== undefined && s.bytes <= s.initBytes))
      return;
    timeline.update((tl) => {
      if (!tl || tl.segments.some((x) => x.id === s.id)) return tl;
      const last = tl.segments[tl.segments.length - 1];
      if (last && s.startAt < last.startAt) {
        void timeline.reload(); // out of order (a clock-suspect segment): take the hub's view
        return tl;
      }
      const segment: TimelineSegment = {
        id: s.id,
        startAt: s.startAt,
        endAt: s.endAt,
        durationMs: s.durationMs,
        location,
        clockSuspect: s.clockSuspect,
        protected: s.protected,
      };
      return {
        ...tl,
        to: Math.max(tl.to, s.endAt),
        segments: [...tl.segments, segment],
        coverage: extendCoverage(tl.coverage, s),
      };
    });
    setNow(Date.now());
  });
  useLive('resync', () => void timeline.reload());

  // The day's detections of this camera as markers on both bars; a hub without detection shows none.
  const detections = useResource<DetectionEvent[]>(async () =>
    dayStart > Date.now() ? [] : (await api.detections({ cameraId: id, day, limit: 500 })).events,
  );
  useLive('detections', (change) => {
    if (change.event.cameraId !== id) return;
    detections.update((list) =>
      applyDetectionChange(list ?? [], change, (e) => e.startAt >= dayStart && e.startAt < dayEnd),
    );
  });
  useLive('resync', () => void detections.reload());
  const markers: TimeMarker[] = (detections.data ?? []).map((event) => ({
    id: event.id,
    at: event.startAt,
    kind: event.label,
    label: t('detections.marker', {
      label: detectionLabel(t, event.label),
      time: clockText(event.startAt, zone),
    }),
  }));

  // ------------------------------------------------------------ player

  const video = useRef<HTMLVideoElement>(null);
  const session = useRef<Session | null>(null);
  const sessionSeq = useRef(0);
  const lastIndex = useRef(-1);
  const lastRefine = useRef(0);
  const [wall, setWall] = useState<number | null>(initialWall);
  const [preview, setPreview] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const [jump, setJump] = useState<Span | null>(null);
  const [playerError, setPlayerError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [windowFrom, setWindowFrom] = useState<number | null>(null);

  const segmentsRef = useRef(segments);
  segmentsRef.current = segments;

  const stopSession = () => {
    sessionSeq.current += 1;
    session.current?.player.destroy();
    session.current = null;
  };
  useEffect(() => stopSession, []);

  /** Loads the playlist of every segment known now and starts at `target` (wall time). */
  const startSession = async (target: number, autoplay: boolean) => {
    const element = video.current;
    const all = segmentsRef.current;
    const last = all[all.length - 1];
    if (!element || !last || !timeline.data) return;
    stopSession();
    const mine = sessionSeq.current;
    const map = buildMap(all);
    const hit = timeAtWall(map, target) ?? {
      time: Math.max(0, map.total - 1),
      index: all.length - 1,
      snapped: true,
    };
    // The playlist holds exactly the timeline's segments for the same from/to; ending it just
    // inside the last known segment keeps one finishing meanwhile out of it.
    const to = Math.min(last.endAt - 1, timeline.data.to);
    setPlayerError(null);
    lastIndex.current = hit.index;
    setWall(wallAt(map, hit.time));
    try {
      const player = await attachPlaylist({
        video: element,
        url: urls.playlist(id, dayStart, to),
        startPosition: hit.time,
        onFatal: (detail) => setPlayerError(detail),
      });
      if (mine !== sessionSeq.current) {
        player.destroy();
        return;
      }
      session.current = { map, player };
      if (autoplay) element.play().catch(() => {});
    } catch (error) {
      setPlayerError(error instanceof Error ? error.message : String(error));
    }
  };

  /** Plays from a wall time: a seek inside the loaded playlist, or a new one. */
  const goTo = (target: number, autoplay = !video.current?.paused) => {
    setPreview(null);
    const current = session.current;
    const element = video.current;
    if (current && element) {
      const hit = timeAtWall(current.map, target);
      if (hit) {
        lastIndex.current = hit.index;
        element.currentTime = hit.time;
        setWall(wallAt(current.map, hit.time));
        recenter(target);
        if (autoplay) element.play().catch(() => {});
        return;
      }
    }
    recenter(target);
    void startSession(target, autoplay);
  };

  // First picture: the requested moment, else the last minute recorded today, else the day's start.
  const started = useRef(false);
  useEffect(() => {
    if (started.current || !segments.length) return;
    started.current = true;
    const first = segments[0]!;
    const last = segments[segments.length - 1]!;
    const target = initialWall ?? (isToday ? Math.max(first.startAt, last.endAt - 60_000) : first.startAt);
    recenter(target);
    void startSession(target, false);
  }, [segments.length > 0]);

  /** Follows the playhead: the wall clock, gap announcements, and refined fragment starts. */
  const onTime = () => {
    const element = video.current;
    const current = session.current;
    if (!element || !current) return;
    // hls.js corrects fragment starts as it buffers; a day can list thousands, so look now and then.
    if (performance.now() - lastRefine.current > 2000) {
      lastRefine.current = performance.now();
      const starts = current.player.fragmentStarts();
      if (starts) current.map = withStarts(current.map, starts);
    }
    const index = indexAtTime(current.map, element.currentTime);
    const at = wallAt(current.map, element.currentTime);
    if (at === null) return;
    if (index === lastIndex.current + 1 && index > 0) {
      const before = current.map.segments[index - 1]!;
      const here = current.map.segments[index]!;
      if (here.startAt - before.endAt > GAP_NOTICE_MS) setJump({ from: before.endAt, to: here.startAt });
    }
    lastIndex.current = index;
    setWall(at);
    if (!element.paused) recenterIfOutside(at);
  };

  const onEnded = () => {
    setPlaying(false);
    const current = session.current;
    const last = current?.map.segments[current.map.segments.length - 1];
    const newer = last ? segmentsRef.current.find((s) => s.startAt >= last.endAt - 1) : undefined;
    if (newer) void startSession(newer.startAt, true);
  };

  useEffect(() => {
    if (!jump) return;
    const timer = setTimeout(() => setJump(null), 6000);
    return () => clearTimeout(timer);
  }, [jump]);

  // ------------------------------------------------------------ scrubber window

  /** Where the hour-long window starts for a playhead at `at`: never far into the future, never off the day. */
  const windowFor = (at: number, lead: number) => {
    const latestEnd = Math.min(dayEnd, Math.max(Date.now(), at) + WINDOW_MS * 0.1);
    return Math.max(dayStart, Math.min(at - lead, latestEnd - WINDOW_MS));
  };
  const recenter = (at: number) => setWindowFrom(windowFor(at, WINDOW_MS / 2));
  const recenterIfOutside = (at: number) => {
    setWindowFrom((from) => {
      if (from !== null && at >= from + WINDOW_MS * 0.05 && at <= from + WINDOW_MS * 0.95) return from;
      return windowFor(at, WINDOW_MS * 0.1);
    });
  };
  const winFrom = windowFrom ?? Math.max(dayStart, Math.min(now, dayEnd) - WINDOW_MS);
  const winTo = Math.min(dayEnd, winFrom + WINDOW_MS);

  const shown = preview ?? wall;
  const currentSegment = wall === null ? null : segmentAtWall(segments, wall);
  const suspect = useMemo(() => suspectSpans(segments), [segments]);

  const thumbs = useMemo(() => {
    const inWindow = segments.filter((s) => s.endAt > winFrom && s.startAt < winTo);
    if (inWindow.length <= MAX_THUMBS) return inWindow;
    // Many short segments: one picture every few minutes.
    const list: TimelineSegment[] = [];
    const seen = new Set<number>();
    for (let at = winFrom; at < winTo; at += THUMB_STEP_MS) {
      const segment =
        segmentAtWall(segments, at) ??
        segments.find((s) => s.startAt >= at && s.startAt < at + THUMB_STEP_MS) ??
        null;
      if (segment && !seen.has(segment.id)) {
        seen.add(segment.id);
        list.push(segment);
      }
    }
    return list;
  }, [segments, winFrom, winTo]);

  // ------------------------------------------------------------ render

  const dayLink = (d: string) => `${cameraPath(id, '/playback')}?day=${d}`;

  let body: ComponentChildren = null;
  if (timeline.error && !timeline.data) {
    body = isMissingEndpoint(timeline.error) ? (
      <Alert kind="error">{t('playback.unavailable')}</Alert>
    ) : (
      <LoadError error={timeline.error} onRetry={timeline.reload} />
    );
  } else if (timeline.loading && !timeline.data) body = <Loading />;
  else if (!segments.length)
    body = (
      <p class="empty">{isToday || !timeline.data ? t('playback.nothingYet') : t('playback.nothing')}</p>
    );

  return (
    <>
      <a class="link back-link" href={cameraPath(id)}>
        <Icon name="back" class="back-icon" />
        {camera.data?.name ?? id}
      </a>
      <PageHeader title={t('playback.title')}>
        {camera.data ? <CameraStatusBadge camera={camera.data} /> : null}
      </PageHeader>

      <DayNav day={day} today={today} link={dayLink} />

      {body}

      <div class={segments.length ? 'player' : 'player hidden'}>
        <div class="player-frame">
          <video
            ref={video}
            class="player-video"
            muted
            playsInline
            preload="auto"
            onTimeUpdate={onTime}
            onSeeked={onTime}
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
            onEnded={onEnded}
            aria-label={t('playback.videoOf', { name: camera.data?.name ?? id })}
          />
          {jump ? (
            <p class="jump-notice" role="status">
              {t('playback.jumped', { from: clockText(jump.from, zone), to: clockText(jump.to, zone) })} (
              <Duration ms={jump.to - jump.from} />)
            </p>
          ) : null}
        </div>
        <div class="player-bar">
          <button
            type="button"
            class="btn btn-primary play-button"
            aria-label={playing ? t('playback.pause') : t('playback.play')}
            onClick={() => {
              const element = video.current;
              if (!element) return;
              if (!session.current) void startSession(wall ?? segments[0]?.startAt ?? dayStart, true);
              else if (element.paused) element.play().catch(() => {});
              else element.pause();
            }}
          >
            <Icon name={playing ? 'pause' : 'play'} class="play-icon" />
          </button>
          <div class="clock">
            <time
              class={preview !== null ? 'clock-readout previewing' : 'clock-readout'}
              data-wall={shown ?? ''}
              dateTime={shown === null ? undefined : new Date(shown).toISOString()}
              aria-live="off"
            >
              {shown === null ? '--:--:--' : clockText(shown, zone)}
            </time>
            {currentSegment?.clockSuspect ? (
              <span class="badge sev-warning" title={t('playback.suspectHint')}>
                {t('playback.suspect')}
              </span>
            ) : null}
          </div>
          {canManage && currentSegment ? (
            <button
              type="button"
              class={currentSegment.protected ? 'btn btn-small protect on' : 'btn btn-small protect'}
              aria-pressed={currentSegment.protected}
              title={t('playback.protectHint')}
              onClick={async () => {
                const target = currentSegment;
                try {
                  const { segment } = await api.protectSegment(target.id, !target.protected);
                  const value = segment?.protected ?? !target.protected;
                  timeline.update((tl) =>
                    tl
                      ? {
                          ...tl,
                          segments: tl.segments.map((s) =>
                            s.id === target.id ? { ...s, protected: value } : s,
                          ),
                        }
                      : tl,
                  );
                } catch (e) {
                  setPlayerError(errorMessage(e, t));
                }
              }}
            >
              <Icon name="shield" />
              {currentSegment.protected ? t('playback.protected') : t('playback.protect')}
            </button>
          ) : null}
          {canManage ? (
            <button
              type="button"
              class="btn btn-small"
              aria-expanded={exporting}
              onClick={() => setExporting((v) => !v)}
            >
              <Icon name="scissors" />
              {t('playback.export')}
            </button>
          ) : null}
        </div>
        {playerError ? (
          <Alert kind="error">{t('playback.playerError', { detail: playerError })}</Alert>
        ) : null}

        <TimeBar
          class="timebar-day"
          from={dayStart}
          to={dayEnd}
          coverage={timeline.data?.coverage ?? []}
          suspect={suspect}
          now={now}
          value={shown}
          step={5 * 60_000}
          tickEvery={6 * HOUR}
          tickOrigin={dayStart}
          zone={zone}
          label={t('playback.dayBar')}
          markers={markers}
          onPreview={setPreview}
          onPick={(at) => goTo(at)}
        />
        <TimeBar
          class="timebar-window"
          from={winFrom}
          to={winTo}
          coverage={timeline.data?.coverage ?? []}
          suspect={suspect}
          now={now}
          value={shown}
          step={10_000}
          tickEvery={10 * 60_000}
          tickOrigin={dayStart}
          zone={zone}
          label={t('playback.scrubber')}
          markers={markers}
          onPreview={setPreview}
          onPick={(at) => goTo(at)}
        />
        <p class="legend" aria-hidden="true">
          <span class="legend-item legend-recorded">{t('playback.legendRecorded')}</span>
          <span class="legend-item legend-gap">{t('playback.legendGap')}</span>
          <span class="legend-item legend-suspect">{t('playback.legendSuspect')}</span>
        </p>

        <form
          class="goto"
          onSubmit={(e) => {
            e.preventDefault();
            const value = String(new FormData(e.currentTarget).get('at') ?? '');
            const at = instantOnDay(day, value, zone);
            if (at !== null) goTo(at, true);
          }}
        >
          <label>
            <span>{t('playback.goTo')}</span>
            <input class="goto-input" type="time" name="at" step={1} required />
          </label>
          <button type="submit" class="btn btn-small">
            {t('playback.go')}
          </button>
        </form>

        {thumbs.length ? (
          <ol class="thumbs" aria-label={t('playback.thumbs')}>
            {thumbs.map((segment) => (
              <li key={segment.id}>
                <button
                  type="button"
                  class={segment.id === currentSegment?.id ? 'thumb current' : 'thumb'}
                  onClick={() => goTo(segment.startAt, true)}
                >
                  <img
                    src={urls.thumbnail(segment.id)}
                    loading="lazy"
                    decoding="async"
                    width={160}
                    height={120}
                    alt=""
                    onError={(e) => e.currentTarget.classList.add('broken')}
                  />
                  <span>{clockText(segment.startAt, zone)}</span>
                </button>
              </li>
            ))}
          </ol>
        ) : null}
      </div>

      {exporting && canManage ? (
        <ExportPanel
          cameraId={id}
          day={day}
          dayStart={dayStart}
          dayEnd={dayEnd}
          around={wall ?? Math.min(now, dayEnd)}
          zone={zone}
          onClose={() => setExporting(false)}
        />
      ) : null}
      {camera.error && !camera.data ? <Alert kind="error">{errorMessage(camera.error, t)}</Alert> : null}
    </>
  );
}
