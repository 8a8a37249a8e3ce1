// Making a formatter costs about 0.5 ms; the routine model asks for thousands of offsets.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds to add to UTC to get wall-clock time in `timeZone` at instant `at`. */
export function zoneOffsetMs(at: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * The UTC instants where a household's calendar day begins and ends. Days are 23 or 25 hours
 * long across a DST change, so each end is resolved with the offset in force at that moment.
 */
export function dayBounds(day: string, timeZone: string): { start: number; end: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new Error(`not a day: ${day}`);
  const midnight = (y: number, m: number, d: number) => {
    const wall = Date.UTC(y, m - 1, d);
    const first = wall - zoneOffsetMs(wall, timeZone);
    return wall - zoneOffsetMs(first, timeZone);
  };
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return { start: midnight(y, m, d), end: midnight(y, m, d + 1) };
}
