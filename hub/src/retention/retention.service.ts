import { and, asc, desc, eq, gt, inArray, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import type { SystemEventService } from '../events/system-events.service.js';
import type { Logger } from '../log/logger.js';
import { segments } from '../recording/recording.schema.js';
import { settings } from '../settings/settings.schema.js';
import { type FsWorker, isStorageError, type NasGuard } from '../storage/index.js';
import { pendingDeletions, retentionDeletions } from './retention.schema.js';

export const DAY = 24 * 3600_000;
/** The window of recent footage the daily rate is averaged over. */
export const RATE_WINDOW_DAYS = 3;
const SETTINGS_KEY = 'retention';
const BATCH = 200;

const dayLimits = z
  .object({
    /** 0: no maximum. */
    maxDays: z.number().int().min(0).max(3650),
    minDays: z.number().int().min(0).max(3650),
  })
  .strict();

/** The storage budget of recordings on the NAS. Stored as one JSON value in `settings`. */
export const budgetSchema = z
  .object({
    /** Recordings on the NAS may use at most this many bytes; 0: no cap. */
    maxBytes: z.number().int().min(0),
    minFreePercent: z.number().min(0).max(50),
    minFreeBytes: z.number().int().min(0),
    /** For every camera without its own override. */
    defaults: dayLimits,
    /** Per-camera overrides by camera id; a missing field falls back to `defaults`. */
    cameras: z.record(cameraIdSchema, dayLimits.partial().strict()),
  })
  .strict();
export type Budget = z.infer<typeof budgetSchema>;
export const budgetPatchSchema = budgetSchema.partial().strict();
export type BudgetPatch = z.infer<typeof budgetPatchSchema>;

export interface CameraUsage {
  cameraId: string;
  usedBytes: number;
  segments: number;
  /** Start of the oldest segment, ms; null without footage. */
  oldest: number | null;
  /** Average bytes per day over the last RATE_WINDOW_DAYS days of footage, or the span available. */
  dailyBytes: number;
  /** Days of this camera's footage that fit at its current rate under the current limits; null without a rate. */
  forecastDays: number | null;
}

export interface RetentionLimits extends Budget {
  /** The free-space floor in bytes right now: max(minFreeBytes, minFreePercent × NAS size). */
  minFreeEffectiveBytes: number | null;
  /** Bytes recordings may occupy on the NAS: min(maxBytes, NAS recordings + free − min free); null when unknown. */
  capacityBytes: number | null;
}

export interface RetentionRunReport {
  deleted: number;
  bytes: number;
  perCamera: Record<string, { count: number; bytes: number }>;
  /** Cameras whose minimum days the global limits broke. */
  brokenMinimums: string[];
  finishedPending: number;
  skipped?: string;
}

export class RetentionRefused extends Error {}

type Candidate = { id: number; cameraId: string; relPath: string; bytes: number; startAt: number };

export function createRetentionService(deps: {
  db: Db;
  clock: Clock;
  fs: FsWorker;
  guard: Pick<NasGuard, 'current'>;
  nasRoot: string;
  config: Config['retention'];
  demo: boolean;
  systemEvents: SystemEventService;
  log: Logger;
}) {
  const { db, clock } = deps;
  const baseDefaults: Budget = {
    maxBytes: deps.config.maxBytes,
    minFreePercent: deps.demo ? Math.min(deps.config.minFreePercent, 1) : deps.config.minFreePercent,
    minFreeBytes: deps.demo ? Math.min(deps.config.minFreeBytes, 256 * 1024 ** 2) : deps.config.minFreeBytes,
    defaults: { maxDays: deps.config.maxDays, minDays: deps.config.minDays },
    cameras: {},
  };

  function read(): Budget {
    const row = db.select().from(settings).where(eq(settings.key, SETTINGS_KEY)).get();
    const parsed = budgetSchema.safeParse({ ...baseDefaults, ...(row?.value as object | undefined) });
    return parsed.success ? parsed.data : baseDefaults;
  }

  function limitsFor(budget: Budget, cameraId: string) {
    const own = budget.cameras[cameraId] ?? {};
    return {
      maxDays: own.maxDays ?? budget.defaults.maxDays,
      minDays: own.minDays ?? budget.defaults.minDays,
    };
  }

  function minFreeOf(budget: Budget, totalBytes: number | undefined): number | null {
    if (totalBytes === undefined) return null;
    return Math.max(budget.minFreeBytes, Math.ceil((budget.minFreePercent / 100) * totalBytes));
  }

  /** One aggregate over `segments`, grouped by camera (uses `segments_camera_start_idx`). */
  function aggregate(now: number) {
    const since = now - RATE_WINDOW_DAYS * DAY;
    return db.$client
      .prepare(
        `select camera_id as cameraId, count(*) as n, sum(bytes) as used, min(start_at) as oldest,
           sum(case when location = 'nas' then bytes else 0 end) as nasBytes,
           sum(case when location = 'nas' and protected = 1 then bytes else 0 end) as protectedBytes,
           sum(case when start_at >= ? then bytes else 0 end) as recentBytes,
           min(case when start_at >= ? then start_at end) as recentFrom
         from segments group by camera_id`,
      )
      .all(since, since) as {
      cameraId: string;
      n: number;
      used: number;
      oldest: number;
      nasBytes: number;
      protectedBytes: number;
      recentBytes: number;
      recentFrom: number | null;
    }[];
  }

  /**
   * The forecast. capacity C = min(maxBytes (when set), NAS recordings + free − min free) − protected
   * bytes. Capacity is shared by rate, so every camera gets the same C / Σrate days, except that a
   * camera capped by its max days takes only maxDays × rate and leaves the rest to the others
   * (water-filling, smallest caps first). A camera without a rate has no forecast.
   */
  function usage(budget: Budget = read()): { limits: RetentionLimits; cameras: CameraUsage[] } {
    const now = clock.now();
    const rows = aggregate(now);
    const health = deps.guard.current();
    const nasBytes = rows.reduce((sum, row) => sum + row.nasBytes, 0);
    const protectedBytes = rows.reduce((sum, row) => sum + row.protectedBytes, 0);
    const minFree = minFreeOf(budget, health.totalBytes);
    let capacity: number | null = budget.maxBytes > 0 ? budget.maxBytes : null;
    if (health.freeBytes !== undefined && minFree !== null) {
      const byDisk = nasBytes + health.freeBytes - minFree;
      capacity = capacity === null ? byDisk : Math.min(capacity, byDisk);
    }
    const cameras = rows.map((row) => {
      const windowStart = row.recentFrom ?? now;
      const span = Math.max(now - windowStart, 60_000);
      return {
        cameraId: row.cameraId,
        usedBytes: row.used,
        segments: row.n,
        oldest: row.oldest ?? null,
        dailyBytes: row.recentBytes > 0 ? Math.round((row.recentBytes * DAY) / span) : 0,
        forecastDays: null as number | null,
      };
    });
    if (capacity !== null) {
      let remaining = Math.max(0, capacity - protectedBytes);
      const rated = cameras
        .filter((camera) => camera.dailyBytes > 0)
        .map((camera) => ({ camera, maxDays: limitsFor(budget, camera.cameraId).maxDays || Infinity }))
        .sort((a, b) => a.maxDays - b.maxDays);
      let rate = rated.reduce((sum, entry) => sum + entry.camera.dailyBytes, 0);
      for (const entry of rated) {
        const even = remaining / rate;
        if (entry.maxDays <= even) {
          entry.camera.forecastDays = entry.maxDays;
          remaining -= entry.maxDays * entry.camera.dailyBytes;
          rate -= entry.camera.dailyBytes;
        } else {
          entry.camera.forecastDays = Math.round(even * 10) / 10;
        }
      }
    }
    return { limits: { ...budget, minFreeEffectiveBytes: minFree, capacityBytes: capacity }, cameras };
  }

  /** Refuses a budget whose minimums cannot hold: min above max, or all minimums together above capacity. */
  function check(budget: Budget): void {
    const ids = new Set([...Object.keys(budget.cameras)]);
    const current = usage(budget);
    for (const camera of current.cameras) ids.add(camera.cameraId);
    let needed = 0;
    const needs: string[] = [];
    for (const id of ids) {
      const { maxDays, minDays } = limitsFor(budget, id);
      if (maxDays > 0 && minDays > maxDays)
        throw new RetentionRefused(`${id}: minimum ${minDays} days is above the maximum of ${maxDays} days.`);
      const rate = current.cameras.find((camera) => camera.cameraId === id)?.dailyBytes ?? 0;
      if (minDays > 0 && rate > 0) {
        needed += minDays * rate;
        needs.push(`${id} ${minDays} d × ${formatBytes(rate)}/day`);
      }
    }
    const capacity = current.limits.capacityBytes;
    if (capacity !== null && needed > capacity) {
      throw new RetentionRefused(
        `The minimum days do not fit at the current daily rates: they need ${formatBytes(needed)} (${needs.join(', ')}) but only ${formatBytes(Math.max(0, capacity))} fit under the global limits.`,
      );
    }
  }

  function save(budget: Budget): Budget {
    check(budget);
    const now = new Date(clock.now());
    db.insert(settings)
      .values({ key: SETTINGS_KEY, value: budget, updatedAt: now })
      .onConflictDoUpdate({ target: settings.key, set: { value: budget, updatedAt: now } })
      .run();
    return read();
  }

  /** Step 1 of a deletion: rows gone and their paths pending, in one transaction. */
  function claim(batch: Candidate[], reason: string): void {
    const at = clock.now();
    db.transaction((tx) => {
      tx.delete(segments)
        .where(
          inArray(
            segments.id,
            batch.map((c) => c.id),
          ),
        )
        .run();
      tx.insert(pendingDeletions)
        .values(batch.map((c) => ({ relPath: c.relPath, createdAt: at })))
        .onConflictDoNothing()
        .run();
      tx.insert(retentionDeletions)
        .values(
          batch.map((c) => ({
            at,
            cameraId: c.cameraId,
            relPath: c.relPath,
            startAt: c.startAt,
            bytes: c.bytes,
            reason,
          })),
        )
        .run();
    });
  }

  /** Steps 2 and 3: unlink each file through the fs worker, then clear its pending record. */
  async function finish(relPaths: string[]): Promise<void> {
    for (const relPath of relPaths) {
      try {
        await deps.fs.unlink(`${deps.nasRoot}/${relPath}`);
      } catch (error) {
        if (!(isStorageError(error) && error.errno === 'ENOENT')) throw error;
      }
    }
    db.transaction((tx) => {
      tx.delete(pendingDeletions).where(inArray(pendingDeletions.relPath, relPaths)).run();
      // A reconcile that walked the file before it was unlinked may have re-indexed it.
      tx.delete(segments)
        .where(and(eq(segments.location, 'nas'), inArray(segments.relPath, relPaths)))
        .run();
    });
  }

  /** Deletions a crash interrupted between the row and the file. */
  async function finishPending(): Promise<number> {
    let done = 0;
    for (;;) {
      const rows = db.select().from(pendingDeletions).orderBy(asc(pendingDeletions.id)).limit(BATCH).all();
      if (rows.length === 0) return done;
      await finish(rows.map((row) => row.relPath));
      done += rows.length;
    }
  }

  function oldestUnprotected(after: { startAt: number; id: number } | null, limit: number): Candidate[] {
    return db
      .select({
        id: segments.id,
        cameraId: segments.cameraId,
        relPath: segments.relPath,
        bytes: segments.bytes,
        startAt: segments.startAt,
      })
      .from(segments)
      .where(
        and(
          eq(segments.location, 'nas'),
          eq(segments.protected, false),
          after
            ? or(
                gt(segments.startAt, after.startAt),
                and(eq(segments.startAt, after.startAt), gt(segments.id, after.id)),
              )
            : undefined,
        ),
      )
      .orderBy(asc(segments.startAt), asc(segments.id))
      .limit(limit)
      .all();
  }

  async function runRetention(signal?: AbortSignal): Promise<RetentionRunReport> {
    const report: RetentionRunReport = {
      deleted: 0,
      bytes: 0,
      perCamera: {},
      brokenMinimums: [],
      finishedPending: 0,
    };
    // An unmounted NAS looks empty and its free space is the SD card's: decide nothing then.
    if (!deps.guard.current().healthy) return { ...report, skipped: 'nas_unhealthy' };
    report.finishedPending = await finishPending();
    const budget = read();
    const now = clock.now();

    async function remove(batch: Candidate[], reason: string) {
      if (batch.length === 0) return;
      claim(batch, reason);
      await finish(batch.map((c) => c.relPath));
      for (const c of batch) {
        const entry = report.perCamera[c.cameraId] ?? { count: 0, bytes: 0 };
        report.perCamera[c.cameraId] = entry;
        entry.count += 1;
        entry.bytes += c.bytes;
        report.deleted += 1;
        report.bytes += c.bytes;
      }
    }

    // (a) Older than the camera's max days.
    const cameraIds = db.selectDistinct({ id: segments.cameraId }).from(segments).all();
    for (const { id } of cameraIds) {
      const { maxDays } = limitsFor(budget, id);
      if (maxDays <= 0) continue;
      const cutoff = now - maxDays * DAY;
      for (;;) {
        if (signal?.aborted) return report;
        const batch = db
          .select({
            id: segments.id,
            cameraId: segments.cameraId,
            relPath: segments.relPath,
            bytes: segments.bytes,
            startAt: segments.startAt,
          })
          .from(segments)
          .where(
            and(
              eq(segments.cameraId, id),
              eq(segments.location, 'nas'),
              eq(segments.protected, false),
              lt(segments.endAt, cutoff),
            ),
          )
          .orderBy(asc(segments.startAt))
          .limit(BATCH)
          .all();
        if (batch.length === 0) break;
        await remove(batch, 'max_days');
      }
    }

    // How many bytes the global limits still want gone: over the cap, or under the free-space floor.
    const nasBytes =
      db
        .select({ total: sql<number>`coalesce(sum(${segments.bytes}), 0)` })
        .from(segments)
        .where(eq(segments.location, 'nas'))
        .get()?.total ?? 0;
    let excess = budget.maxBytes > 0 ? nasBytes - budget.maxBytes : 0;
    const space = await deps.fs.statfs(deps.nasRoot);
    const minFree = minFreeOf(budget, space.totalBytes) ?? 0;
    excess = Math.max(excess, minFree - space.freeBytes);

    // (b) Oldest first, sparing footage inside its camera's minimum days.
    let after: { startAt: number; id: number } | null = null;
    while (excess > 0 && !signal?.aborted) {
      const page = oldestUnprotected(after, BATCH);
      if (page.length === 0) break;
      after = { startAt: page.at(-1)!.startAt, id: page.at(-1)!.id };
      const batch: Candidate[] = [];
      for (const c of page) {
        if (excess <= 0) break;
        const { minDays } = limitsFor(budget, c.cameraId);
        if (minDays > 0 && c.startAt >= now - minDays * DAY) continue;
        batch.push(c);
        excess -= c.bytes;
      }
      await remove(batch, 'global');
    }

    // (c) Still over: the global limits win over minimum days; say whose minimum broke.
    const broken = new Set<string>();
    while (excess > 0 && !signal?.aborted) {
      const page = oldestUnprotected(null, BATCH);
      if (page.length === 0) break;
      const batch: Candidate[] = [];
      for (const c of page) {
        if (excess <= 0) break;
        batch.push(c);
        broken.add(c.cameraId);
        excess -= c.bytes;
      }
      await remove(batch, 'global_min_broken');
    }
    report.brokenMinimums = [...broken];
    if (broken.size > 0) {
      deps.systemEvents.record({
        kind: 'retention.min_days_broken',
        severity: 'warning',
        subject: 'storage',
        message: `The storage limits forced deleting footage inside the minimum days of: ${[...broken].join(', ')}.`,
        details: {
          cameras: [...broken].map((id) => ({ cameraId: id, minDays: limitsFor(budget, id).minDays })),
        },
      });
    }
    if (excess > 0) {
      deps.log.warn({ excess }, 'retention: nothing unprotected is left to delete');
    }
    if (report.deleted > 0) {
      deps.log.info(report, 'retention removed recordings');
      deps.systemEvents.record({
        kind: 'retention.deleted',
        severity: 'info',
        subject: 'storage',
        message: `Retention deleted ${report.deleted} recording(s), ${formatBytes(report.bytes)}: ${Object.entries(
          report.perCamera,
        )
          .map(([id, entry]) => `${id} ${entry.count} (${formatBytes(entry.bytes)})`)
          .join(', ')}.`,
        details: report,
      });
    }
    return report;
  }

  return {
    read,
    usage,
    /** Replaces the whole budget; throws RetentionRefused when its minimums cannot hold. */
    replace: (budget: Budget) => save(budget),
    /** Merges top-level fields (`cameras` is replaced as a whole). */
    update: (patch: BudgetPatch) => save({ ...read(), ...patch } as Budget),
    runRetention,
    finishPending,
    /** True when the guard's last look at the NAS shows less free space than the floor. */
    belowFreeFloor(): boolean {
      const health = deps.guard.current();
      if (!health.healthy || health.freeBytes === undefined) return false;
      const minFree = minFreeOf(read(), health.totalBytes);
      return minFree !== null && health.freeBytes < minFree;
    },
    recentDeletions(limit: number) {
      return db.select().from(retentionDeletions).orderBy(desc(retentionDeletions.id)).limit(limit).all();
    },
    /** For tests of crash consistency: the row half of a deletion, without the unlink. */
    _claim: claim,
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
