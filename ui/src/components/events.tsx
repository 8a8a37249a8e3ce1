import type { SystemEvent } from '../api';
import { useFormatTime } from '../hooks';
import { SeverityBadge } from './ui';

export function EventList({ events, fresh }: { events: SystemEvent[]; fresh?: ReadonlySet<number> }) {
  const formatTime = useFormatTime();
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
            <p class="event-message">{event.message}</p>
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
