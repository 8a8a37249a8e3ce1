import { and, asc, desc, eq, gt, inArray, lt, notExists, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { detectionEventSegments } from '../ai/detections/detections.schema.js';
import { type CameraPriority, cameras } from '../cameras/cameras.schema.js';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
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
const UNLINKS_IN_FLIGHT = 8;
/** At most one `retention.deleted` system event per this long; the deletions list has every item. */
const EVENT_EVERY_MS = 10 * 60_000;

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
    /** Own caps of the other categories on the NAS (exports, photos, backups); 0: only the global limits. */
    categories: z.record(
      z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a category name'),
      z.object({ maxBytes: z.number().int().min(0) }).strict(),
    ),
  })
  .strict();
export type Budget = z.infer<typeof budgetSchema>;
export const budgetPatchSchema = budgetSchema.partial().strict();
export type BudgetPatch = z.infer<typeof budgetPatchSchema>;

/** One deletable thing of a category other than recordings. */
export interface StorageItem {
  key: string;
  /** When it was made, ms: the deleter removes the oldest first across all categories. */
  at: number;
  bytes: number;
  cameraId?: string;
  relPath?: string;
}

/**
 * A kind of file that shares the NAS with recordings. Features register theirs with the retention
 * service instead of deleting on their own schedule, so one budget decides for all of them.
 */
export interface StorageCategory {
  name: string;
  usage(): { usedBytes: number; items: number; oldest: number | null };
  /** Up to `limit` of its oldest items on the NAS that may be deleted automatically, oldest first. */
  oldest(limit: number): StorageItem[];
  /** Deletes rows and files; a crash in between must be repaired by the category's own sweep. */
  remove(items: StorageItem[]): Promise<void>;
}

export interface CategoryUsage {
  name: string;
  usedBytes: number;
  items: number;
  oldest: number | null;
  /** Its own cap; 0: none. */
  maxBytes: number;
}

/** What a storage-full pause needs from recording. */
export interface Recorders {
  /** Cameras with a recorder running or paused by storage, and their priority. */
  recordingCameras(): { cameraId: string; priority: CameraPriority }[];
  setPaused(cameraId: string, paused: boolean): void;
}

const PRIORITY_RANK: Record<CameraPriority, number> = { low: 0, normal: 1, high: 2 };

export interface CameraUsage {
  cameraId: string;
  usedBytes: number;
  segments: number;
  /** Bytes of protected footage, never deleted automatically. */
  protectedBytes: number;
  maxDays: number;
  minDays: number;
  /** Recording stopped because the storage is full and nothing unprotected is left. */
  recordingPaused: boolean;
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
  /** Bytes the limits still wanted gone when nothing unprotected was left. */
  shortfallBytes: number;
  paused: string[];
  resumed: string[];
  skipped?: string;
}

export interface LastRun {
  at: number;
  deleted: number;
  bytes: number;
  brokenMinimums: string[];
  shortfallBytes: number;
}

export class RetentionRefused extends Error {}

type Candidate = { id: number; cameraId: string; relPath: string; bytes: number; startAt: number };
/** What the deleter reads of a segment it may delete. */
const CANDIDATE = {
  id: segments.id,
  cameraId: segments.cameraId,
  relPath: segments.relPath,
  bytes: segments.bytes,
  startAt: segments.startAt,
};

export function createRetentionService(deps: {
  db: Db;
  clock: Clock;
  fs: FsWorker;
  guard: Pick<NasGuard, 'current'> & Partial<Pick<NasGuard, 'check'>>;
  nasRoot: string;
  config: Config['retention'];
  demo: boolean;
  systemEvents: SystemEventService;
  log: Logger;
  bus?: EventBus;
  recorders?: Recorders;
}) {
  const { db, clock } = deps;
  const baseDefaults: Budget = {
    maxBytes: deps.config.maxBytes,
    minFreePercent: deps.demo ? Math.min(deps.config.minFreePercent, 1) : deps.config.minFreePercent,
    minFreeBytes: deps.demo ? Math.min(deps.config.minFreeBytes, 256 * 1024 ** 2) : deps.config.minFreeBytes,
    defaults: { maxDays: deps.config.maxDays, minDays: deps.config.minDays },
    cameras: {},
    categories: {},
  };
  const categories = new Map<string, StorageCategory>();
  /** Cameras this service paused for want of space; resumed when space is back. */
  const paused = new Set<string>();
  let lastRun: LastRun | null = null;
  let running: Promise<RetentionRunReport> | null = null;
  let lastEventAt = Number.NEGATIVE_INFINITY;
  let unreported: Pick<RetentionRunReport, 'deleted' | 'bytes' | 'perCamera'> = {
    deleted: 0,
    bytes: 0,
    perCamera: {},
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
    const rows = aggregateSegments(since);
    // Cameras without footage (new, or paused before their first segment) still get a row.
    const seen = new Set(rows.map((row) => row.cameraId));
    for (const { id } of db.select({ id: cameras.id }).from(cameras).all()) {
      if (!seen.has(id))
        rows.push({
          cameraId: id,
          n: 0,
          used: 0,
          oldest: null,
          nasBytes: 0,
          protectedBytes: 0,
          recentBytes: 0,
          recentFrom: null,
        });
    }
    return rows;
  }

  /**
   * Totals come from `segment_totals` (kept by triggers, migration 0006); the oldest start and the recent
   * window are index range reads per camera, so this costs the same at a million rows as at a thousand.
   */
  function aggregateSegments(since: number) {
    const totals = db.$client
      .prepare(
        `select camera_id as cameraId, sum(n) as n, sum(bytes) as used,
           sum(case when location = 'nas' then bytes else 0 end) as nasBytes,
           sum(case when location = 'nas' and protected = 1 then bytes else 0 end) as protectedBytes
         from segment_totals group by camera_id having sum(n) > 0`,
      )
      .all() as { cameraId: string; n: number; used: number; nasBytes: number; protectedBytes: number }[];
    // Footage kept by detection events counts as protected too; read from the links (CROSS JOIN keeps
    // SQLite from scanning every segment instead), so it costs what the events hold.
    const eventKept = db.$client
      .prepare(
        `select s.camera_id as cameraId, sum(s.bytes) as bytes
         from (select distinct segment_id from detection_event_segments) d cross join segments s on s.id = d.segment_id
         where s.location = 'nas' and s.protected = 0 group by s.camera_id`,
      )
      .all() as { cameraId: string; bytes: number }[];
    for (const row of eventKept) {
      const total = totals.find((t) => t.cameraId === row.cameraId);
      if (total) total.protectedBytes += row.bytes;
    }
    const oldest = db.$client.prepare('select min(start_at) as at from segments where camera_id = ?');
    const recent = db.$client.prepare(
      'select coalesce(sum(bytes), 0) as bytes, min(start_at) as first from segments where camera_id = ? and start_at >= ?',
    );
    return totals.map((row) => {
      const window = recent.get(row.cameraId, since) as { bytes: number; first: number | null };
      return {
        ...row,
        oldest: (oldest.get(row.cameraId) as { at: number | null }).at,
        recentBytes: window.bytes,
        recentFrom: window.first,
      };
    });
  }

  function categoryUsage(budget: Budget): CategoryUsage[] {
    return [...categories.values()].map((category) => ({
      name: category.name,
      ...category.usage(),
      maxBytes: budget.categories[category.name]?.maxBytes ?? 0,
    }));
  }

  /**
   * The forecast. Recordings may occupy C = min(maxBytes − other categories (when a cap is set),
   * NAS recordings + free − min free); protected footage is subtracted, since it never goes. C is
   * shared by rate, so every camera gets the same C / Σrate days, except that a camera capped by its
   * max days takes only maxDays × rate and leaves the rest to the others (water-filling, smallest caps
   * first). A camera without a rate has no forecast.
   */
  function usage(budget: Budget = read()): {
    limits: RetentionLimits;
    categories: CategoryUsage[];
    cameras: CameraUsage[];
  } {
    const now = clock.now();
    const rows = aggregate(now);
    const health = deps.guard.current();
    const others = categoryUsage(budget);
    const otherBytes = others.reduce((sum, category) => sum + category.usedBytes, 0);
    const nasBytes = rows.reduce((sum, row) => sum + row.nasBytes, 0);
    const protectedBytes = rows.reduce((sum, row) => sum + row.protectedBytes, 0);
    const minFree = minFreeOf(budget, health.totalBytes);
    let capacity: number | null = budget.maxBytes > 0 ? budget.maxBytes - otherBytes : null;
    if (health.freeBytes !== undefined && minFree !== null) {
      const byDisk = nasBytes + health.freeBytes - minFree;
      capacity = capacity === null ? byDisk : Math.min(capacity, byDisk);
    }
    const cameras: CameraUsage[] = rows.map((row) => {
      const windowStart = row.recentFrom ?? now;
      const span = Math.max(now - windowStart, 60_000);
      return {
        cameraId: row.cameraId,
        usedBytes: row.used,
        segments: row.n,
        protectedBytes: row.protectedBytes,
        ...limitsFor(budget, row.cameraId),
        recordingPaused: paused.has(row.cameraId),
        oldest: row.oldest ?? null,
        dailyBytes: row.recentBytes > 0 ? Math.round((row.recentBytes * DAY) / span) : 0,
        forecastDays: null,
      };
    });
    if (capacity !== null) {
      let remaining = Math.max(0, capacity - protectedBytes);
      const rated = cameras
        .filter((camera) => camera.dailyBytes > 0)
        .map((camera) => ({ camera, maxDays: camera.maxDays || Infinity }))
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
    return {
      limits: { ...budget, minFreeEffectiveBytes: minFree, capacityBytes: capacity },
      categories: others,
      cameras,
    };
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
    // Nothing asked for (no minimums with a rate) always fits, even on a disk already past its floor.
    if (capacity !== null && needed > 0 && needed > capacity) {
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
    // A few unlinks in flight hide the worker's round trip; more would only queue on a NAS.
    let next = 0;
    const unlinkNext = async (): Promise<void> => {
      while (next < relPaths.length) {
        const relPath = relPaths[next++]!;
        try {
          await deps.fs.unlink(`${deps.nasRoot}/${relPath}`);
        } catch (error) {
          if (!(isStorageError(error) && error.errno === 'ENOENT')) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: UNLINKS_IN_FLIGHT }, unlinkNext));
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

  /** A detection event's footage is protected for as long as the event exists (ai/detections). */
  function eventLinks() {
    return db
      .select({ one: sql`1` })
      .from(detectionEventSegments)
      .where(eq(detectionEventSegments.segmentId, segments.id));
  }

  function oldestUnprotected(after: { startAt: number; id: number } | null, limit: number): Candidate[] {
    return db
      .select(CANDIDATE)
      .from(segments)
      .where(
        and(
          eq(segments.location, 'nas'),
          eq(segments.protected, false),
          notExists(eventLinks()),
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

  function note(report: RetentionRunReport, cameraId: string, bytes: number) {
    const entry = report.perCamera[cameraId] ?? { count: 0, bytes: 0 };
    report.perCamera[cameraId] = entry;
    entry.count += 1;
    entry.bytes += bytes;
    report.deleted += 1;
    report.bytes += bytes;
  }

  async function removeSegments(report: RetentionRunReport, batch: Candidate[], reason: string) {
    if (batch.length === 0) return;
    claim(batch, reason);
    await finish(batch.map((c) => c.relPath));
    for (const c of batch) note(report, c.cameraId, c.bytes);
  }

  async function removeItems(
    report: RetentionRunReport,
    category: StorageCategory,
    items: StorageItem[],
    reason: string,
  ) {
    if (items.length === 0) return;
    await category.remove(items);
    const at = clock.now();
    db.insert(retentionDeletions)
      .values(
        items.map((item) => ({
          at,
          category: category.name,
          cameraId: item.cameraId ?? '',
          relPath: item.relPath ?? item.key,
          startAt: item.at,
          bytes: item.bytes,
          reason,
        })),
      )
      .run();
    for (const item of items) note(report, `${category.name}:${item.cameraId ?? ''}`, item.bytes);
  }

  /** Pauses recorders by priority while nothing is left to delete; resumes them once space is back. */
  function adjustPauses(report: RetentionRunReport, excess: number, minFree: number, full: boolean) {
    const recorders = deps.recorders;
    if (!recorders) return;
    if (excess > 0) {
      const active = recorders.recordingCameras().filter((camera) => !paused.has(camera.cameraId));
      if (active.length === 0) return;
      // A full NAS stops everyone; a breached floor stops all but the most important cameras.
      const top = Math.max(...active.map((camera) => PRIORITY_RANK[camera.priority]));
      const victims = full ? active : active.filter((camera) => PRIORITY_RANK[camera.priority] < top);
      for (const camera of victims) {
        paused.add(camera.cameraId);
        recorders.setPaused(camera.cameraId, true);
        report.paused.push(camera.cameraId);
        deps.bus?.publish('storage', { change: 'paused', cameraId: camera.cameraId });
      }
      if (victims.length > 0)
        deps.systemEvents.record({
          kind: 'recording.paused',
          severity: 'error',
          subject: 'storage',
          message: `Storage is ${full ? 'full' : 'below its free-space minimum'} and only protected footage is left: recording paused for ${victims.map((c) => c.cameraId).join(', ')} (lowest priority first). Unprotect footage or raise the limits.`,
          details: {
            cameras: victims,
            list: victims.map((c) => c.cameraId).join(', '),
            full,
            shortfallBytes: excess,
          },
        });
      return;
    }
    // Hysteresis: resume only with a tenth of the floor to spare, so a resumed camera does not trip it again at once.
    if (paused.size === 0 || -excess < minFree / 10) return;
    const resumed = [...paused];
    paused.clear();
    for (const cameraId of resumed) {
      recorders.setPaused(cameraId, false);
      deps.bus?.publish('storage', { change: 'resumed', cameraId });
    }
    report.resumed = resumed;
    deps.systemEvents.record({
      kind: 'recording.resumed',
      severity: 'info',
      subject: 'storage',
      message: `Storage has room again: recording resumed for ${resumed.join(', ')}.`,
      details: { cameras: resumed, list: resumed.join(', ') },
    });
  }

  async function runOnce(signal?: AbortSignal): Promise<RetentionRunReport> {
    const report: RetentionRunReport = {
      deleted: 0,
      bytes: 0,
      perCamera: {},
      brokenMinimums: [],
      finishedPending: 0,
      shortfallBytes: 0,
      paused: [],
      resumed: [],
    };
    // An unmounted NAS looks empty and its free space is the SD card's: decide nothing then. A full
    // one is mounted and marked, and deleting is exactly what it needs.
    const health = deps.guard.current();
    if (!health.healthy && health.reason !== 'full') return { ...report, skipped: 'nas_unhealthy' };
    report.finishedPending = await finishPending();
    const budget = read();
    const now = clock.now();

    // (a) Older than the camera's max days.
    const cameraIds = db.selectDistinct({ id: segments.cameraId }).from(segments).all();
    for (const { id } of cameraIds) {
      const { maxDays } = limitsFor(budget, id);
      if (maxDays <= 0) continue;
      const cutoff = now - maxDays * DAY;
      for (;;) {
        if (signal?.aborted) return report;
        const batch = db
          .select(CANDIDATE)
          .from(segments)
          .where(
            and(
              eq(segments.cameraId, id),
              eq(segments.location, 'nas'),
              eq(segments.protected, false),
              notExists(eventLinks()),
              lt(segments.endAt, cutoff),
            ),
          )
          .orderBy(asc(segments.startAt))
          .limit(BATCH)
          .all();
        if (batch.length === 0) break;
        await removeSegments(report, batch, 'max_days');
      }
    }

    // (b) Categories over their own caps, oldest first.
    for (const category of categories.values()) {
      const cap = budget.categories[category.name]?.maxBytes ?? 0;
      if (cap <= 0) continue;
      let over = category.usage().usedBytes - cap;
      while (over > 0 && !signal?.aborted) {
        const items: StorageItem[] = [];
        for (const item of category.oldest(BATCH)) {
          if (over <= 0) break;
          items.push(item);
          over -= item.bytes;
        }
        if (items.length === 0) break;
        await removeItems(report, category, items, 'category');
      }
    }

    // How many bytes the global limits still want gone: over the cap, or under the free-space floor.
    const recordingBytes = (
      db.$client
        .prepare("select coalesce(sum(bytes), 0) as total from segment_totals where location = 'nas'")
        .get() as { total: number }
    ).total;
    const otherBytes = [...categories.values()].reduce((sum, c) => sum + c.usage().usedBytes, 0);
    const space = await deps.fs.statfs(deps.nasRoot);
    const minFree = minFreeOf(budget, space.totalBytes) ?? 0;
    // Negative: room to spare under every limit.
    let excess = Math.max(
      budget.maxBytes > 0 ? recordingBytes + otherBytes - budget.maxBytes : Number.NEGATIVE_INFINITY,
      minFree - space.freeBytes,
    );

    // (c) Oldest first across recordings and categories, sparing footage inside its camera's minimum days.
    let after: { startAt: number; id: number } | null = null;
    while (excess > 0 && !signal?.aborted) {
      const page = oldestUnprotected(after, BATCH);
      const pages = [...categories.values()].map((category) => ({ category, items: category.oldest(BATCH) }));
      if (page.length === 0 && pages.every((p) => p.items.length === 0)) break;
      // Merged order is exact only up to the earliest last item of a page that may have more behind it.
      let horizon = Number.POSITIVE_INFINITY;
      if (page.length === BATCH) horizon = page.at(-1)!.startAt;
      for (const p of pages) if (p.items.length === BATCH) horizon = Math.min(horizon, p.items.at(-1)!.at);
      type Entry = { at: number; segment?: Candidate; item?: StorageItem; category?: StorageCategory };
      const merged: Entry[] = [
        ...page.map((segment) => ({ at: segment.startAt, segment })),
        ...pages.flatMap((p) => p.items.map((item) => ({ at: item.at, item, category: p.category }))),
      ]
        .filter((entry) => entry.at <= horizon)
        .sort((a, b) => a.at - b.at);
      const batch: Candidate[] = [];
      const chosen = new Map<StorageCategory, StorageItem[]>();
      for (const entry of merged) {
        if (excess <= 0) break;
        if (entry.segment) {
          const c = entry.segment;
          after = { startAt: c.startAt, id: c.id };
          const { minDays } = limitsFor(budget, c.cameraId);
          if (minDays > 0 && c.startAt >= now - minDays * DAY) continue;
          batch.push(c);
          excess -= c.bytes;
        } else if (entry.item && entry.category) {
          chosen.set(entry.category, [...(chosen.get(entry.category) ?? []), entry.item]);
          excess -= entry.item.bytes;
        }
      }
      await removeSegments(report, batch, 'global');
      for (const [category, items] of chosen) await removeItems(report, category, items, 'global');
    }

    // (d) Still over: the global limits win over minimum days; say whose minimum broke.
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
      await removeSegments(report, batch, 'global_min_broken');
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
          list: [...broken].join(', '),
        },
      });
    }
    if (excess > 0) {
      report.shortfallBytes = excess;
      deps.log.warn({ excess }, 'retention: nothing unprotected is left to delete');
    }
    if (!signal?.aborted) adjustPauses(report, excess, minFree, health.reason === 'full' && excess > 0);
    if (report.deleted > 0) {
      deps.log.info(report, 'retention removed recordings');
      for (const [id, entry] of Object.entries(report.perCamera)) {
        const sum = unreported.perCamera[id] ?? { count: 0, bytes: 0 };
        unreported.perCamera[id] = { count: sum.count + entry.count, bytes: sum.bytes + entry.bytes };
      }
      unreported.deleted += report.deleted;
      unreported.bytes += report.bytes;
      // Under pressure every segment may trigger a run: the event log gets one summary per interval.
      if (clock.now() - lastEventAt >= EVENT_EVERY_MS) {
        lastEventAt = clock.now();
        deps.systemEvents.record({
          kind: 'retention.deleted',
          severity: 'info',
          subject: 'storage',
          message: `Retention deleted ${unreported.deleted} item(s), ${formatBytes(unreported.bytes)}: ${Object.entries(
            unreported.perCamera,
          )
            .map(([id, entry]) => `${id} ${entry.count} (${formatBytes(entry.bytes)})`)
            .join(', ')}.`,
          details: { ...unreported, size: formatBytes(unreported.bytes) },
        });
        unreported = { deleted: 0, bytes: 0, perCamera: {} };
      }
      // A NAS marked full has room again: let the guard see it, so the spool drains.
      if (!health.healthy) await deps.guard.check?.();
    }
    lastRun = {
      at: clock.now(),
      deleted: report.deleted,
      bytes: report.bytes,
      brokenMinimums: report.brokenMinimums,
      shortfallBytes: report.shortfallBytes,
    };
    deps.bus?.publish('storage', { change: 'retention', report: lastRun });
    return report;
  }

  /** One run at a time; a call while one runs gets that run's report. */
  function runRetention(signal?: AbortSignal): Promise<RetentionRunReport> {
    running ??= runOnce(signal).finally(() => {
      running = null;
    });
    return running;
  }

  return {
    read,
    usage,
    lastRun: () => lastRun,
    pausedCameras: () => [...paused],
    /** Other features' files on the NAS join the one budget here. */
    registerCategory(category: StorageCategory): void {
      if (category.name === 'recordings' || categories.has(category.name))
        throw new Error(`storage category ${category.name} is registered already`);
      categories.set(category.name, category);
    },
    /** Replaces the whole budget; throws RetentionRefused when its minimums cannot hold. */
    replace: (budget: Budget) => save(budget),
    /** Merges top-level fields (`cameras` is replaced as a whole). */
    update: (patch: BudgetPatch) => save({ ...read(), ...patch } as Budget),
    runRetention,
    /** Starts a run in the background; a failure is logged, as a loop pass's would be. */
    runSoon(): void {
      runRetention().catch((error: unknown) => deps.log.error({ err: error }, 'retention run failed'));
    },
    finishPending,
    /** True when the guard's last look at the NAS shows less free space than the floor. */
    belowFreeFloor(): boolean {
      const health = deps.guard.current();
      if (health.reason === 'full') return true;
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
