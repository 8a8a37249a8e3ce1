import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { StorageError } from './errors.js';
import { makeFile, tempDir } from './fixtures/util.js';
import { createFsWorker, type FsWorker } from './fs-worker.js';
import { createNasGuard, type NasGuard } from './nas-guard.js';
import { MARKER_NAME } from './paths.js';
import { createSpool, type Spool } from './spool.js';
import { createTransfer, type Transfer } from './transfer.js';

const BIG = 64 * 1024 * 1024;

async function setup(
  t: import('node:test').TestContext,
  name: string,
): Promise<{
  dir: string;
  nas: string;
  staging: string;
  fs: FsWorker;
  guard: NasGuard;
  spool: Spool;
  transfer: Transfer;
}> {
  const { dir, cleanup } = tempDir(name);
  const nas = path.join(dir, 'nas');
  const staging = path.join(dir, 'staging');
  mkdirSync(nas);
  mkdirSync(staging);
  const fs = createFsWorker({ timeoutMs: 10_000 });
  t.after(async () => {
    await fs.close();
    cleanup();
  });
  // A plain folder NAS: these tests are about copies, not mounts (nas-guard.test.ts mounts).
  writeFileSync(path.join(nas, MARKER_NAME), 'installed\n');
  const guard = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: false,
    createMarker: false,
    intervalMs: 60_000,
  });
  assert.equal((await guard.check()).healthy, true);
  const spool = createSpool({ dir: path.join(dir, 'spool'), quotaBytes: 1_000_000, onDrop: () => undefined });
  return {
    dir,
    nas,
    staging,
    fs,
    guard,
    spool,
    transfer: createTransfer({ nasRoot: nas, fs, guard, spool }),
  };
}

test('copyIn is atomic: the final name only ever shows the complete file', async (t) => {
  const { nas, staging, fs, guard } = await setup(t, 'xfer-atomic');
  const src = path.join(staging, 'big.mp4');
  writeFileSync(src, '');
  truncateSync(src, BIG);
  const dest = path.join(nas, 'videos/cam/big.mp4');
  let settled = false;
  let progressed = 0;
  const copy = fs
    .copyIn(src, dest, { fence: guard.fence(), onProgress: (b) => (progressed = b) })
    .finally(() => {
      settled = true;
    });
  let looks = 0;
  let sawPartial = false;
  while (!settled) {
    if (existsSync(dest)) assert.equal(statSync(dest).size, BIG, 'the final name never holds a partial file');
    if (existsSync(path.dirname(dest))) {
      sawPartial ||= readdirSync(path.dirname(dest)).some((n) => n.startsWith('big.mp4.partial-'));
    }
    looks++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await copy, { bytes: BIG });
  assert.ok(progressed > 0, 'progress was reported');
  assert.equal(statSync(dest).size, BIG);
  assert.deepEqual(readdirSync(path.dirname(dest)), ['big.mp4'], 'the temporary is gone');
  t.diagnostic(`looked ${looks} times during the copy; saw the .partial name: ${sawPartial}`);
});

test('SIGKILL of the worker mid-copy leaves no file under the final name, and the next copy works', async (t) => {
  const { nas, staging, fs, guard } = await setup(t, 'xfer-kill');
  const src = path.join(staging, 'big.mp4');
  writeFileSync(src, '');
  truncateSync(src, BIG);
  const dest = path.join(nas, 'videos/cam/big.mp4');
  let killedAt = -1;
  const outcome = await fs
    .copyIn(src, dest, {
      fence: guard.fence(),
      onProgress: (bytes) => {
        if (killedAt >= 0) return;
        killedAt = bytes;
        process.kill(fs.pid()!, 'SIGKILL');
      },
    })
    .catch((e: unknown) => e);
  assert.ok(outcome instanceof StorageError, String(outcome));
  assert.equal(outcome.code, 'io');
  assert.match(outcome.message, /SIGKILL/);
  assert.ok(killedAt > 0 && killedAt < BIG, `killed after ${killedAt} of ${BIG} bytes`);
  assert.ok(!existsSync(dest), 'the final name does not exist');
  const left = readdirSync(path.dirname(dest));
  assert.equal(left.length, 1);
  assert.match(
    left[0]!,
    /^big\.mp4\.partial-[0-9a-f]+$/,
    'only the temporary, which a walk reports as partial',
  );
  const walked = await fs.walk(nas, { includePartials: true });
  assert.deepEqual(
    walked.map((e) => [e.relPath, e.partial]),
    [[`videos/cam/${left[0]}`, true]],
  );
  assert.deepEqual(await fs.walk(nas), [], 'and an ordinary walk does not list at all');

  assert.deepEqual(
    await fs.copyIn(src, dest, { fence: guard.fence() }),
    { bytes: BIG },
    'a fresh worker copies',
  );
  assert.equal(statSync(dest).size, BIG);
});

test('a source that changes during the copy fails size verification and leaves nothing behind', async (t) => {
  const { nas, staging, fs } = await setup(t, 'xfer-size');
  const src = path.join(staging, 'growing.mp4');
  writeFileSync(src, '');
  truncateSync(src, BIG);
  const dest = path.join(nas, 'growing.mp4');
  let grew = false;
  const outcome = await fs
    .copyIn(src, dest, {
      onProgress: () => {
        if (grew) return;
        grew = true;
        appendFileSync(src, Buffer.alloc(4096, 1));
      },
    })
    .catch((e: unknown) => e);
  assert.ok(outcome instanceof StorageError, String(outcome));
  assert.equal(outcome.code, 'size_mismatch');
  assert.deepEqual(
    readdirSync(nas).filter((n) => n.startsWith('growing')),
    [],
  );
});

test('place: name collisions get -1, -2 … and never overwrite; the local file goes once placed', async (t) => {
  const { nas, staging, transfer } = await setup(t, 'xfer-collide');
  const rel = 'videos/cam/2026-01-01/cam_20260101_000000.mp4';
  const results = [];
  for (const tag of ['one', 'two', 'three']) {
    const file = makeFile(path.join(staging, tag), 100 + tag.length, undefined, tag);
    results.push(await transfer.place(file, rel));
    assert.ok(!existsSync(file), 'the local file is removed after a verified copy');
  }
  assert.deepEqual(
    results.map((r) => [r.location, r.relPath, r.bytes]),
    [
      ['nas', rel, 103],
      ['nas', 'videos/cam/2026-01-01/cam_20260101_000000-1.mp4', 103],
      ['nas', 'videos/cam/2026-01-01/cam_20260101_000000-2.mp4', 105],
    ],
  );
  const content = (r: string) => readFileSync(path.join(nas, r)).subarray(0, 5).toString();
  assert.equal(content(rel).slice(0, 3), 'one', 'the first file is untouched');
  assert.equal(content(results[1]!.relPath).slice(0, 3), 'two');
  assert.equal(content(results[2]!.relPath), 'three');

  const noExt = await transfer.place(makeFile(path.join(staging, 'x'), 10), 'notes/README');
  const noExt2 = await transfer.place(makeFile(path.join(staging, 'y'), 10), 'notes/README');
  assert.deepEqual([noExt.relPath, noExt2.relPath], ['notes/README', 'notes/README-1']);

  await assert.rejects(transfer.place(makeFile(path.join(staging, 'z'), 1), '../outside'), StorageError);
  assert.ok(!existsSync(path.join(nas, '..', 'outside')));
});

test('place: a failed NAS copy spools the file and has the guard look again; drainSpool brings it back, renaming on collision', async (t) => {
  const { nas, staging, transfer, guard, spool } = await setup(t, 'xfer-fail');
  // A file where a folder should be: the copy fails with a real I/O error on the "NAS".
  writeFileSync(path.join(nas, 'blocked'), 'in the way');
  const placed = await transfer.place(makeFile(path.join(staging, 'seg'), 500), 'blocked/seg.mp4');
  assert.deepEqual(placed, { location: 'spool', relPath: 'blocked/seg.mp4', bytes: 500 });
  assert.equal((await guard.check()).healthy, true, 'one failing path does not make the NAS unhealthy');

  const exportFile = makeFile(path.join(staging, 'export'), 10);
  const refused = await transfer.placeOnNas(exportFile, 'blocked/export.mp4').catch((e: unknown) => e);
  assert.ok(refused instanceof StorageError && refused.code === 'io', String(refused));
  assert.ok(existsSync(exportFile), 'placeOnNas leaves the local file when it fails');

  // Down: nothing drains, nothing is lost.
  const marker = path.join(nas, MARKER_NAME);
  const markerText = readFileSync(marker);
  unlinkSync(marker);
  assert.equal((await guard.check()).reason, 'no_marker');
  const second = await transfer.place(makeFile(path.join(staging, 'two'), 300), 'videos/two.mp4');
  assert.equal(second.location, 'spool');
  assert.equal(await transfer.drainSpool(() => assert.fail('must not move while down')), 0);
  assert.equal((await spool.list()).length, 2);

  writeFileSync(marker, markerText);
  assert.equal((await guard.check()).healthy, true);
  unlinkSync(path.join(nas, 'blocked'));
  mkdirSync(path.join(nas, 'videos'));
  writeFileSync(path.join(nas, 'videos/two.mp4'), 'an older file with the same name');
  const moved: { relPath: string; spooledAs: string; bytes: number }[] = [];
  assert.equal(await transfer.drainSpool((m) => moved.push(m)), 2);
  assert.deepEqual(moved, [
    { relPath: 'blocked/seg.mp4', spooledAs: 'blocked/seg.mp4', bytes: 500, from: 'spool' },
    { relPath: 'videos/two-1.mp4', spooledAs: 'videos/two.mp4', bytes: 300, from: 'spool' },
  ]);
  assert.equal(readFileSync(path.join(nas, 'videos/two.mp4'), 'utf8'), 'an older file with the same name');
  assert.equal(statSync(path.join(nas, 'videos/two-1.mp4')).size, 300);
  assert.deepEqual(await spool.list(), []);
});
