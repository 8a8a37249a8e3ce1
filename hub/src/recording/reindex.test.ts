import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, spawnHub, tempDir } from '../testing/spawn-hub.js';

const COLUMNS =
  'camera_id, start_at, end_at, duration_ms, bytes, codec, width, height, init_bytes, location, rel_path, clock_suspect';

function rows(dataDir: string) {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true });
  try {
    return db.prepare(`select ${COLUMNS} from segments order by rel_path`).all();
  } finally {
    db.close();
  }
}

test('hearth reindex rebuilds the same segment rows from the files alone after the database is deleted', async () => {
  const dataDir = tempDir();
  const config = path.join(dataDir, 'hearth.json');
  // Short demo segments: the four to rebuild are there in seconds.
  writeFileSync(config, JSON.stringify({ recording: { demoSegmentSeconds: 3 } }));
  const hub = await spawnHub({ dataDir, env: { HEARTH_DEMO: '1', HEARTH_CONFIG: config } });
  try {
    const deadline = Date.now() + 45_000;
    while (rows(hub.dataDir).length < 4 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
  } finally {
    assert.equal(await hub.stop(), 0);
  }
  const before = rows(hub.dataDir);
  assert.ok(before.length >= 4, `recorded ${before.length} segments`);

  for (const suffix of ['', '-wal', '-shm'])
    rmSync(path.join(hub.dataDir, `hearth.db${suffix}`), { force: true });
  const result = await runCli(['reindex'], { dataDir: hub.dataDir, env: { HEARTH_DEMO: '1' } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    new RegExp(`nas: ${before.length} files, ${before.length} added, 0 stale rows removed, 0 unreadable`),
  );
  assert.deepEqual(rows(hub.dataDir), before);

  const again = await runCli(['reindex'], { dataDir: hub.dataDir, env: { HEARTH_DEMO: '1' } });
  assert.match(again.stdout, /nas: \d+ files, 0 added, 0 stale rows removed/, 'a second run changes nothing');
});

test('hearth reindex leaves the index alone when the NAS is not usable', async () => {
  const hub = await spawnHub();
  await hub.stop();
  // Not demo: the NAS must be a mount point with a marker, and this folder is neither.
  const result = await runCli(['reindex'], {
    dataDir: hub.dataDir,
    env: { HEARTH_NAS_DIR: path.join(hub.dataDir, 'nas') },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /NAS .* is not usable/);
  assert.doesNotMatch(result.stdout, /^nas:/m);
});
