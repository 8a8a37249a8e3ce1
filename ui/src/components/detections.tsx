import type { DetectionEvent, DetectionLabel } from '../api';
import type { Translate } from '../i18n';
import type { DetectionChange } from '../live';
import { cameraPath } from '../pages/camera';
import { dayOf, durationParts } from '../time';

export function detectionLabel(t: Translate, label: DetectionLabel): string {
  return t(`detections.label.${label}`);
}

/** The camera's recordings of that day, playing from the moment the event started. */
export function playbackLink(event: DetectionEvent, zone: string): string {
  return `${cameraPath(event.cameraId, '/playback')}?day=${dayOf(event.startAt, zone)}&t=${event.startAt}`;
}

/** The list's order: newest start first, the later-written of two in the same millisecond first (the hub's). */
const newestFirst = (a: DetectionEvent, b: DetectionEvent) => b.startAt - a.startAt || b.id - a.id;

/**
 * A list after one `detections` message: a deleted event leaves, a changed one is replaced where it is,
 * and a new one joins if `belongs` says it fits what the list shows (camera, label, day).
 */
export function applyDetectionChange(
  list: readonly DetectionEvent[],
  { change, event }: DetectionChange,
  belongs: (event: DetectionEvent) => boolean,
): DetectionEvent[] {
  const rest = list.filter((e) => e.id !== event.id);
  if (change === 'deleted' || !belongs(event)) return rest;
  return [...rest, event].sort(newestFirst);
}

/** How long it lasted as `m:ss` (or `h:mm:ss`); an open event says it is still going on. */
export function durationText(event: DetectionEvent, t: Translate): string {
  if (event.endAt === null) return t('detections.ongoing');
  const { h, m, s } = durationParts(event.endAt - event.startAt);
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** The event's best frame, or a labelled placeholder when the detector kept none. */
export function DetectionThumb({ event, t }: { event: DetectionEvent; t: Translate }) {
  if (!event.snapshotUrl)
    return (
      <span class="detection-thumb detection-thumb-none" aria-hidden="true">
        {t('detections.noSnapshot')}
      </span>
    );
  return (
    <img
      class="detection-thumb"
      src={event.snapshotUrl}
      loading="lazy"
      decoding="async"
      width={160}
      height={120}
      alt=""
      onError={(e) => e.currentTarget.classList.add('broken')}
    />
  );
}
