import { useEffect } from 'preact/hooks';
import { formatDateTime } from './format';
import { useLocale } from './i18n';
import { currentTimeZone, settingsStore } from './session';
import { useStore } from './store';

/** Formats API timestamps (UTC ISO or epoch ms) in the household's time zone and the UI language. */
export function useFormatTime(): (when: string | number | null | undefined) => string {
  const locale = useLocale();
  useStore(settingsStore);
  const zone = currentTimeZone();
  return (when) => formatDateTime(when, locale, zone);
}

export function usePageTitle(title: string): void {
  const settings = useStore(settingsStore);
  const household = settings?.householdName || 'Hearth';
  useEffect(() => {
    document.title = `${title} · ${household}`;
  }, [title, household]);
}
