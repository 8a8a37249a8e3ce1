/**
 * Household time: days and clock readings in the household's zone (settings), whatever zone
 * the phone is in. Instants are epoch milliseconds, as the recording API gives them.
 */

const partsCache = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsCache.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      f = partsFormatter('UTC');
    }
    partsCache.set(timeZone, f);
  }
  return f;
}

interface WallParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallParts(at: number, timeZone: string): WallParts {
  const parts = partsFormatter(timeZone).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** How far the zone's wall clock is ahead of UTC at instant `at`. */
function offsetAt(at: number, timeZone: string): number {
  const p = wallParts(at, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** The instant a wall-clock reading happens in the zone (the later one when a DST change repeats it). */
export function instantOf(
  year: number,
  month: number,
  day: number,
  timeZone: string,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const guess = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(guess, timeZone);
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isDay(value: string | undefined): value is string {
  const match = value ? DAY_RE.exec(value) : null;
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function splitDay(day: string): [number, number, number] {
  const match = DAY_RE.exec(day);
  if (!match) throw new Error(`not a day: ${day}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The household day (YYYY-MM-DD) an instant falls on. */
export function dayOf(at: number, timeZone: string): string {
  const p = wallParts(at, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Where a household day begins and ends (23 or 25 hours across a DST change). */
export function dayBounds(day: string, timeZone: string): { start: number; end: number } {
  const [y, m, d] = splitDay(day);
  return { start: instantOf(y, m, d, timeZone), end: instantOf(y, m, d + 1, timeZone) };
}

export function addDays(day: string, days: number): string {
  const [y, m, d] = splitDay(day);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** `HH:MM:SS` on the zone's wall clock (24-hour, the same in both languages). */
export function clockText(at: number, timeZone: string): string {
  const p = wallParts(at, timeZone);
  return [p.hour, p.minute, p.second].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `HH:MM` for hour marks and range ends. */
export function hourMinute(at: number, timeZone: string): string {
  return clockText(at, timeZone).slice(0, 5);
}

/** Reads an `<input type=time step=1>` value (`HH:MM` or `HH:MM:SS`) as an instant on `day`. */
export function instantOnDay(day: string, time: string, timeZone: string): number | null {
  const match = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time);
  if (!match) return null;
  const [y, m, d] = splitDay(day);
  return instantOf(y, m, d, timeZone, Number(match[1]), Number(match[2]), Number(match[3] ?? 0));
}

/** The whole-second wall clock of an instant, for `<input type=time step=1>`. */
export function timeInputValue(at: number, timeZone: string): string {
  return clockText(at, timeZone);
}

/** Rough, person-readable length: 45 s, 4 min 20 s, 2 h 5 min. Units are worded by the caller's catalog. */
export function durationParts(ms: number): { h: number; m: number; s: number } {
  const total = Math.max(0, Math.round(ms / 1000));
  return { h: Math.floor(total / 3600), m: Math.floor((total % 3600) / 60), s: total % 60 };
}
