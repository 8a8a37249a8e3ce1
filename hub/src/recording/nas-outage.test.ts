import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { mountTmpfs, unmount } from '../storage/fixtures/mounts.js';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

const SPOOL_QUOTA = 2_500_000;

interface Row {
  id: number;
  camera_id: string;
  rel_path: string;
  location: string;
}

function query<T>(dataDir: string, sql: string): T[] {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

test('NAS unmounted mid-recording: nothing is written under the NAS path, segments spool, the oldest are dropped at the quota with an event, and all drains back when the NAS returns', async () => {
  const dataDir = tempDir();
  const nas = path.join(tempDir('hearth-nas-'), 'nas');
  mkdirSync(nas);
  await mountTmpfs(nas, '64m');
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  const config = path.join(dataDir, 'hearth.json');
  // A strict NAS (a mount point with its marker) and a spool of about two segments per camera; short
  // segments, so that the spool fills and recording goes on after a drop within seconds.
  writeFileSync(
    config,
    JSON.stringify({
      storage: { requireNasMount: true, nasCheckSeconds: 1, spoolQuotaBytes: SPOOL_QUOTA },
      recording: { demoSegmentSeconds: 4 },
    }),
  );
  const hub = await spawnHub({
    dataDir,
    env: { HEARTH_DEMO: '1', HEARTH_NAS_DIR: nas, HEARTH_CONFIG: config },
  });
  let mounted = true;
  const setup = await fetch(`${hub.url}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: hub.url },
    body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
  });
  const cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
  const storage = async () => {
    const response = await fetch(`${hub.url}/api/storage`, { headers: { cookie } });
    assert.equal(response.status, 200);
    return (await response.json()) as {
      nas: { healthy: boolean; reason: string | null };
      spool: { usedBytes: number; quotaBytes: number; segments: number };
    };
  };
  try {
    await waitFor('a segment of each camera on the NAS', () => {
      const rows = query<Row>(dataDir, `select * from segments where location = 'nas'`);
      return new Set(rows.map((row) => row.camera_id)).size === 2 ? rows : undefined;
    });

    await unmount(nas);
    mounted = false;
    await waitFor('the nas.down event', () =>
      query(dataDir, `select 1 from system_events where kind = 'nas.down'`).length ? true : undefined,
    );
    // Past the quota: the oldest spooled segments go, with an event, and recording goes on.
    const dropped = await waitFor('a spool.dropped event', () => {
      const events = query<{ details: string }>(
        dataDir,
        `select details from system_events where kind = 'spool.dropped'`,
      );
      return events.length ? events : undefined;
    });
    const droppedFiles: string[] = dropped.flatMap((event) => JSON.parse(event.details).files);
    assert.ok(droppedFiles.length > 0);
    const afterDrop = query<Row>(dataDir, `select max(id) as id from segments`)[0]!.id;
    await waitFor('recording goes on after the drop', () =>
      query<Row>(dataDir, `select id from segments where id > ${afterDrop} and location = 'spool'`).length
        ? true
        : undefined,
    );
    // What the storage banner reads: the NAS down and a spool holding footage within its quota.
    const down = await storage();
    assert.equal(down.nas.healthy, false);
    assert.ok(down.nas.reason);
    assert.equal(down.spool.quotaBytes, SPOOL_QUOTA);
    assert.ok(down.spool.segments >= 1 && down.spool.usedBytes > 0, JSON.stringify(down.spool));
    for (const file of droppedFiles) {
      assert.equal(
        query(dataDir, `select 1 from segments where rel_path = '${file}'`).length,
        0,
        `${file} left the index`,
      );
      assert.equal(existsSync(path.join(dataDir, 'spool', file)), false);
    }
    assert.deepEqual(readdirSync(nas), [], 'not one byte under the NAS path while it was down');

    await mountTmpfs(nas, '64m');
    mounted = true;
    writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
    const spooled = query<Row>(dataDir, `select * from segments where location = 'spool'`);
    assert.ok(spooled.length > 0);
    await waitFor('the spool drained to the NAS', () =>
      query(dataDir, `select 1 from segments where location = 'spool'`).length === 0 ? true : undefined,
    );
    // Until the guard's next check sees the NAS, new segments still spool and may push the oldest
    // out at the quota: every spooled row is now on the NAS, or was dropped with an event saying so.
    const droppedLater = new Set(
      query<{ details: string }>(
        dataDir,
        `select details from system_events where kind = 'spool.dropped'`,
      ).flatMap((event) => JSON.parse(event.details).files as string[]),
    );
    let drained = 0;
    for (const row of spooled) {
      const now = query<Row>(dataDir, `select * from segments where id = ${row.id}`)[0];
      if (!now) {
        assert.ok(droppedLater.has(row.rel_path), `${row.rel_path} vanished without a spool.dropped event`);
        continue;
      }
      assert.equal(now.location, 'nas');
      assert.ok(existsSync(path.join(nas, now.rel_path)), `${now.rel_path} is on the NAS`);
      drained += 1;
    }
    assert.ok(drained > 0, 'spooled segments reached the NAS');
    assert.ok(query(dataDir, `select 1 from system_events where kind = 'nas.up'`).length > 0);
    await waitFor('the banner sees the NAS back and the spool empty', async () => {
      const up = await storage();
      return up.nas.healthy && up.spool.segments === 0 && up.spool.usedBytes === 0 ? up : undefined;
    });
  } finally {
    await hub.stop();
    if (mounted) await unmount(nas);
  }
});
