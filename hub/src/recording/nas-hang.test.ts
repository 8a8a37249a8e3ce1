import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { fuseUnavailable, startHangFs } from '../storage/fixtures/mounts.js';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

function count(dataDir: string, where: string): number {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`select count(*) as n from ${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const unavailable = await fuseUnavailable();

test('a NAS that hangs (FUSE blocking every request) stalls neither HTTP nor recording', {
  skip: unavailable ?? false,
  timeout: 150_000,
}, async (t) => {
  const dataDir = tempDir();
  const backing = tempDir('hearth-nas-backing-');
  const mountpoint = path.join(tempDir('hearth-nas-mnt-'), 'nas');
  mkdirSync(mountpoint);
  writeFileSync(path.join(backing, '.hearth-nas'), 'hearth\n');
  const fs = await startHangFs(backing, mountpoint);
  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(
    config,
    JSON.stringify({
      storage: { requireNasMount: true, nasCheckSeconds: 1, nasTimeoutMs: 1500 },
      // Short segments: the first on the NAS sooner, and more of them meet the hung NAS in the window below.
      recording: { demoSegmentSeconds: 4 },
    }),
  );
  const hub = await spawnHub({
    dataDir,
    env: { HEARTH_DEMO: '1', HEARTH_NAS_DIR: mountpoint, HEARTH_CONFIG: config },
  });
  try {
    await waitFor('a segment on the NAS', () =>
      count(dataDir, `segments where location = 'nas'`) > 0 ? true : undefined,
    );
    await fs.hang();

    // While the NAS hangs: the hub keeps answering quickly and keeps recording (into the spool).
    let slowest = 0;
    let answered = 0;
    const until = Date.now() + 25_000;
    while (Date.now() < until || count(dataDir, `segments where location = 'spool'`) < 2) {
      const started = performance.now();
      const response = await fetch(`${hub.url}/api/health`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      slowest = Math.max(slowest, performance.now() - started);
      answered += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (Date.now() > until + 30_000) break;
    }
    assert.ok(count(dataDir, `segments where location = 'spool'`) >= 2, 'recording went on into the spool');
    assert.ok(count(dataDir, `system_events where kind = 'nas.down'`) >= 1);
    t.diagnostic(`slowest of ${answered} answers while the NAS hung: ${slowest.toFixed(0)} ms`);
    assert.ok(
      slowest < 1000,
      `slowest answer while the NAS hung: ${slowest.toFixed(0)} ms over ${answered} requests`,
    );

    await fs.release();
    await waitFor(
      'the spool drained after the NAS answered again',
      () => (count(dataDir, `segments where location = 'spool'`) === 0 ? true : undefined),
      90_000,
    );
  } finally {
    await hub.stop();
    await fs.stop();
  }
});
