import { useEffect } from 'preact/hooks';
import { formatDateTime } from './format';
import { useLocale } from './i18n';
import { currentTimeZone, settingsStore } from './session';
import { useStore } from './store';

/** Formats API timestamps (UTC ISO) in the household's time zone and the UI language. */
export function useFormatTime(): (iso: string | null | undefined) => string {
  const locale = useLocale();
  useStore(settingsStore);
  const zone = currentTimeZone();
  return (iso) => formatDateTime(iso, locale, zone);
}

export function usePageTitle(title: string): void {
  const settings = useStore(settingsStore);
  const household = settings?.householdName || 'Hearth';
  useEffect(() => {
    document.title = `${title} · ${household}`;
  }, [title, household]);
}
