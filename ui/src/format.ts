import type { Locale } from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(
  locale: Locale,
  timeZone: string,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    } catch {
      // An unknown zone (settings edited by hand): show UTC rather than nothing.
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC', timeZoneName: 'short' });
    }
    cache.set(key, f);
  }
  return f;
}

/** A UTC ISO string from the API, shown in the household's time zone. */
/** An ISO timestamp or epoch milliseconds (the API uses both). */
export function formatDateTime(
  when: string | number | null | undefined,
  locale: Locale,
  timeZone: string,
): string {
  if (when === null || when === undefined || when === '') return '';
  const date = new Date(when);
  if (Number.isNaN(date.getTime())) return String(when);
  return formatter(locale, timeZone, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatTimeOnly(iso: string, locale: Locale, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter(locale, timeZone, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

export function timeZones(): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

/** Decimal units, as disks are sold: 1 GB = 1000³ bytes. */
export function formatBytes(bytes: number, locale: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${units[unit]}`;
}
