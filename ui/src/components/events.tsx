import type { SystemEvent } from '../api';
import { useFormatTime } from '../hooks';
import { type MessageKey, type Params, type Translate, useT } from '../i18n';
import { en } from '../i18n/en';
import { SeverityBadge } from './ui';

/** Known kinds are worded in the reader's language from their details; others show the hub's English text. */
function eventText(event: SystemEvent, t: Translate): string {
  const key = `event.${event.kind}`;
  const details = event.details;
  if (!(key in en) || !details || typeof details !== 'object') return event.message;
  return t(key as MessageKey, details as Params);
}

export function EventList({ events, fresh }: { events: SystemEvent[]; fresh?: ReadonlySet<number> }) {
  const formatTime = useFormatTime();
  const t = useT();
  return (
    <ol class="event-list">
      {events.map((event) => (
        <li
          key={event.id}
          class={fresh?.has(event.id) ? 'event event-fresh' : 'event'}
          data-event-id={event.id}
        >
          <SeverityBadge severity={event.severity} />
          <div class="event-body">
            <p class="event-message">{eventText(event, t)}</p>
            <p class="event-meta">
              <time dateTime={event.at}>{formatTime(event.at)}</time>
              <span class="event-kind">{event.kind}</span>
              {event.subject ? <span class="event-subject">{event.subject}</span> : null}
            </p>
          </div>
        </li>
      ))}
    </ol>
  );
}
