import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { fuseUnavailable, type HangFs, isMounted, startHangFs, unmount } from './fixtures/mounts.js';
import { makeFile, tempDir, waitFor, within } from './fixtures/util.js';
import { createFsWorker } from './fs-worker.js';
import { createNasGuard } from './nas-guard.js';
import { MARKER_NAME } from './paths.js';
import { createSpool } from './spool.js';
import { createTransfer } from './transfer.js';

/**
 * A NAS that stops answering, for real: a FUSE filesystem whose requests block forever, so the
 * processes that touch it sit in uninterruptible sleep like on a hard NFS mount whose server died.
 */
test('a hanging NAS mount: copies time out into the spool, the guard reports probe_timeout, and this process keeps serving', async (t) => {
  const unavailable = await fuseUnavailable();
  if (unavailable) {
    console.error(`hang.test.ts: SKIPPED, FUSE cannot run here: ${unavailable}`);
    t.skip(unavailable);
    return;
  }
  const { dir, cleanup } = tempDir('hang');
  const backing = path.join(dir, 'backing');
  const mountpoint = path.join(dir, 'nas');
  const staging = path.join(dir, 'staging');
  for (const d of [backing, mountpoint, staging]) mkdirSync(d);
  writeFileSync(path.join(backing, MARKER_NAME), 'installed\n');
  const timeoutMs = 1000;
  const fs = createFsWorker({ timeoutMs, maxStuck: 2 });
  let hangFs: HangFs | undefined;
  const server = createServer((_req, res) => res.end('ok'));
  t.after(async () => {
    // Kill the filesystem first: that aborts the blocked requests, so the stuck workers can die
    // and nothing in this process ever waits on the mount.
    try {
      server.close();
      if (hangFs) await hangFs.stop();
      else if (isMounted(mountpoint)) await unmount(mountpoint);
      await waitFor(() => fs.stats().stuck === 0, 'stuck workers to die once the mount is gone', 10_000);
      await fs.close();
    } finally {
      if (!isMounted(mountpoint)) cleanup();
    }
  });

  hangFs = await startHangFs(backing, mountpoint);
  const guard = createNasGuard({
    root: mountpoint,
    fs,
    requireMountPoint: true,
    createMarker: false,
    intervalMs: 60_000,
  });
  const spool = createSpool({
    dir: path.join(dir, 'spool'),
    quotaBytes: 10_000_000,
    onDrop: () => undefined,
  });
  const transfer = createTransfer({ nasRoot: mountpoint, fs, guard, spool });

  const healthy = await guard.check();
  assert.equal(healthy.healthy, true, JSON.stringify(healthy));
  const before = await transfer.place(makeFile(path.join(staging, 'before'), 5000), 'videos/cam/before.mp4');
  assert.equal(before.location, 'nas', 'the FUSE NAS works while it answers');
  assert.ok(existsSync(path.join(backing, 'videos/cam/before.mp4')));

  // Keep an HTTP client busy against this process for the whole outage.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let serving = true;
  let answered = 0;
  let slowest = 0;
  const client = (async () => {
    while (serving) {
      const sent = Date.now();
      const res = await fetch(url);
      assert.equal(await res.text(), 'ok');
      slowest = Math.max(slowest, Date.now() - sent);
      answered++;
    }
  })();

  await hangFs.hang();

  // The guard still believes in the NAS, so the next file really goes there and hangs.
  let started = Date.now();
  const placed = await transfer.place(makeFile(path.join(staging, 'during'), 5000), 'videos/cam/during.mp4');
  let took = Date.now() - started;
  assert.equal(placed.location, 'spool', 'a hung copy ends in the spool');
  assert.ok(took < timeoutMs + 2000, `place() settled after ${took} ms`);
  assert.ok(!existsSync(path.join(staging, 'during')));
  assert.equal(guard.current().healthy, false, 'the timeout took the NAS down at once');
  assert.equal(guard.current().reason, 'probe_timeout');
  t.diagnostic(`place() with a hung NAS spooled after ${took} ms`);

  // While workers sit stuck in the kernel, this process's pool is untouched.
  await within(
    Promise.all([
      ...Array.from({ length: 8 }, () => stat(dir)),
      ...Array.from({ length: 8 }, (_, i) => promisify(pbkdf2)(`pw${i}`, 'salt', 20_000, 32, 'sha256')),
    ]),
    3000,
    '8 fs.stat and 8 pbkdf2 in the test process during the hang',
  );

  started = Date.now();
  const checked = await guard.check();
  took = Date.now() - started;
  assert.equal(checked.healthy, false);
  assert.equal(checked.reason, 'probe_timeout');
  assert.ok(took < timeoutMs + 2000, `check() settled after ${took} ms`);
  t.diagnostic(`guard.check() on the hung NAS settled after ${took} ms`);
  assert.equal(fs.stats().stuck, 2, 'both killed workers are still stuck in the kernel: really hung');

  // With that many stuck, the worker stops feeding the hang more processes and answers at once.
  started = Date.now();
  const refused = await guard.check();
  assert.equal(refused.reason, 'probe_timeout');
  assert.match(refused.detail ?? '', /stuck/);
  assert.ok(Date.now() - started < 500, 'no new process thrown at the hang');
  const second = await transfer.place(makeFile(path.join(staging, 'later'), 5000), 'videos/cam/later.mp4');
  assert.equal(second.location, 'spool', 'with the guard down, place() does not even try the NAS');

  serving = false;
  await client;
  assert.ok(answered > 20, `HTTP requests kept being answered (${answered})`);
  assert.ok(slowest < 500, `slowest HTTP answer ${slowest} ms`);
  t.diagnostic(`${answered} HTTP requests answered during the hang, slowest ${slowest} ms`);
  assert.deepEqual(
    (await spool.list()).map((e) => e.relPath),
    ['videos/cam/during.mp4', 'videos/cam/later.mp4'],
  );
  assert.deepEqual(
    readdirSync(path.join(backing, 'videos/cam')),
    ['before.mp4'],
    'nothing half-written on the NAS',
  );
});
