/**
 * A person's daily routine as a few robust statistics, and the score of a day so far against them. Pure: no
 * database, no clock; routine.service.ts feeds it days built from the per-minute rollups.
 *
 * Days are "routine days" that start at 04:00 in the household zone, so a late night belongs to the evening
 * before it. Minutes below count from that start, on the wall clock. Only too little activity is scored
 * (late first activity, a long silence, a low total): more activity than usual (a visitor) is never alarming.
 */

export const SLOT_MINUTES = 30;
export const SLOTS = (24 * 60) / SLOT_MINUTES;
/** The routine day begins at 04:00 local: night-time bathroom trips stay with the night they belong to. */
export const DAY_START_MINUTES = 4 * 60;
export const MIN_DAYS = 7;
/** A profile per weekday/weekend only when each has this many days; otherwise one for all days. */
const MIN_DAYS_PER_TYPE = 5;
/** A stream used on fewer days than this share has no "usually by" time. */
const REGULAR_SHARE = 0.8;
/** Silences are compared with the usual ones up to this many slots earlier: being an hour late is normal. */
const TIME_SLACK_SLOTS = 2;
/** Minutes beyond the limits over which a component grows from 0 to its cap. */
const RAMP_MINUTES = 60;
/** Single-stream evidence (one late stream, a low total) alone never alarms: a sensor can fail. */
const STREAM_CAP = 0.5;
const LEVEL_CAP = 0.5;
/** What the care rule alarms above; also what "the model would have flagged" means. */
export const ALARM_SCORE = 0.8;

export interface DayActivity {
  /** YYYY-MM-DD of the routine day. */
  day: string;
  weekend: boolean;
  /** Per stream (`kind:sensor`): [minute since the day's start, readings in that minute], in order. */
  streams: Record<string, [number, number][]>;
  /** Minutes from the last activity before the day's start to that start; null: none in the 24 h before. */
  quietBefore: number | null;
}

export interface StreamProfile {
  stream: string;
  label: string;
  /** Share of the profile's days with any reading of this stream. */
  usedShare: number;
  /** Per slot: the median readings and the median absolute deviation. */
  median: number[];
  mad: number[];
  /** Minutes after the day's start: the first activity on a usual late day (90th percentile), and the limit. */
  firstUsual: number | null;
  firstLimit: number | null;
}

export interface Profile {
  days: number;
  streams: StreamProfile[];
  /**
   * Per slot boundary (SLOTS + 1 of them): the longest usual silence then or up to an hour before (90th
   * percentile of the days), and the limit (minutes).
   */
  gapUsual: number[];
  gapLimit: number[];
  /** Per slot end: readings since the day's start, median and 10th percentile. */
  totalMedian: number[];
  totalLow: number[];
}

export interface RoutineModel {
  format: 1;
  slotMinutes: number;
  dayStartMinutes: number;
  days: number;
  /** Why it cannot score (too few days), or null. */
  refusal: string | null;
  profiles: { all: Profile } | { weekday: Profile; weekend: Profile };
}

export interface Component {
  score: number;
  reason: string;
}

export type DayScore =
  | { ready: false; reason: string }
  | { ready: true; score: number; reasons: string[]; components: Component[] };

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

const median = (values: number[]) => quantile(values, 0.5);
const mad = (values: number[]) => {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
};
const clamp = (value: number, cap: number) => Math.max(0, Math.min(cap, value));

/** `motion:kitchen` → "kitchen"; `door:front` → "front door"; `bed:bed` → "bed". */
export function streamLabel(stream: string): string {
  const [kind, sensor] = stream.split(/:(.*)/s) as [string, string];
  if (!sensor || sensor === kind || sensor.includes(kind) || kind === 'motion') return sensor || kind;
  return `${sensor} ${kind}`;
}

/** Minute of the routine day → local `HH:MM`. */
export function wallTime(minute: number): string {
  const wall = (((minute + DAY_START_MINUTES) % 1440) + 1440) % 1440;
  return `${String(Math.floor(wall / 60)).padStart(2, '0')}:${String(Math.floor(wall % 60)).padStart(2, '0')}`;
}

function duration(minutes: number): string {
  const m = Math.round(minutes);
  if (m < 60) return `${m} min`;
  return m % 60 === 0 ? `${m / 60} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The minutes of any activity in a day before `until`, in order. */
function activityMinutes(day: DayActivity, until: number): number[] {
  const minutes = new Set<number>();
  for (const points of Object.values(day.streams))
    for (const [minute] of points) if (minute < until) minutes.add(minute);
  return [...minutes].sort((a, b) => a - b);
}

/** Silence at minute `at`: since the last activity before it, today or (quietBefore) the evening before. */
function gapAt(day: DayActivity, activity: number[], at: number): number {
  let last: number | null = null;
  for (const minute of activity) {
    if (minute >= at) break;
    last = minute;
  }
  if (last !== null) return at - (last + 1);
  return at + (day.quietBefore ?? 1440);
}

function totalBefore(day: DayActivity, at: number): number {
  let total = 0;
  for (const points of Object.values(day.streams))
    for (const [minute, count] of points) if (minute < at) total += count;
  return total;
}

function firstOf(day: DayActivity, stream: string): number | null {
  return day.streams[stream]?.[0]?.[0] ?? null;
}

function profileOf(days: DayActivity[]): Profile {
  const streamNames = [...new Set(days.flatMap((day) => Object.keys(day.streams)))].sort();
  const streams = streamNames.map((stream): StreamProfile => {
    const perSlot = Array.from({ length: SLOTS }, () => [] as number[]);
    const firsts: number[] = [];
    let used = 0;
    for (const day of days) {
      const counts = new Array<number>(SLOTS).fill(0);
      for (const [minute, count] of day.streams[stream] ?? [])
        counts[Math.min(SLOTS - 1, Math.floor(minute / SLOT_MINUTES))]! += count;
      for (const [slot, count] of counts.entries()) perSlot[slot]!.push(count);
      const first = firstOf(day, stream);
      if (first !== null) {
        used += 1;
        firsts.push(first);
      }
    }
    const usedShare = used / days.length;
    // Days without the stream count as "later than any": they push the usual time out, never in.
    const firstUsual =
      usedShare >= REGULAR_SHARE
        ? quantile([...firsts, ...new Array(days.length - used).fill(1440)], 0.9)
        : null;
    return {
      stream,
      label: streamLabel(stream),
      usedShare: Math.round(usedShare * 100) / 100,
      median: perSlot.map(median),
      mad: perSlot.map(mad),
      firstUsual,
      firstLimit: firstUsual === null ? null : firstUsual + 45,
    };
  });
  const gapUsual: number[] = [];
  const gapLimit: number[] = [];
  const totalMedian: number[] = [];
  const totalLow: number[] = [];
  const activity = days.map((day) => activityMinutes(day, 1440));
  const seen: number[] = [];
  for (let boundary = 0; boundary <= SLOTS; boundary++)
    seen.push(
      quantile(
        days.map((day, i) => gapAt(day, activity[i]!, boundary * SLOT_MINUTES)),
        0.9,
      ),
    );
  for (let boundary = 0; boundary <= SLOTS; boundary++) {
    // An hour's slack in time (up an hour later than on a usual late day is still fine), then some in length:
    // a long night varies by hours, a busy morning by minutes.
    const usual = Math.max(...seen.slice(Math.max(0, boundary - TIME_SLACK_SLOTS), boundary + 1));
    gapUsual.push(usual);
    gapLimit.push(usual + Math.max(30, usual / 4));
  }
  for (let slot = 0; slot < SLOTS; slot++) {
    const totals = days.map((day) => totalBefore(day, (slot + 1) * SLOT_MINUTES));
    totalMedian.push(median(totals));
    totalLow.push(quantile(totals, 0.1));
  }
  return { days: days.length, streams, gapUsual, gapLimit, totalMedian, totalLow };
}

/** Learns the routine from whole days of activity (days without any reading are left out by the caller). */
export function trainRoutine(days: DayActivity[]): RoutineModel {
  const base = { format: 1 as const, slotMinutes: SLOT_MINUTES, dayStartMinutes: DAY_START_MINUTES };
  const weekend = days.filter((day) => day.weekend);
  const weekday = days.filter((day) => !day.weekend);
  const refusal =
    days.length < MIN_DAYS
      ? `trained on ${days.length} day${days.length === 1 ? '' : 's'} with activity; needs at least ${MIN_DAYS}`
      : null;
  const split = weekend.length >= MIN_DAYS_PER_TYPE && weekday.length >= MIN_DAYS_PER_TYPE;
  return {
    ...base,
    days: days.length,
    refusal,
    profiles: split ? { weekday: profileOf(weekday), weekend: profileOf(weekend) } : { all: profileOf(days) },
  };
}

function profileFor(model: RoutineModel, weekend: boolean): Profile {
  const profiles = model.profiles;
  if ('all' in profiles) return profiles.all;
  return weekend ? profiles.weekend : profiles.weekday;
}

/** The day so far, up to minute `at` of the routine day: a score in [0, 1] and the reasons in plain words. */
export function scoreDay(model: RoutineModel, day: DayActivity, at: number): DayScore {
  if (model.refusal) return { ready: false, reason: model.refusal };
  const profile = profileFor(model, day.weekend);
  const slot = Math.max(0, Math.min(SLOTS - 1, Math.floor(at / SLOT_MINUTES)));
  const components: Component[] = [];
  const now = wallTime(at);

  const activity = activityMinutes(day, at);
  const gap = gapAt(day, activity, at);
  // Between two boundaries, the looser of the two: a usual day may be asleep at one and up at the other.
  const after = Math.min(SLOTS, slot + 1);
  const gapLimit = Math.max(profile.gapLimit[slot]!, profile.gapLimit[after]!);
  if (gap > gapLimit) {
    const since = wallTime(at - gap);
    const usual = Math.max(profile.gapUsual[slot]!, profile.gapUsual[after]!);
    components.push({
      score: clamp((gap - gapLimit) / RAMP_MINUTES, 1),
      reason: `no activity from any sensor since ${since} (${duration(gap)} by ${now}); usually at most ${duration(usual)} quiet at this time`,
    });
  }

  for (const stream of profile.streams) {
    if (stream.firstLimit === null || stream.firstUsual === null || at <= stream.firstLimit) continue;
    const points = day.streams[stream.stream] ?? [];
    if (points.some(([minute]) => minute < at)) continue;
    components.push({
      score: clamp((STREAM_CAP * (at - stream.firstLimit)) / RAMP_MINUTES, STREAM_CAP),
      reason: `no ${stream.label} activity by ${now}, usually by ${wallTime(stream.firstUsual)}`,
    });
  }

  // The total of the completed slots: a slot in progress would always look short.
  const completed = Math.floor(at / SLOT_MINUTES);
  if (completed > 0) {
    const end = completed * SLOT_MINUTES;
    const low = profile.totalLow[completed - 1]!;
    const total = totalBefore(day, end);
    if (low >= 5 && total < low)
      components.push({
        score: clamp((LEVEL_CAP * (low - total)) / low, LEVEL_CAP),
        reason: `${total} sensor readings between ${wallTime(0)} and ${wallTime(end)}; usually ${Math.round(profile.totalMedian[completed - 1]!)} (at least ${Math.round(low)})`,
      });
  }

  const score = 1 - components.reduce((quiet, c) => quiet * (1 - c.score), 1);
  const ordered = [...components].sort((a, b) => b.score - a.score);
  return {
    ready: true,
    score: Math.round(score * 1000) / 1000,
    reasons: ordered.map((c) => c.reason),
    components: ordered,
  };
}

/** Training days the model itself scores above the alarm at some slot end (replayed, not held out). */
export function flaggedDays(model: RoutineModel, days: DayActivity[]): number {
  if (model.refusal) return 0;
  let flagged = 0;
  for (const day of days) {
    for (let slot = 1; slot <= SLOTS; slot++) {
      const result = scoreDay(model, day, slot * SLOT_MINUTES);
      if (result.ready && result.score > ALARM_SCORE) {
        flagged += 1;
        break;
      }
    }
  }
  return flagged;
}
