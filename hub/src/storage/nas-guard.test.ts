import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isMounted, mountTmpfs, unmount } from './fixtures/mounts.js';
import { makeFile, tempDir, waitFor } from './fixtures/util.js';
import { createFsWorker } from './fs-worker.js';
import { createNasGuard, type NasHealth } from './nas-guard.js';
import { MARKER_NAME } from './paths.js';
import { createSpool } from './spool.js';
import { createTransfer, type Moved } from './transfer.js';

const T0 = Date.UTC(2026, 0, 1);

test('a real tmpfs NAS: healthy when mounted with its marker; unmounted, not one byte lands on the bare folder; back, the spool drains oldest first', async (t) => {
  const { dir, cleanup } = tempDir('guard-tmpfs');
  const nas = path.join(dir, 'nas');
  const staging = path.join(dir, 'staging');
  mkdirSync(nas);
  mkdirSync(staging);
  const fs = createFsWorker({ timeoutMs: 5000 });
  t.after(async () => {
    try {
      await fs.close();
      if (isMounted(nas)) await unmount(nas);
    } finally {
      cleanup();
    }
  });

  await mountTmpfs(nas);
  writeFileSync(path.join(nas, MARKER_NAME), 'installed\n');
  const guard = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: true,
    createMarker: false,
    intervalMs: 60_000,
  });
  const changes: NasHealth[] = [];
  guard.onChange((health) => changes.push(health));
  const spool = createSpool({
    dir: path.join(dir, 'spool'),
    quotaBytes: 10_000_000,
    onDrop: () => undefined,
  });
  const transfer = createTransfer({ nasRoot: nas, fs, guard, spool });

  const up = await guard.check();
  assert.equal(up.healthy, true, JSON.stringify(up));
  assert.equal(up.reason, null);
  assert.equal(up.totalBytes, 16 * 1024 * 1024);
  assert.ok(up.freeBytes! > 0);
  const direct = await transfer.place(makeFile(path.join(staging, 'first'), 1000), 'videos/cam/first.mp4');
  assert.deepEqual(direct, { location: 'nas', relPath: 'videos/cam/first.mp4', bytes: 1000 });

  // The NAS goes away between two checks: the guard still believes it is up.
  await unmount(nas);
  assert.deepEqual(readdirSync(nas), [], 'the bare mount point is empty');
  assert.equal(guard.current().healthy, true, 'stale belief, as after any unnoticed unmount');
  const raced = await transfer.place(makeFile(path.join(staging, 'a'), 2000, T0 + 2000), 'videos/cam/a.mp4');
  assert.equal(raced.location, 'spool', 'the fence in the worker caught the missing NAS');
  assert.deepEqual(readdirSync(nas), [], 'no folder, no file, not one byte under the NAS path');

  const down = await guard.check();
  assert.equal(down.healthy, false);
  assert.equal(down.reason, 'not_mounted');
  const laxGuard = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: false,
    createMarker: false,
    intervalMs: 60_000,
  });
  const lax = await laxGuard.check();
  assert.equal(lax.reason, 'no_marker', 'even without the mount-point rule, an empty folder is not the NAS');

  for (const [name, mtime] of [
    ['b', T0 + 1000],
    ['c', T0 + 3000],
  ] as const) {
    const placed = await transfer.place(
      makeFile(path.join(staging, name), 3000, mtime),
      `videos/cam/${name}.mp4`,
    );
    assert.equal(placed.location, 'spool');
  }
  assert.deepEqual(readdirSync(nas), [], 'still nothing on the bare folder');
  assert.deepEqual(readdirSync(staging), [], 'staging is emptied into the spool');
  assert.deepEqual(readdirSync(path.join(nas, '..', 'spool/videos/cam')).sort(), ['a.mp4', 'b.mp4', 'c.mp4']);

  await mountTmpfs(nas);
  assert.equal((await guard.check()).reason, 'no_marker', 'a fresh, unprepared disk is not the NAS either');
  writeFileSync(path.join(nas, MARKER_NAME), 'installed\n');
  assert.equal((await guard.check()).healthy, true);
  assert.deepEqual(
    changes.map((h) => h.reason ?? 'up'),
    ['up', 'not_mounted', 'no_marker', 'up'],
    'onChange fired on the first result, on each change of reason, and up',
  );

  const moved: Moved[] = [];
  const count = await transfer.drainSpool((m) => moved.push(m));
  assert.equal(count, 3);
  assert.deepEqual(
    moved.map((m) => m.relPath),
    ['videos/cam/b.mp4', 'videos/cam/a.mp4', 'videos/cam/c.mp4'],
    'oldest first',
  );
  assert.ok(moved.every((m) => m.from === 'spool' && m.spooledAs === m.relPath));
  for (const m of moved) {
    const data = readFileSync(path.join(nas, m.relPath));
    assert.equal(data.length, m.bytes);
    assert.equal(data.subarray(0, 1).toString(), path.basename(m.relPath, '.mp4'));
  }
  assert.deepEqual(await spool.list(), []);
  assert.ok(!existsSync(path.join(nas, 'videos/cam/first.mp4')), 'this tmpfs is a new, empty disk');
});

test('the laptop demo: a plain folder is healthy without being a mount point, and the guard writes the marker', async (t) => {
  const { dir, cleanup } = tempDir('guard-demo');
  const nas = path.join(dir, 'var/nas');
  mkdirSync(nas, { recursive: true });
  const fs = createFsWorker();
  t.after(async () => {
    await fs.close();
    cleanup();
  });
  const strict = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: true,
    createMarker: true,
    intervalMs: 60_000,
  });
  assert.equal((await strict.check()).reason, 'not_mounted');
  assert.ok(!existsSync(path.join(nas, MARKER_NAME)), 'a guard that refuses writes nothing');

  const missing = createNasGuard({
    root: path.join(dir, 'nope'),
    fs,
    requireMountPoint: false,
    createMarker: true,
    intervalMs: 60_000,
  });
  assert.equal((await missing.check()).reason, 'missing');
  assert.ok(!existsSync(path.join(dir, 'nope')), 'and never creates the root itself');

  const demo = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: false,
    createMarker: true,
    intervalMs: 60_000,
  });
  const seen: boolean[] = [];
  demo.onChange((h) => seen.push(h.healthy));
  demo.start();
  t.after(() => demo.stop());
  // The guard's own timer does not hold the process open (the hub's server does); waitFor's does.
  await waitFor(() => demo.current().reason !== 'unchecked', 'the first scheduled check');
  assert.equal(demo.current().healthy, true, JSON.stringify(demo.current()));
  assert.match(readFileSync(path.join(nas, MARKER_NAME), 'utf8'), /hearth/);
  assert.deepEqual(readdirSync(path.join(nas, '.hearth-probe')), [], 'the probe cleans up after itself');

  // Removing the marker (what an operator does to take a NAS out of service) is noticed.
  unlinkSync(path.join(nas, MARKER_NAME));
  const strictMarker = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: false,
    createMarker: false,
    intervalMs: 60_000,
  });
  assert.equal((await strictMarker.check()).reason, 'no_marker');
  assert.deepEqual(seen, [true]);
});
