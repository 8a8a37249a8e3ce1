import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cameras } from '../cameras/cameras.schema.js';
import { manualClock } from '../clock.js';
import { configSchema } from '../config/schema.js';
import { closeDatabase, openDatabase } from '../db/client.js';
import { EventBus } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { createLogger } from '../log/logger.js';
import { reconcileRoot } from '../recording/reindex.js';
import { segmentRelPath } from '../recording/segment-names.js';
import { createSegmentRepo } from '../recording/segments.repo.js';
import { isMounted, mountTmpfs, unmount } from '../storage/fixtures/mounts.js';
import { createFsWorker, type NasHealth } from '../storage/index.js';
import { tempDir } from '../testing/spawn-hub.js';
import { createRetentionService, DAY } from './retention.service.js';

const HOUR = 3600_000;
const KiB = 1024;
const NOW = Date.UTC(2026, 10, 23, 12);

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

async function setup(options: { root?: string; health?: () => Partial<NasHealth> } = {}) {
  const dir = tempDir();
  const root = options.root ?? path.join(dir, 'nas');
  mkdirSync(root, { recursive: true });
  const db = openDatabase(path.join(dir, 'hearth.db'), { migrate: true });
  const fs = createFsWorker({ timeoutMs: 5000 });
  const clock = manualClock(NOW);
  const bus = new EventBus(clock, 100);
  const systemEvents = createSystemEvents({ db, clock, bus });
  const segments = createSegmentRepo(db);
  const config = configSchema.parse({}).retention;
  const health = options.health ?? (() => ({ freeBytes: 1024 ** 4, totalBytes: 2 * 1024 ** 4 }));
  const guard = {
    current: (): NasHealth => ({ healthy: true, reason: null, checkedAt: clock.now(), ...health() }),
  };
  const retention = createRetentionService({
    db,
    clock,
    fs,
    guard,
    nasRoot: root,
    config: { ...config, minFreeBytes: 0, minFreePercent: 0, maxDays: 0 },
    demo: false,
    systemEvents,
    log: createLogger('silent'),
  });
  for (const id of ['porch', 'door']) {
    db.insert(cameras)
      .values({ id, name: id, kind: 'demo', createdAt: new Date(0), updatedAt: new Date(0) })
      .run();
  }
  /** A real file of `bytes` on the NAS and its row. */
  function add(cameraId: string, startAt: number, bytes: number, isProtected = false) {
    const name = { cameraId, startAt };
    const relPath = segmentRelPath(`${cameraId}_${stamp(startAt)}.mp4`, name);
    mkdirSync(path.dirname(path.join(root, relPath)), { recursive: true });
    // Real bytes where free space is measured; above 1 MiB a sparse file of that size (no disk used).
    if (bytes <= 1024 * KiB) writeFileSync(path.join(root, relPath), Buffer.alloc(bytes, 1));
    else {
      writeFileSync(path.join(root, relPath), '');
      truncateSync(path.join(root, relPath), bytes);
    }
    segments.insert({
      cameraId,
      startAt,
      endAt: startAt + 60_000,
      durationMs: 60_000,
      bytes,
      codec: 'h264',
      width: 640,
      height: 480,
      initBytes: 100,
      location: 'nas',
      relPath,
      protected: isProtected,
      createdAt: startAt,
    });
    return relPath;
  }
  const rows = () =>
    db.$client
      .prepare('select camera_id as c, start_at as s, protected as p from segments order by start_at')
      .all() as {
      c: string;
      s: number;
      p: number;
    }[];
  async function reconcile() {
    return reconcileRoot({ db, fs, segments, clock, root, location: 'nas' });
  }
  async function close() {
    await fs.close();
    closeDatabase(db);
    if (!options.root) rmSync(dir, { recursive: true, force: true });
  }
  return { db, root, clock, retention, systemEvents, add, rows, reconcile, close, fs };
}

/**
 * A category the way a feature registers one: real files under `<root>/<name>/`, made at known times.
 * (Exports register theirs in exports.service.ts; this one keeps the test about the budget.)
 */
function fileCategory(root: string, name: string) {
  const items = new Map<string, { at: number; bytes: number }>();
  mkdirSync(path.join(root, name), { recursive: true });
  return {
    add(key: string, at: number, bytes: number) {
      writeFileSync(path.join(root, name, key), Buffer.alloc(bytes, 2));
      items.set(key, { at, bytes });
    },
    has: (key: string) => existsSync(path.join(root, name, key)) && items.has(key),
    category: {
      name,
      usage: () => ({
        usedBytes: [...items.values()].reduce((sum, item) => sum + item.bytes, 0),
        items: items.size,
        oldest: Math.min(...[...items.values()].map((item) => item.at)),
      }),
      oldest: (limit: number) =>
        [...items.entries()]
          .map(([key, item]) => ({ key, ...item }))
          .sort((a, b) => a.at - b.at)
          .slice(0, limit),
      remove: async (removed: { key: string }[]) => {
        for (const { key } of removed) {
          items.delete(key);
          rmSync(path.join(root, name, key));
        }
      },
    },
  };
}

test('max days: older unprotected footage goes, protected stays, files and rows together', async () => {
  const t = await setup();
  try {
    t.retention.update({ defaults: { maxDays: 2, minDays: 0 } });
    const old = t.add('porch', NOW - 3 * DAY, 1000);
    const kept = t.add('porch', NOW - 3 * DAY + HOUR, 1000, true);
    const fresh = t.add('porch', NOW - DAY, 1000);
    const report = await t.retention.runRetention();
    assert.equal(report.deleted, 1);
    assert.equal(existsSync(path.join(t.root, old)), false);
    assert.ok(existsSync(path.join(t.root, kept)));
    assert.ok(existsSync(path.join(t.root, fresh)));
    assert.equal(t.rows().length, 2);
    // Per-camera override: porch keeps 5 days now; the clock moves on 2 days.
    t.retention.update({ cameras: { porch: { maxDays: 5 } } });
    t.clock.advance(2 * DAY);
    assert.equal((await t.retention.runRetention()).deleted, 0);
    assert.deepEqual(await t.reconcile(), { scanned: 2, added: 0, removed: 0, unreadable: 0 });
    assert.equal(t.retention.recentDeletions(10)[0]?.relPath, old);
    assert.ok(t.systemEvents.list({ limit: 10 }).some((e) => e.kind === 'retention.deleted'));
  } finally {
    await t.close();
  }
});

test('a detection event keeps its footage: not deleted by age or by the cap, counted as protected, released with the event', async () => {
  const t = await setup();
  try {
    t.retention.update({ defaults: { maxDays: 2, minDays: 0 } });
    const before = t.add('porch', NOW - 3 * DAY - HOUR, KiB);
    const during = t.add('porch', NOW - 3 * DAY, KiB);
    const id = (relPath: string) =>
      (t.db.$client.prepare('select id from segments where rel_path = ?').get(relPath) as { id: number }).id;
    const event = t.db.$client
      .prepare(
        `insert into detection_events (camera_id, label, start_at, end_at, score, hits, created_at)
         values ('porch', 'person', ?, ?, 0.8, 4, ?) returning id`,
      )
      .get(NOW - 3 * DAY + 1000, NOW - 3 * DAY + 9000, NOW - 3 * DAY) as { id: number };
    t.db.$client
      .prepare('insert into detection_event_segments (event_id, segment_id) values (?, ?)')
      .run(event.id, id(during));

    assert.equal((await t.retention.runRetention()).deleted, 1, 'only the footage no event holds');
    assert.equal(existsSync(path.join(t.root, before)), false);
    assert.ok(existsSync(path.join(t.root, during)));
    const porch = t.retention.usage().cameras.find((c) => c.cameraId === 'porch')!;
    assert.equal(porch.protectedBytes, KiB);
    // Even a cap below what is left does not take it.
    t.retention.update({ maxBytes: 1 });
    await t.retention.runRetention();
    assert.ok(existsSync(path.join(t.root, during)));

    // The event goes (deleted by an owner, or pruned): its footage is ordinary footage again.
    t.db.$client.prepare('delete from detection_events where id = ?').run(event.id);
    assert.equal((await t.retention.runRetention()).deleted, 1);
    assert.equal(existsSync(path.join(t.root, during)), false);
  } finally {
    await t.close();
  }
});

test('global bytes: oldest unprotected first, min days kept while the cap allows', async () => {
  const t = await setup();
  try {
    // door keeps 1 day; the cap allows 5 KiB of 8 KiB.
    t.retention.update({ maxBytes: 5 * KiB, cameras: { door: { minDays: 1 } } });
    t.add('porch', NOW - 4 * DAY, KiB, true);
    t.add('door', NOW - 3 * DAY, KiB);
    t.add('porch', NOW - 2 * DAY, KiB);
    t.add('door', NOW - 2 * HOUR, KiB);
    t.add('door', NOW - HOUR, KiB);
    t.add('porch', NOW - 3 * HOUR, KiB);
    t.add('porch', NOW - 2 * HOUR, KiB);
    t.add('porch', NOW - HOUR, KiB);
    const report = await t.retention.runRetention();
    assert.equal(report.deleted, 3);
    assert.deepEqual(report.brokenMinimums, []);
    const left = t.rows();
    assert.equal(left.length, 5);
    assert.ok(
      left.some((r) => r.p === 1),
      'the protected segment stays',
    );
    assert.equal(left.filter((r) => r.c === 'door').length, 2, "door's last day stays");
    assert.ok(!left.some((r) => r.c === 'door' && r.s === NOW - 3 * DAY));
    assert.deepEqual((await t.reconcile()).removed, 0);
  } finally {
    await t.close();
  }
});

test('conflicting limits: the global cap wins and the event names the broken minimum', async () => {
  const t = await setup();
  try {
    t.add('door', NOW - 3 * HOUR, KiB);
    t.add('door', NOW - 2 * HOUR, KiB);
    t.add('door', NOW - HOUR, KiB, true);
    // Saved before the cap, as a budget that fitted then; footage outgrew it.
    t.retention.update({ cameras: { door: { minDays: 7 } } });
    t.db.$client
      .prepare("update settings set value = json_set(value, '$.maxBytes', ?) where key = 'retention'")
      .run(KiB);
    const report = await t.retention.runRetention();
    assert.deepEqual(report.brokenMinimums, ['door']);
    assert.equal(report.deleted, 2, 'down to the protected one');
    const event = t.systemEvents.list({ limit: 10 }).find((e) => e.kind === 'retention.min_days_broken');
    assert.match(event?.message ?? '', /door/);
    assert.equal(t.rows().length, 1);
  } finally {
    await t.close();
  }
});

test('minimum free space on a real tmpfs: deletes until statfs shows the floor free', async (t) => {
  const mnt = path.join(tempDir(), 'nas');
  mkdirSync(mnt);
  try {
    await mountTmpfs(mnt, '4m');
  } catch (error) {
    t.skip(String(error));
    return;
  }
  const h = await setup({ root: mnt });
  try {
    // 3 MiB of footage on a 4 MiB filesystem; keep 2 MiB free.
    for (let i = 0; i < 12; i++) h.add(i % 2 ? 'porch' : 'door', NOW - (12 - i) * HOUR, 256 * KiB, i === 0);
    h.retention.update({ minFreeBytes: 2 * 1024 * KiB, cameras: { porch: { minDays: 1 } } });
    const before = await h.fs.statfs(mnt);
    assert.ok(before.freeBytes < 2 * 1024 * KiB);
    const report = await h.retention.runRetention();
    const after = await h.fs.statfs(mnt);
    assert.ok(after.freeBytes >= 2 * 1024 * KiB, `free ${after.freeBytes}`);
    assert.ok(report.deleted > 0);
    assert.ok(
      h.rows().some((r) => r.p === 1),
      'protected kept',
    );
    // porch's footage is all within its 1 minimum day, and door's alone was enough.
    assert.deepEqual(Object.keys(report.perCamera), ['door']);
    assert.deepEqual(report.brokenMinimums, []);
    assert.deepEqual((await h.reconcile()).removed, 0);
  } finally {
    await h.close();
    if (isMounted(mnt)) await unmount(mnt);
    rmdirSync(mnt);
  }
});

test('a crash between the row and the file: the next run finishes it and reconcile finds nothing to fix', async () => {
  const t = await setup();
  try {
    const paths = [0, 1, 2].map((i) => t.add('porch', NOW - (5 - i) * HOUR, KiB));
    const victims = t.db.$client
      .prepare(
        'select id, camera_id as cameraId, rel_path as relPath, bytes, start_at as startAt from segments order by start_at limit 2',
      )
      .all() as never[];
    t.retention._claim(victims, 'global');
    // The "crash": rows gone and paths pending, files still there.
    assert.ok(existsSync(path.join(t.root, paths[0]!)));
    const report = await t.retention.runRetention();
    assert.equal(report.finishedPending, 2);
    assert.equal(existsSync(path.join(t.root, paths[0]!)), false);
    assert.equal(existsSync(path.join(t.root, paths[1]!)), false);
    assert.ok(existsSync(path.join(t.root, paths[2]!)));
    assert.deepEqual(await t.reconcile(), { scanned: 1, added: 0, removed: 0, unreadable: 0 });
  } finally {
    await t.close();
  }
});

test('forecast matches a hand calculation', async () => {
  // 100 GiB total, 10 GiB free, min free 5 % = 5 GiB.
  const GiB = 1024 ** 3;
  const t = await setup({ health: () => ({ freeBytes: 10 * GiB, totalBytes: 100 * GiB }) });
  try {
    t.retention.update({ minFreePercent: 5, cameras: { door: { maxDays: 2 } } });
    // 3 days of footage each: porch 1 GiB/day, door 2 GiB/day (one segment per 6 h).
    for (let h = 0; h < 72; h += 6) {
      t.add('porch', NOW - 72 * HOUR + h * HOUR, GiB / 4);
      t.add('door', NOW - 72 * HOUR + h * HOUR, GiB / 2);
    }
    const { limits, cameras } = t.retention.usage();
    // used = 3 + 6 = 9 GiB; capacity = 9 + 10 − 5 = 14 GiB.
    assert.equal(limits.capacityBytes, 14 * GiB);
    const porch = cameras.find((c) => c.cameraId === 'porch')!;
    const door = cameras.find((c) => c.cameraId === 'door')!;
    assert.equal(porch.dailyBytes, GiB);
    assert.equal(door.dailyBytes, 2 * GiB);
    assert.equal(porch.usedBytes, 3 * GiB);
    assert.equal(porch.oldest, NOW - 72 * HOUR);
    // even share: 14 / 3 = 4.67 days > door's cap of 2 → door 2 days (4 GiB); porch gets 10 GiB / 1 GiB/day.
    assert.equal(door.forecastDays, 2);
    assert.equal(porch.forecastDays, 10);
    // A minimum that cannot fit is refused with the reason.
    assert.throws(() => t.retention.update({ cameras: { porch: { minDays: 15 } } }), /do not fit/);
    assert.throws(
      () => t.retention.update({ cameras: { porch: { minDays: 5, maxDays: 3 } } }),
      /above the maximum/,
    );
  } finally {
    await t.close();
  }
});

test('forecast over 1,000,000 segments reads the kept totals, not the rows', async () => {
  const t = await setup();
  try {
    const insert = t.db.$client.prepare(
      "insert into segments (camera_id, start_at, end_at, duration_ms, bytes, codec, width, height, init_bytes, location, rel_path, created_at) values (?, ?, ?, 60000, 1000000, 'h264', 640, 480, 100, 'nas', ?, 0)",
    );
    t.db.$client.transaction(() => {
      for (let i = 0; i < 1_000_000; i++) {
        const cam = i % 2 ? 'porch' : 'door';
        const at = NOW - (1_000_000 - i) * 30_000;
        insert.run(cam, at, at + 60_000, `videos/${cam}/x/${i}.mp4`);
      }
    })();
    const started = performance.now();
    const { cameras } = t.retention.usage();
    const ms = performance.now() - started;
    console.log(`forecast over 1,000,000 segments: ${ms.toFixed(0)} ms`);
    // Generous for a slow CI machine; a full scan takes about a second here.
    assert.ok(ms < 250, `${ms} ms`);
    assert.equal(cameras.length, 2);
    assert.equal(cameras[0]!.segments + cameras[1]!.segments, 1_000_000);
  } finally {
    await t.close();
  }
});

test('categories share the budget: an own cap trims the oldest of that category; the global cap takes the oldest across categories', async () => {
  const t = await setup();
  try {
    const exportsCategory = fileCategory(t.root, 'exports');
    t.retention.registerCategory(exportsCategory.category);
    assert.throws(() => t.retention.registerCategory(exportsCategory.category), /registered already/);
    exportsCategory.add('a.mp4', NOW - 5 * DAY, 2 * KiB);
    exportsCategory.add('b.mp4', NOW - 2 * DAY, 2 * KiB);
    exportsCategory.add('c.mp4', NOW - HOUR, 2 * KiB);
    t.add('porch', NOW - 4 * DAY, KiB);
    t.add('porch', NOW - 3 * DAY, KiB);
    t.add('porch', NOW - HOUR, KiB);
    // Own cap 4 KiB: the oldest export goes, nothing else.
    t.retention.update({ categories: { exports: { maxBytes: 4 * KiB } } });
    let report = await t.retention.runRetention();
    assert.equal(report.deleted, 1);
    assert.equal(exportsCategory.has('a.mp4'), false);
    assert.ok(exportsCategory.has('b.mp4'));
    assert.equal(t.retention.recentDeletions(1)[0]?.reason, 'category');
    assert.equal(t.retention.recentDeletions(1)[0]?.category, 'exports');
    // Global cap of 5 KiB over 4 KiB exports + 3 KiB footage: the oldest overall go (porch −4 d, porch −3 d), then export b (−2 d) is next but no longer needed.
    t.retention.update({ maxBytes: 5 * KiB });
    report = await t.retention.runRetention();
    assert.equal(report.deleted, 2);
    assert.deepEqual(
      t.rows().map((row) => row.s),
      [NOW - HOUR],
    );
    assert.ok(exportsCategory.has('b.mp4') && exportsCategory.has('c.mp4'));
    // One more KiB over: now export b (−2 d) is the oldest thing left.
    t.retention.update({ maxBytes: 4 * KiB });
    await t.retention.runRetention();
    assert.equal(exportsCategory.has('b.mp4'), false);
    assert.equal(t.rows().length, 1);
    const { categories, limits } = t.retention.usage();
    assert.deepEqual(
      categories.map((c) => [c.name, c.usedBytes, c.items, c.maxBytes]),
      [['exports', 2 * KiB, 1, 4 * KiB]],
    );
    // The forecast's capacity is what the other categories leave.
    assert.equal(limits.capacityBytes, 4 * KiB - 2 * KiB);
  } finally {
    await t.close();
  }
});

test('a NAS the guard reports full (mounted, marked, ENOSPC) is cleaned; an unmounted one is left alone', async () => {
  let health: Partial<NasHealth> = { healthy: false, reason: 'full', freeBytes: 0, totalBytes: 1024 ** 3 };
  const t = await setup({ health: () => health });
  try {
    t.retention.update({ maxBytes: KiB });
    t.add('porch', NOW - 2 * HOUR, KiB);
    t.add('porch', NOW - HOUR, KiB);
    assert.equal(t.retention.belowFreeFloor(), true, 'full counts as below the floor');
    assert.equal((await t.retention.runRetention()).deleted, 1);
    health = { healthy: false, reason: 'not_mounted' };
    t.retention.update({ maxBytes: 1 });
    const report = await t.retention.runRetention();
    assert.equal(report.skipped, 'nas_unhealthy');
    assert.equal(t.rows().length, 1);
  } finally {
    await t.close();
  }
});

test('segment_totals follow every insert, delete, move and protect exactly', async () => {
  const t = await setup();
  try {
    const segments = createSegmentRepo(t.db);
    const a = t.add('porch', NOW - 3 * HOUR, 1000);
    t.add('porch', NOW - 2 * HOUR, 2000, true);
    t.add('door', NOW - HOUR, 4000);
    t.db.$client.prepare(`update segments set location = 'spool' where rel_path = ?`).run(a);
    t.db.$client.prepare(`update segments set protected = 1 where camera_id = 'door'`).run();
    t.db.$client.prepare(`update segments set bytes = 4500 where camera_id = 'door'`).run();
    segments.removeByRelPath(a);
    t.add('door', NOW - 30 * 60_000, 8000);
    const kept = t.db.$client
      .prepare(
        'select camera_id, location, protected, n, bytes from segment_totals where n > 0 order by 1, 2, 3',
      )
      .all();
    const fresh = t.db.$client
      .prepare(
        'select camera_id, location, protected, count(*) as n, sum(bytes) as bytes from segments group by 1, 2, 3 order by 1, 2, 3',
      )
      .all();
    assert.deepEqual(kept, fresh);
    assert.equal(fresh.length, 3);
  } finally {
    await t.close();
  }
});
