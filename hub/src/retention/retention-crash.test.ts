/**
 * SIGKILL of the compiled hub in the middle of a large retention deletion (6,000 real segment files
 * past their max days). After a restart, no row points to a missing file, no footage file is left
 * without a row, and exactly the footage inside max days remains. Needs ffmpeg and `npm run build -w hub`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cameras } from '../cameras/cameras.schema.js';
import { closeDatabase, openDatabase } from '../db/client.js';
import { makeSegments } from '../media/fixtures/segments.js';
import { segmentRelPath } from '../recording/segment-names.js';
import { createSegmentRepo } from '../recording/segments.repo.js';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

const DAY = 24 * 3600_000;
const OLD = 6000;
const RECENT = 100;

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

function scalar(dataDir: string, sql: string): number {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
  try {
    return Number(Object.values(db.prepare(sql).get() as object)[0]);
  } finally {
    db.close();
  }
}

function footageFiles(nas: string): Set<string> {
  return new Set(
    readdirSync(path.join(nas, 'videos'), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.mp4'))
      .map((name) => `videos/${name}`),
  );
}

test('kill -9 during a deletion of 6,000 segments: after restart rows and files agree and only footage inside max days is left', async (t) => {
  const dataDir = tempDir();
  const nas = path.join(dataDir, 'nas');
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  const [sample] = await makeSegments(tempDir(), { count: 1, seconds: 1 });

  const db = openDatabase(path.join(dataDir, 'hearth.db'), { migrate: true });
  const repo = createSegmentRepo(db);
  const now = Date.now();
  db.insert(cameras)
    .values({
      id: 'porch',
      name: 'Porch',
      kind: 'demo',
      record: false,
      createdAt: new Date(),
      updatedAt: new Date(),
    })
    .run();
  const place = (startAt: number) => {
    const relPath = segmentRelPath(`porch_${stamp(startAt)}.mp4`, { cameraId: 'porch', startAt });
    mkdirSync(path.dirname(path.join(nas, relPath)), { recursive: true });
    copyFileSync(sample!.file, path.join(nas, relPath));
    repo.insert({
      cameraId: 'porch',
      startAt,
      endAt: startAt + 1000,
      durationMs: 1000,
      bytes: 1,
      codec: 'h264',
      width: 320,
      height: 240,
      initBytes: 0,
      location: 'nas',
      relPath,
      protected: false,
      createdAt: now,
    });
  };
  const oldFrom = Math.floor((now - 45 * DAY) / 1000) * 1000;
  db.$client.transaction(() => {
    for (let i = 0; i < OLD; i++) place(oldFrom + i * 60_000);
    for (let i = 0; i < RECENT; i++) place(Math.floor((now - 2 * DAY) / 1000) * 1000 + i * 60_000);
  })();
  closeDatabase(db);

  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(
    config,
    JSON.stringify({
      storage: { requireNasMount: false },
      retention: { maxDays: 30, minFreeBytes: 0, minFreePercent: 0 },
    }),
  );
  const env = { HEARTH_NAS_DIR: nas, HEARTH_CONFIG: config };
  const first = await spawnHub({ dataDir, env });
  let deletedBeforeKill: number;
  try {
    deletedBeforeKill = await waitFor(
      'retention under way',
      () => {
        const n = scalar(dataDir, 'select count(*) from retention_deletions');
        return n > 0 ? n : undefined;
      },
      60_000,
    );
    await first.kill('SIGKILL');
  } catch (error) {
    await first.stop();
    throw error;
  }
  const rowsAtKill = scalar(dataDir, 'select count(*) from segments');
  const pendingAtKill = scalar(dataDir, 'select count(*) from pending_deletions');
  t.diagnostic(
    `killed with ${deletedBeforeKill} deletions logged, ${rowsAtKill - RECENT} old rows and ${pendingAtKill} pending unlinks left, ${footageFiles(nas).size} files`,
  );
  assert.ok(
    rowsAtKill > RECENT,
    `killed mid-deletion (${deletedBeforeKill} logged, ${rowsAtKill - RECENT} old rows left)`,
  );

  const second = await spawnHub({ dataDir, env });
  try {
    await waitFor(
      'the deletion finished after the restart',
      () =>
        scalar(dataDir, 'select count(*) from segments') === RECENT &&
        scalar(dataDir, 'select count(*) from pending_deletions') === 0
          ? true
          : undefined,
      120_000,
    );
    const rows = new Database(path.join(dataDir, 'hearth.db'), { readonly: true })
      .prepare('select rel_path from segments')
      .all() as { rel_path: string }[];
    const files = footageFiles(nas);
    for (const row of rows)
      assert.ok(existsSync(path.join(nas, row.rel_path)), `${row.rel_path} has its file`);
    assert.equal(files.size, RECENT, 'no orphaned footage file: exactly the recent ones are left');
    for (const row of rows) assert.ok(files.has(row.rel_path));
    assert.equal(
      scalar(dataDir, `select count(*) from retention_deletions where reason = 'max_days'`) >= OLD,
      true,
    );
  } finally {
    await second.stop();
  }
});
