/**
 * The alert rules as pure state machines: a rule, its state and a signal (a reading) or the time give the
 * next state and what to do (fire, resolve). No database, no clock of its own: care.service.ts persists
 * each transition and asks `deadline()` when to look again, so 30-second and 4-hour rules are tested by
 * moving an injected clock.
 */
import { z } from 'zod';
import { zoneOffsetMs } from '../settings/time-zone.js';
import type { RuleKind, RuleStateName } from './care.schema.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');
const seconds = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400);
const sensor = z.string().min(1).max(64).optional();

export const dailyWindowSchema = z.object({ from: hhmm, to: hhmm }).strict();
export type DailyWindow = z.infer<typeof dailyWindowSchema>;

export const thresholdParamsSchema = z
  .object({
    op: z.enum(['above', 'below']),
    limit: z.number().finite(),
    /** The value must stay beyond the limit this long (by the readings' own times). */
    forSeconds: seconds.default(0),
    /** …and back within it this long before the alert resolves. */
    resolveSeconds: seconds.default(60),
    sensor,
  })
  .strict();

export const stateParamsSchema = z
  .object({
    state: z.string().min(1).max(32),
    /** True: any state but `state` counts (face direction "not front" for 30 s). */
    negate: z.boolean().default(false),
    forSeconds: seconds.default(0),
    resolveSeconds: seconds.default(0),
    /** Only signals within these times of the household's day count (a person at the door 22:00–06:00). */
    window: dailyWindowSchema.optional(),
    sensor,
  })
  .strict();

export const absenceParamsSchema = z
  .object({
    /** Fires when no such reading came for this long (within the window, when there is one). */
    forSeconds: seconds.refine((s) => s > 0, 'more than 0'),
    /** Only readings in this state count (motion: "motion", not "still"). */
    state: z.string().min(1).max(32).optional(),
    /** Watched only between these times of the household's day (08:00–22:00; 22:00–07:00 spans midnight). */
    window: dailyWindowSchema.optional(),
    sensor,
  })
  .strict();

/** A safety check-in: the node reports `answered` or `missed` (it waited the command's minutes itself). */
export const checkInParamsSchema = z.object({ sensor }).strict();

export const ruleParamsSchemas = {
  threshold: thresholdParamsSchema,
  state: stateParamsSchema,
  absence: absenceParamsSchema,
  check_in: checkInParamsSchema,
} as const satisfies Record<RuleKind, z.ZodType>;

export type RuleParams =
  | ({ kind: 'threshold' } & z.infer<typeof thresholdParamsSchema>)
  | ({ kind: 'state' } & z.infer<typeof stateParamsSchema>)
  | ({ kind: 'absence' } & z.infer<typeof absenceParamsSchema>)
  | ({ kind: 'check_in' } & z.infer<typeof checkInParamsSchema>);

export interface Signal {
  at: number;
  kind: string;
  sensor?: string | null;
  value?: number | null;
  state?: string | null;
  confidence?: number | null;
  /** Why, in plain words (a routine anomaly's reasons): kept with the incident's evidence and told in its notice. */
  detail?: string[] | null;
}

export interface RuleState {
  state: RuleStateName;
  /** pending: when the condition began; firing/acknowledged: when it stopped holding (resolving), else null. */
  since: number | null;
  /** absence: the last matching reading (or when watching began). */
  lastSeenAt: number | null;
}

export type Transition = { next: RuleState; effect: 'fire' | 'resolve' | null };

const OK: RuleState = { state: 'ok', since: null, lastSeenAt: null };
const isActive = (state: RuleState) => state.state === 'firing' || state.state === 'acknowledged';

/** Does this signal concern the rule at all (kind and sensor)? */
export function concerns(
  rule: { readingKind: string; params: RuleParams },
  signal: Signal,
  timeZone: string,
): boolean {
  if (signal.kind !== rule.readingKind) return false;
  if (rule.params.sensor !== undefined && rule.params.sensor !== signal.sensor) return false;
  const window = rule.params.kind === 'state' ? rule.params.window : undefined;
  return !window || inDailySpan(signal.at, `${window.from}-${window.to}`, timeZone);
}

/** Whether the condition holds for this signal (threshold and state rules); null: the signal says nothing. */
function holds(params: RuleParams, signal: Signal): boolean | null {
  if (params.kind === 'threshold') {
    if (typeof signal.value !== 'number') return null;
    return params.op === 'above' ? signal.value > params.limit : signal.value < params.limit;
  }
  if (params.kind === 'state') {
    if (!signal.state) return null;
    return (signal.state === params.state) !== params.negate;
  }
  return null;
}

function durationRule(
  params: RuleParams & { forSeconds: number; resolveSeconds: number },
  state: RuleState,
  signal: Signal,
): Transition {
  const condition = holds(params, signal);
  if (condition === null) return { next: state, effect: null };
  const at = signal.at;
  if (state.state === 'ok') {
    if (!condition) return { next: state, effect: null };
    if (params.forSeconds === 0) return { next: { ...state, state: 'firing', since: null }, effect: 'fire' };
    return { next: { ...state, state: 'pending', since: at }, effect: null };
  }
  if (state.state === 'pending') {
    if (!condition) return { next: { ...state, state: 'ok', since: null }, effect: null };
    if (at - state.since! >= params.forSeconds * 1000)
      return { next: { ...state, state: 'firing', since: null }, effect: 'fire' };
    return { next: state, effect: null };
  }
  // firing or acknowledged: resolves once the condition has not held for resolveSeconds.
  if (condition) return { next: { ...state, since: null }, effect: null };
  const since = state.since ?? at;
  if (at - since >= params.resolveSeconds * 1000)
    return { next: { ...OK, lastSeenAt: state.lastSeenAt }, effect: 'resolve' };
  return { next: { ...state, since }, effect: null };
}

/** A signal the rule concerns (check with `concerns` first). */
export function onSignal(params: RuleParams, state: RuleState, signal: Signal): Transition {
  switch (params.kind) {
    case 'threshold':
    case 'state':
      return durationRule(params, state, signal);
    case 'absence': {
      if (params.state !== undefined && signal.state !== params.state) return { next: state, effect: null };
      const lastSeenAt = Math.max(state.lastSeenAt ?? 0, signal.at);
      if (isActive(state)) return { next: { state: 'ok', since: null, lastSeenAt }, effect: 'resolve' };
      return { next: { ...state, lastSeenAt }, effect: null };
    }
    case 'check_in': {
      if (signal.state === 'missed' && !isActive(state))
        return { next: { ...state, state: 'firing', since: null }, effect: 'fire' };
      if (signal.state === 'answered' && isActive(state)) return { next: { ...OK }, effect: 'resolve' };
      return { next: state, effect: null };
    }
  }
}

/** The time passing: a pending duration reached, a resolving one finished, an absence long enough. */
export function onTime(params: RuleParams, state: RuleState, now: number, timeZone: string): Transition {
  const due = deadline(params, state, now, timeZone);
  if (due === null || now < due) return { next: state, effect: null };
  if (state.state === 'pending') return { next: { ...state, state: 'firing', since: null }, effect: 'fire' };
  if (isActive(state) && params.kind !== 'absence')
    return { next: { ...OK, lastSeenAt: state.lastSeenAt }, effect: 'resolve' };
  if (params.kind === 'absence' && state.state === 'ok')
    return { next: { ...state, state: 'firing' }, effect: 'fire' };
  return { next: state, effect: null };
}

/** When `onTime` has something to do next (ms), or null: only a signal can change this state. */
export function deadline(params: RuleParams, state: RuleState, now: number, timeZone: string): number | null {
  switch (params.kind) {
    case 'threshold':
    case 'state':
      if (state.state === 'pending') return state.since! + params.forSeconds * 1000;
      if (isActive(state) && state.since !== null) return state.since + params.resolveSeconds * 1000;
      return null;
    case 'absence': {
      if (state.state !== 'ok') return null;
      const base = state.lastSeenAt ?? now;
      const span = params.forSeconds * 1000;
      if (!params.window) return base + span;
      // Within a window, the silence counts from the later of the last reading and the window's start;
      // an alert that would fall after the window's end waits for the next window.
      for (const window of windowsAround(now, params.window, timeZone)) {
        const due = Math.max(base, window.start) + span;
        if (due < window.end && window.end > now) return due;
      }
      return null;
    }
    case 'check_in':
      return null;
  }
}

/** `HH:MM` on the household day that contains `dayOf` (UTC instant). */
function wallTime(dayOf: number, time: string, timeZone: string, addDays = 0): number {
  const local = new Date(dayOf + zoneOffsetMs(dayOf, timeZone));
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(
    local.getUTCFullYear(),
    local.getUTCMonth(),
    local.getUTCDate() + addDays,
    hours,
    minutes,
  );
  // The offset at that wall time (a DST change may lie between `dayOf` and it).
  return wall - zoneOffsetMs(wall - zoneOffsetMs(wall, timeZone), timeZone);
}

/** The window occurrences of yesterday, today and tomorrow (household days), in order. */
export function windowsAround(
  now: number,
  window: DailyWindow,
  timeZone: string,
): { start: number; end: number }[] {
  const overnight = window.to <= window.from;
  return [-1, 0, 1].map((day) => ({
    start: wallTime(now, window.from, timeZone, day),
    end: wallTime(now, window.to, timeZone, day + (overnight ? 1 : 0)),
  }));
}

/** Whether `at` lies in a `HH:MM-HH:MM` span of the household's day (quiet hours). */
export function inDailySpan(at: number, span: string | null, timeZone: string): boolean {
  if (!span) return false;
  const [from, to] = span.split('-') as [string, string];
  return windowsAround(at, { from, to }, timeZone).some((w) => at >= w.start && at < w.end);
}

export const quietHoursSchema = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM-HH:MM, e.g. 22:00-07:00');

export const INITIAL_STATE: RuleState = OK;
