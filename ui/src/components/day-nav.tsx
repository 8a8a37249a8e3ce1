import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { useLocale, useT } from '../i18n';
import { currentTimeZone, settingsStore } from '../session';
import { useStore } from '../store';
import { addDays, isDay } from '../time';
import { Icon } from './icons';

/**
 * The household's time zone once the settings have loaded; this browser's after a few seconds
 * without them, so a page about days never waits forever.
 */
export function useHouseholdZone(): string | null {
  const settings = useStore(settingsStore);
  const [gaveUp, setGaveUp] = useState(false);
  useEffect(() => {
    if (settings) return;
    const timer = setTimeout(() => setGaveUp(true), 4000);
    return () => clearTimeout(timer);
  }, [settings]);
  return settings?.timeZone ?? (gaveUp ? currentTimeZone() : null);
}

/** Previous day, a date picker labelled in the UI language, next day (never past today). */
export function DayNav({ day, today, link }: { day: string; today: string; link: (day: string) => string }) {
  const t = useT();
  const locale = useLocale();
  const { route } = useLocation();
  const dateLabel = new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(`${day}T12:00:00Z`));
  return (
    <nav class="day-nav" aria-label={t('playback.dayNav')}>
      <a class="btn btn-small" href={link(addDays(day, -1))} aria-label={t('playback.prevDay')}>
        <Icon name="back" />
      </a>
      <label class="day-pick">
        <span class="visually-hidden">{t('playback.day')}</span>
        <input
          class="day-input"
          type="date"
          value={day}
          max={today}
          onChange={(e) => {
            const next = e.currentTarget.value;
            if (isDay(next)) route(link(next));
          }}
        />
        <span class="day-label" aria-hidden="true">
          {dateLabel}
        </span>
      </label>
      {day < today ? (
        <a class="btn btn-small" href={link(addDays(day, 1))} aria-label={t('playback.nextDay')}>
          <Icon name="forward" />
        </a>
      ) : (
        <span class="btn btn-small" aria-hidden="true" data-disabled="true">
          <Icon name="forward" />
        </span>
      )}
    </nav>
  );
}
