import { and, desc, eq, gte, lt, max, notInArray } from 'drizzle-orm';
import type { CareService } from '../../care/care.service.js';
import type { HistoryService } from '../../care/history.js';
import type { Signal } from '../../care/rules.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/client.js';
import { AppError, notFound } from '../../http/errors.js';
import type { Logger } from '../../log/logger.js';
import { zoneOffsetMs } from '../../settings/time-zone.js';
import {
  ALARM_SCORE,
  DAY_START_MINUTES,
  type DayActivity,
  type DayScore,
  flaggedDays,
  type RoutineModel,
  SLOTS,
  scoreDay,
  trainRoutine,
} from './model.js';
import { routineModels } from './routine.schema.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const QUARTER = 15 * MINUTE;

/** Reading kinds that are somebody moving about (states from PIR, contacts, pressure mats, buttons). */
export const ACTIVITY_KINDS = ['motion', 'door', 'bed', 'chair', 'presence', 'button', 'appliance', 'water'];

/** The care rule a routine model reports to: one per subject (its own sensor name), added with the first model. */
export const routineSensor = (subjectId: number) => `routine:${subjectId}`;

export type RoutineVersion = Omit<typeof routineModels.$inferSelect, 'model'>;

export type RoutineCheck =
  | { ready: false; reason: string }
  | {
      ready: true;
      version: number;
      at: number;
      score: number;
      state: 'anomaly' | 'normal';
      reasons: string[];
    };

const dayNumber = (label: string) => Date.parse(`${label}T00:00:00Z`) / DAY;

/**
 * Routine days in the household zone: which day and wall minute an instant falls on, and when a day starts.
 * Offsets are cached per quarter hour (every zone's changes fall on one).
 */
const offsets = new Map<string, number>();

function routineCalendar(timeZone: string) {
  const offset = (at: number) => {
    const quarter = Math.floor(at / QUARTER);
    const key = `${timeZone} ${quarter}`;
    let value = offsets.get(key);
    if (value === undefined) {
      // Scoring every few minutes asks for the same quarters again and again; a year of them is ~35,000.
      if (offsets.size > 50_000) offsets.clear();
      value = zoneOffsetMs(quarter * QUARTER, timeZone);
      offsets.set(key, value);
    }
    return value;
  };
  const shift = DAY_START_MINUTES * MINUTE;
  return {
    locate(at: number) {
      const shifted = at + offset(at) - shift;
      const day = Math.floor(shifted / DAY);
      return { day, minute: Math.floor((shifted - day * DAY) / MINUTE) };
    },
    start(day: number) {
      const wall = day * DAY + shift;
      // The offset at that wall time (a DST change may lie between the guess and it).
      return wall - offset(wall - offset(wall));
    },
    label: (day: number) => new Date(day * DAY).toISOString().slice(0, 10),
    // Day 0 (1970-01-01) was a Thursday.
    weekend: (day: number) => [0, 6].includes((((day + 4) % 7) + 7) % 7),
  };
}

/**
 * Per-subject routine models: trained from the last weeks of the per-minute rollups of the subject's nodes,
 * stored as versions (one active), and the day so far scored against the active one and told to care as a
 * `routine` signal.
 */
export function createRoutineService(deps: {
  db: Db;
  clock: Clock;
  history: Pick<HistoryService, 'rollup'>;
  care: Pick<CareService, 'subject' | 'listSubjects' | 'rules' | 'addRule' | 'signal'>;
  timeZone: () => string;
  log?: Logger;
  /** Days of readings a model learns from (default 28). */
  windowDays?: number;
  /** Versions kept besides the active one (default 10). */
  keepVersions?: number;
  activityKinds?: readonly string[];
}) {
  const { db, clock } = deps;
  const windowDays = deps.windowDays ?? 28;
  const keepVersions = deps.keepVersions ?? 10;
  const kinds = [...(deps.activityKinds ?? ACTIVITY_KINDS)];
  // One statement for every stream of the subject's nodes, on the rollups' key (node, kind, resolution, time).
  const minutes = db.$client.prepare<
    [number, string, number, number],
    { kind: string; sensor: string; t: number; count: number }
  >(`
    SELECT kind, sensor, bucket_start AS t, SUM(count) AS count
      FROM reading_rollups
     WHERE resolution = 'minute'
       AND device_id IN (SELECT device_id FROM subject_devices WHERE subject_id = ?)
       AND kind IN (SELECT value FROM json_each(?))
       AND bucket_start >= ? AND bucket_start < ?
     GROUP BY kind, sensor, bucket_start
     ORDER BY bucket_start, kind, sensor`);

  /** Activity of the subject's nodes in [from, to) as days; `always` days are made even when empty. */
  function activity(
    subjectId: number,
    calendar: ReturnType<typeof routineCalendar>,
    range: { fromDay: number; toDay: number; until: number },
    always: number[] = [],
  ): { days: DayActivity[]; firstAt: number | null } {
    const from = calendar.start(range.fromDay);
    // A day before the first: when the first day's silence began.
    const lookback = from - DAY;
    deps.history.rollup();
    const events = minutes
      .all(subjectId, JSON.stringify(kinds), lookback, range.until)
      .map((row) => ({ at: row.t, stream: `${row.kind}:${row.sensor}`, count: row.count }));

    const days = new Map<number, DayActivity>();
    const open = (day: number, lastAt: number | null) => {
      const start = calendar.start(day);
      const made: DayActivity = {
        day: calendar.label(day),
        weekend: calendar.weekend(day),
        streams: {},
        quietBefore: lastAt === null || start - lastAt > DAY ? null : Math.max(0, (start - lastAt) / MINUTE),
      };
      days.set(day, made);
      return made;
    };
    let lastAt: number | null = null;
    let cursor = 0;
    for (const wanted of [...always].sort((a, b) => a - b)) {
      // The last activity before this day's start, for a day that may have none of its own.
      const start = calendar.start(wanted);
      while (cursor < events.length && events[cursor]!.at < start) lastAt = events[cursor++]!.at;
      open(wanted, lastAt);
    }
    lastAt = null;
    for (const event of events) {
      const { day, minute } = calendar.locate(event.at);
      if (day >= range.fromDay && day < range.toDay) {
        const target = days.get(day) ?? open(day, lastAt);
        target.streams[event.stream] ??= [];
        const points = target.streams[event.stream]!;
        const previous = points.at(-1);
        // A repeated wall hour (DST ending) folds onto the same minutes.
        if (previous && previous[0] === minute) previous[1] += event.count;
        else points.push([minute, event.count]);
      }
      lastAt = event.at;
    }
    return {
      days: [...days.entries()].sort(([a], [b]) => a - b).map(([, day]) => day),
      firstAt: events[0]?.at ?? null,
    };
  }

  function versionRow(subjectId: number, version: number) {
    const row = db
      .select()
      .from(routineModels)
      .where(and(eq(routineModels.subjectId, subjectId), eq(routineModels.version, version)))
      .get();
    if (!row) throw notFound('Routine model version');
    return row;
  }

  const strip = ({ model: _model, ...row }: typeof routineModels.$inferSelect): RoutineVersion => row;

  function activeRow(subjectId: number) {
    return db
      .select()
      .from(routineModels)
      .where(and(eq(routineModels.subjectId, subjectId), eq(routineModels.active, true)))
      .get();
  }

  function setActive(subjectId: number, version: number) {
    db.transaction(() => {
      db.update(routineModels).set({ active: false }).where(eq(routineModels.subjectId, subjectId)).run();
      db.update(routineModels)
        .set({ active: true })
        .where(and(eq(routineModels.subjectId, subjectId), eq(routineModels.version, version)))
        .run();
    });
  }

  /** The subject's routine rule, added once: a threshold on the score, one incident per morning at most. */
  function ensureRule(subjectId: number) {
    const sensor = routineSensor(subjectId);
    const present = deps.care
      .rules(subjectId)
      .some(
        (rule) => rule.readingKind === 'routine' && (rule.params as { sensor?: string }).sensor === sensor,
      );
    if (present) return;
    deps.care.addRule(subjectId, {
      name: 'Unusual day',
      kind: 'threshold',
      readingKind: 'routine',
      severity: 'warning',
      dedupSeconds: 6 * 3600,
      params: { op: 'above', limit: ALARM_SCORE, forSeconds: 0, resolveSeconds: 1800, sensor },
    });
  }

  const service = {
    /**
     * Trains a new version on the complete routine days of the window. A model with enough days becomes the
     * active one; one with too few is kept (with why) and only becomes active when there is nothing else.
     */
    train(subjectId: number): RoutineVersion {
      deps.care.subject(subjectId);
      const started = performance.now();
      const calendar = routineCalendar(deps.timeZone());
      const today = calendar.locate(clock.now()).day;
      const fromDay = today - windowDays;
      const seen = activity(subjectId, calendar, { fromDay, toDay: today, until: calendar.start(today) });
      // The day the readings began is only part of a day: it would teach a quiet morning.
      const days = seen.days.filter(
        (day) => seen.firstAt !== null && calendar.start(dayNumber(day.day)) > seen.firstAt,
      );
      const model = trainRoutine(days);
      const flagged = flaggedDays(model, days);
      const trainMs = Math.round(performance.now() - started);
      const row = db.transaction(() => {
        const latest =
          db
            .select({ version: max(routineModels.version) })
            .from(routineModels)
            .where(eq(routineModels.subjectId, subjectId))
            .get()?.version ?? 0;
        const inserted = db
          .insert(routineModels)
          .values({
            subjectId,
            version: latest + 1,
            trainedAt: clock.now(),
            windowFrom: calendar.start(fromDay),
            windowTo: calendar.start(today),
            daysUsed: days.length,
            streams: new Set(days.flatMap((day) => Object.keys(day.streams))).size,
            slots: SLOTS,
            flaggedDays: flagged,
            trainMs,
            ready: model.refusal === null,
            note: model.refusal,
            model,
          })
          .returning()
          .get();
        const active = activeRow(subjectId);
        if (inserted.ready || !active) setActive(subjectId, inserted.version);
        return inserted;
      });
      if (row.ready) ensureRule(subjectId);
      service.prune(subjectId);
      deps.log?.info(
        { subject: subjectId, version: row.version, days: days.length, flagged, trainMs, ready: row.ready },
        'routine model trained',
      );
      return strip(versionRow(subjectId, row.version));
    },

    versions(subjectId: number): RoutineVersion[] {
      return db
        .select()
        .from(routineModels)
        .where(eq(routineModels.subjectId, subjectId))
        .orderBy(desc(routineModels.version))
        .all()
        .map(strip);
    },

    active(subjectId: number): RoutineVersion | null {
      const row = activeRow(subjectId);
      return row ? strip(row) : null;
    },

    /** The model of a version (for showing what it learned). */
    model(subjectId: number, version: number): RoutineModel {
      return versionRow(subjectId, version).model as RoutineModel;
    },

    activate(subjectId: number, version: number): RoutineVersion {
      deps.care.subject(subjectId);
      const row = versionRow(subjectId, version);
      if (!row.ready) throw new AppError(409, 'not_ready', `Version ${version} cannot score: ${row.note}.`);
      setActive(subjectId, version);
      return strip(versionRow(subjectId, version));
    },

    /** Back to the newest version before the active one that can score. */
    rollback(subjectId: number): RoutineVersion {
      deps.care.subject(subjectId);
      const active = activeRow(subjectId);
      if (!active) throw notFound('Active routine model');
      const previous = db
        .select()
        .from(routineModels)
        .where(
          and(
            eq(routineModels.subjectId, subjectId),
            lt(routineModels.version, active.version),
            eq(routineModels.ready, true),
          ),
        )
        .orderBy(desc(routineModels.version))
        .get();
      if (!previous) throw new AppError(409, 'no_previous', 'There is no earlier version to go back to.');
      setActive(subjectId, previous.version);
      return strip(versionRow(subjectId, previous.version));
    },

    /** Keeps the newest `keepVersions` and the active one. */
    prune(subjectId: number): number {
      const keep = db
        .select({ id: routineModels.id })
        .from(routineModels)
        .where(eq(routineModels.subjectId, subjectId))
        .orderBy(desc(routineModels.version))
        .limit(keepVersions)
        .all()
        .map((row) => row.id);
      const active = activeRow(subjectId);
      if (active) keep.push(active.id);
      return db
        .delete(routineModels)
        .where(and(eq(routineModels.subjectId, subjectId), notInArray(routineModels.id, keep)))
        .run().changes;
    },

    /** What the API shows: the active version, every kept version with its figures, and the day so far. */
    status(subjectId: number) {
      deps.care.subject(subjectId);
      return {
        active: service.active(subjectId),
        versions: service.versions(subjectId),
        now: service.score(subjectId),
      };
    },

    /** The day so far against the active model; refuses (with why) without one or with too little data. */
    score(subjectId: number): RoutineCheck {
      const row = activeRow(subjectId);
      if (!row) return { ready: false, reason: 'no routine model has been trained yet' };
      const now = clock.now();
      const calendar = routineCalendar(deps.timeZone());
      const { day, minute } = calendar.locate(now);
      const [today] = activity(subjectId, calendar, { fromDay: day, toDay: day + 1, until: now + 1 }, [
        day,
      ]).days;
      const result: DayScore = scoreDay(row.model as RoutineModel, today!, minute);
      if (!result.ready) return result;
      return {
        ready: true,
        version: row.version,
        at: now,
        score: result.score,
        state: result.score > ALARM_SCORE ? 'anomaly' : 'normal',
        reasons: result.reasons,
      };
    },

    /** Scores the day so far and tells care, as a signal about this subject only. */
    check(subjectId: number): RoutineCheck {
      const result = service.score(subjectId);
      if (!result.ready) return result;
      // Care keeps the signals that made a rule fire as the incident's evidence: the reasons go with them.
      const signal: Signal = {
        at: result.at,
        kind: 'routine',
        sensor: routineSensor(subjectId),
        value: result.score,
        state: result.state,
        detail: result.reasons,
      };
      deps.care.signal({ subjectId }, signal);
      return result;
    },

    /** Every subject with an active model that can score. */
    checkAll(): Map<number, RoutineCheck> {
      const subjectIds = db
        .select({ subjectId: routineModels.subjectId })
        .from(routineModels)
        .where(and(eq(routineModels.active, true), eq(routineModels.ready, true)))
        .all();
      return new Map(subjectIds.map(({ subjectId }) => [subjectId, service.check(subjectId)]));
    },

    /** Whether a version was trained since the current routine day began (04:00 in the household zone). */
    trainedToday(subjectId: number): boolean {
      const calendar = routineCalendar(deps.timeZone());
      const start = calendar.start(calendar.locate(clock.now()).day);
      return !!db
        .select({ id: routineModels.id })
        .from(routineModels)
        .where(and(eq(routineModels.subjectId, subjectId), gte(routineModels.trainedAt, start)))
        .get();
    },

    /** Subjects a nightly retraining is for: elders, and anyone who has a model already. */
    subjectsToTrain(): number[] {
      const withModels = new Set(
        db
          .selectDistinct({ subjectId: routineModels.subjectId })
          .from(routineModels)
          .all()
          .map((row) => row.subjectId),
      );
      return deps.care
        .listSubjects()
        .filter(
          (subject) =>
            subject.deviceIds.length > 0 && (subject.kind === 'elder' || withModels.has(subject.id)),
        )
        .map((subject) => subject.id);
    },
  };
  return service;
}

export type RoutineService = ReturnType<typeof createRoutineService>;
