import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Steps a history may be drawn at: each a multiple of the table it is read from. */
const STEPS = [
  1_000,
  5_000,
  10_000,
  30_000,
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
];

export interface HistoryPoint {
  /** Bucket start, ms. */
  t: number;
  /** Readings in the bucket (values and states). */
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** The last state in the bucket (crying, motion…), if the kind has states. */
  last: string | null;
}

export interface History {
  step: number;
  source: 'raw' | 'minute' | 'hour';
  points: HistoryPoint[];
}

interface Row {
  t: number;
  count: number;
  valueCount: number;
  min: number | null;
  max: number | null;
  sum: number | null;
  last: string | null;
}

/** The smallest step that keeps the points under `maxPoints`, from the list above. */
export function chooseStep(from: number, to: number, maxPoints: number): number {
  const wanted = (to - from) / maxPoints;
  return STEPS.find((step) => step >= wanted) ?? DAY;
}

/**
 * Readings over time: per-minute and per-hour rollups filled incrementally from the raw readings, raw readings
 * kept `rawDays`, rollups `rollupDays`; queries at a chosen step read the coarsest table that fits it.
 */
export function createHistory(deps: { db: Db; clock: Clock; rawDays: number; rollupDays: number }) {
  const $ = deps.db.$client;
  const progress = $.prepare<[], number>('SELECT last_row_id FROM rollup_progress WHERE id = 1').pluck();
  const setProgress = $.prepare(
    'INSERT INTO rollup_progress (id, last_row_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_row_id = excluded.last_row_id',
  );
  const batchEnd = $.prepare<[number, number], number | null>(
    'SELECT MAX(rowid) FROM (SELECT rowid FROM node_readings WHERE rowid > ? ORDER BY rowid LIMIT ?)',
  ).pluck();
  // A bare column next to MAX() takes its value from the row with the maximum (SQLite): the last state.
  const merge = (size: number) =>
    $.prepare(`
      INSERT INTO reading_rollups
        (device_id, sensor, kind, resolution, bucket_start, count, value_count, min, max, sum, last_state, last_at)
      SELECT device_id, sensor, kind, '${size === MINUTE ? 'minute' : 'hour'}', (at / ${size}) * ${size} AS bucket,
             COUNT(*), COUNT(value), MIN(value), MAX(value), SUM(value), state, MAX(at)
        FROM node_readings WHERE rowid > ? AND rowid <= ?
       GROUP BY device_id, sensor, kind, bucket
      ON CONFLICT (device_id, kind, resolution, bucket_start, sensor) DO UPDATE SET
        count = count + excluded.count,
        value_count = value_count + excluded.value_count,
        min = CASE WHEN min IS NULL THEN excluded.min WHEN excluded.min IS NULL THEN min ELSE MIN(min, excluded.min) END,
        max = CASE WHEN max IS NULL THEN excluded.max WHEN excluded.max IS NULL THEN max ELSE MAX(max, excluded.max) END,
        sum = CASE WHEN sum IS NULL THEN excluded.sum WHEN excluded.sum IS NULL THEN sum ELSE sum + excluded.sum END,
        last_state = CASE WHEN excluded.last_at >= last_at THEN excluded.last_state ELSE last_state END,
        last_at = MAX(last_at, excluded.last_at)`);
  const mergeMinutes = merge(MINUTE);
  const mergeHours = merge(HOUR);

  function inList(ids: number[]) {
    return (
      ids
        .map((id) => Number(id))
        .filter(Number.isInteger)
        .join(',') || 'NULL'
    );
  }

  const history = {
    /** Rolls up what arrived since the last call (at most `batch` rows at a time); returns the rows taken. */
    rollup(batch = 50_000): number {
      let total = 0;
      for (;;) {
        const taken = $.transaction(() => {
          const from = progress.get() ?? 0;
          const to = batchEnd.get(from, batch);
          if (!to) return 0;
          mergeMinutes.run(from, to);
          mergeHours.run(from, to);
          setProgress.run(to);
          return to - from;
        })();
        total += taken;
        if (taken === 0) return total;
      }
    },

    /** Raw readings past `rawDays` (once rolled up) and rollups past `rollupDays`. */
    prune(): { readings: number; rollups: number } {
      history.rollup();
      const now = deps.clock.now();
      const readings = $.prepare('DELETE FROM node_readings WHERE at < ? AND rowid <= ?').run(
        now - deps.rawDays * DAY,
        progress.get() ?? 0,
      ).changes;
      const rollups = $.prepare('DELETE FROM reading_rollups WHERE bucket_start < ?').run(
        now - deps.rollupDays * DAY,
      ).changes;
      return { readings, rollups };
    },

    /**
     * A kind's history across some nodes, at `step` (ms, from the list) or chosen for `maxPoints`. Steps under a
     * minute read raw readings; a range older than the raw readings are kept reads the minute rollups.
     */
    query(options: {
      deviceIds: number[];
      kind: string;
      sensor?: string | undefined;
      from: number;
      to: number;
      step?: number | undefined;
      maxPoints?: number | undefined;
    }): History {
      history.rollup();
      const rawSince = deps.clock.now() - deps.rawDays * DAY;
      let step = options.step ?? chooseStep(options.from, options.to, options.maxPoints ?? 500);
      if (step < MINUTE && options.from < rawSince) step = MINUTE;
      const source = step < MINUTE ? 'raw' : step < HOUR ? 'minute' : 'hour';
      const from = Math.floor(options.from / step) * step;
      const sensor = options.sensor === undefined ? '' : 'AND sensor = @sensor';
      // The step is written into the SQL as an integer: bound, it would be a REAL and divide exactly.
      const params = {
        from,
        to: options.to,
        kind: options.kind,
        ...(options.sensor === undefined ? {} : { sensor: options.sensor }),
      };
      const rows =
        source === 'raw'
          ? $.prepare<Record<string, unknown>, Row>(`
              SELECT (at / ${Math.trunc(step)}) * ${Math.trunc(step)} AS t, COUNT(*) AS count, COUNT(value) AS valueCount, MIN(value) AS min,
                     MAX(value) AS max, SUM(value) AS sum, state AS last, MAX(at)
                FROM node_readings
               WHERE device_id IN (${inList(options.deviceIds)}) AND kind = @kind ${sensor}
                 AND at >= @from AND at < @to
               GROUP BY t ORDER BY t`).all(params)
          : $.prepare<Record<string, unknown>, Row>(`
              SELECT (bucket_start / ${Math.trunc(step)}) * ${Math.trunc(step)} AS t, SUM(count) AS count, SUM(value_count) AS valueCount,
                     MIN(min) AS min, MAX(max) AS max, SUM(sum) AS sum, last_state AS last, MAX(last_at)
                FROM reading_rollups
               WHERE resolution = @resolution AND device_id IN (${inList(options.deviceIds)}) AND kind = @kind ${sensor}
                 AND bucket_start >= @from AND bucket_start < @to
               GROUP BY t ORDER BY t`).all({ ...params, resolution: source });
      return {
        step,
        source,
        points: rows.map((row) => ({
          t: row.t,
          count: row.count,
          min: row.min,
          max: row.max,
          mean: row.valueCount > 0 && row.sum !== null ? row.sum / row.valueCount : null,
          last: row.last,
        })),
      };
    },
  };
  return history;
}

/** The same points as CSV: UTF-8, a header line, ISO-8601 UTC times, `\n` line ends. */
export function historyCsv(points: HistoryPoint[]): string {
  const cell = (value: string | number | null) => {
    if (value === null) return '';
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = points.map((p) =>
    [new Date(p.t).toISOString(), p.count, p.min, p.max, p.mean, p.last].map(cell).join(','),
  );
  return `time,count,min,max,mean,last\n${lines.map((line) => `${line}\n`).join('')}`;
}

export type HistoryService = ReturnType<typeof createHistory>;
