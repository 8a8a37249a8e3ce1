import type { Reading } from '@hearth/hub/protocol';
import Database from 'better-sqlite3';

export interface OutboxLimits {
  /** Readings older than this are dropped first when the hub is away for long. */
  maxDays: number;
  /** At most this many readings wait; the oldest go first (counted, warned once per drop). */
  maxRows: number;
}

export type NewReading = Omit<Reading, 'seq'>;

/**
 * The node's durable queue of readings and its memory of commands, in one SQLite file in the state dir.
 * A reading is appended (synchronous=FULL: on disk before `append` returns) and numbered; it is deleted
 * only after the hub acknowledged its sequence, or when the bounds make room.
 */
export function openOutbox(file: string, limits: OutboxLimits, now: () => number = Date.now) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS readings (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL, sensor TEXT NOT NULL, kind TEXT NOT NULL,
      value REAL, state TEXT, confidence REAL);
    CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS segment_reports (
      rel_path TEXT PRIMARY KEY, placed_at INTEGER NOT NULL, reported INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS commands (
      id INTEGER PRIMARY KEY, kind TEXT NOT NULL, claimed_at INTEGER NOT NULL,
      result TEXT, detail TEXT, reported INTEGER NOT NULL DEFAULT 0);
  `);
  const insert = db.prepare(
    'INSERT INTO readings (at, sensor, kind, value, state, confidence) VALUES (@at, @sensor, @kind, @value, @state, @confidence)',
  );
  const counter = db.prepare('SELECT value FROM counters WHERE name = ?').pluck();
  const bump = db.prepare(
    'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value',
  );
  const setCounter = db.prepare(
    'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
  );
  const count = db.prepare('SELECT COUNT(*) FROM readings').pluck();
  const lastOfOldest = db
    .prepare('SELECT MAX(seq) FROM (SELECT seq FROM readings ORDER BY seq LIMIT ?)')
    .pluck();
  const dropThrough = db.prepare('DELETE FROM readings WHERE seq <= ?');
  const lastBefore = db.prepare('SELECT MAX(seq) FROM readings WHERE at < ?').pluck();
  const batch = db.prepare('SELECT * FROM readings WHERE seq > ? ORDER BY seq LIMIT ?');
  const trim = db.prepare('DELETE FROM readings WHERE seq <= ?');

  const append = db.transaction((reading: NewReading): { seq: number; dropped: number } => {
    const { lastInsertRowid } = insert.run({
      at: reading.at,
      sensor: reading.sensor,
      kind: reading.kind,
      value: reading.value ?? null,
      state: reading.state ?? null,
      confidence: reading.confidence ?? null,
    });
    // Too old, or too many: the oldest go, and the hub is told they will never come (`droppedThrough`).
    let through = (lastBefore.get(now() - limits.maxDays * 86_400_000) as number | null) ?? 0;
    const over = (count.get() as number) - limits.maxRows;
    if (over > 0) through = Math.max(through, (lastOfOldest.get(over) as number | null) ?? 0);
    const dropped = through ? dropThrough.run(through).changes : 0;
    if (dropped) {
      bump.run('dropped', dropped);
      setCounter.run(
        'dropped_through',
        Math.max(through, (counter.get('dropped_through') as number | undefined) ?? 0),
      );
    }
    return { seq: Number(lastInsertRowid), dropped };
  });

  return {
    /** Numbered and on disk when this returns. */
    append,
    /** The oldest readings the hub has not acknowledged (after `acked`). */
    unsent(limit: number): Reading[] {
      const acked = (counter.get('acked') as number | undefined) ?? 0;
      return (batch.all(acked, limit) as Record<string, number | string | null>[]).map((row) => ({
        seq: row.seq as number,
        at: row.at as number,
        sensor: row.sensor as string,
        kind: row.kind as string,
        ...(row.value !== null ? { value: row.value as number } : {}),
        ...(row.state !== null ? { state: row.state as string } : {}),
        ...(row.confidence !== null ? { confidence: row.confidence as number } : {}),
      }));
    },
    /** The hub has every reading up to `seq`: they go. */
    acknowledge: db.transaction((seq: number) => {
      const acked = (counter.get('acked') as number | undefined) ?? 0;
      if (seq <= acked) return;
      setCounter.run('acked', seq);
      trim.run(seq);
    }),
    stats() {
      return {
        pending: count.get() as number,
        dropped: (counter.get('dropped') as number | undefined) ?? 0,
        acked: (counter.get('acked') as number | undefined) ?? 0,
        droppedThrough: (counter.get('dropped_through') as number | undefined) ?? 0,
      };
    },

    /**
     * Records a command before it runs. Returns false when this id was claimed before (run, or cut short
     * by a crash): it must not run again.
     */
    claimCommand(id: number, kind: string): boolean {
      return (
        db
          .prepare('INSERT OR IGNORE INTO commands (id, kind, claimed_at) VALUES (?, ?, ?)')
          .run(id, kind, now()).changes === 1
      );
    },
    finishCommand(id: number, result: 'done' | 'failed', detail: string) {
      db.prepare('UPDATE commands SET result = ?, detail = ? WHERE id = ?').run(result, detail, id);
    },
    commandOutcome(id: number): { result: 'done' | 'failed' | null; detail: string | null } | undefined {
      return db.prepare('SELECT result, detail FROM commands WHERE id = ?').get(id) as
        | { result: 'done' | 'failed' | null; detail: string | null }
        | undefined;
    },
    markReported(id: number) {
      db.prepare('UPDATE commands SET reported = 1 WHERE id = ?').run(id);
    },
    /** Finished commands whose result the hub has not confirmed (the node restarted before it could tell). */
    unreported(): { id: number; result: 'done' | 'failed'; detail: string }[] {
      return db
        .prepare('SELECT id, result, detail FROM commands WHERE reported = 0 AND result IS NOT NULL')
        .all() as { id: number; result: 'done' | 'failed'; detail: string }[];
    },
    /** A segment is on the NAS: the hub must hear of it (kept until it has). */
    segmentPlaced(relPath: string) {
      db.prepare('INSERT OR IGNORE INTO segment_reports (rel_path, placed_at) VALUES (?, ?)').run(
        relPath,
        now(),
      );
    },
    unreportedSegments(): string[] {
      return db
        .prepare('SELECT rel_path FROM segment_reports WHERE reported = 0 ORDER BY placed_at, rel_path')
        .pluck()
        .all() as string[];
    },
    segmentReported(relPath: string) {
      db.prepare('UPDATE segment_reports SET reported = 1 WHERE rel_path = ?').run(relPath);
    },
    close: () => db.close(),
  };
}

export type Outbox = ReturnType<typeof openOutbox>;
