import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { StorageError } from './errors.js';
import { isMounted, mountTmpfs, unmount } from './fixtures/mounts.js';
import { makeFile, tempDir } from './fixtures/util.js';
import { createSpool } from './spool.js';

const T0 = Date.UTC(2026, 0, 1);

test('past the quota the oldest files are dropped and reported with their sizes; usage stays within quota', async (t) => {
  const { dir, cleanup } = tempDir('spool-quota');
  t.after(cleanup);
  const staging = path.join(dir, 'staging');
  mkdirSync(staging);
  const drops: { relPath: string; bytes: number }[][] = [];
  const spool = createSpool({
    dir: path.join(dir, 'spool'),
    quotaBytes: 10_000,
    onDrop: (d) => drops.push(d),
  });

  const rel = (i: number) => `videos/cam/2026-01-01/cam_20260101_00000${i}.mp4`;
  for (let i = 1; i <= 3; i++) {
    await spool.put(makeFile(path.join(staging, `s${i}`), 3000, T0 + i * 1000), rel(i));
  }
  assert.equal(await spool.usedBytes(), 9000);
  assert.deepEqual(drops, [], 'nothing dropped while under quota');

  // The fourth arrives with the oldest mtime of all: order is by age, not by arrival, but what was
  // just accepted is never the one dropped for it.
  await spool.put(makeFile(path.join(staging, 's4'), 3000, T0 + 500), rel(4));
  assert.deepEqual(drops, [[{ relPath: rel(1), bytes: 3000 }]]);
  assert.equal(await spool.usedBytes(), 9000);
  assert.deepEqual(
    (await spool.list()).map((e) => e.relPath),
    [rel(4), rel(2), rel(3)],
  );

  await spool.put(makeFile(path.join(staging, 's5'), 7000, T0 + 5000), rel(5));
  assert.deepEqual(drops[1], [
    { relPath: rel(4), bytes: 3000 },
    { relPath: rel(2), bytes: 3000 },
  ]);
  assert.ok((await spool.usedBytes()) <= 10_000);
  assert.deepEqual(
    (await spool.list()).map((e) => [e.relPath, e.bytes]),
    [
      [rel(3), 3000],
      [rel(5), 7000],
    ],
  );
  for (const entry of await spool.list()) {
    assert.equal(readFileSync(entry.absPath).subarray(0, 2).toString(), `s${entry.relPath.at(-5)}`);
  }

  const huge = makeFile(path.join(staging, 'huge'), 10_001, T0 + 6000);
  const refused = await spool.put(huge, 'videos/huge.mp4').catch((e: unknown) => e);
  assert.ok(refused instanceof StorageError && refused.code === 'quota', String(refused));
  assert.ok(existsSync(huge), 'a refused file stays where it was');
  assert.equal(drops.length, 2, 'and nothing was dropped for it');
  assert.equal(await spool.usedBytes(), 10_000);
});

test('a file held for a drain is never dropped for quota; released, it is again the oldest', async (t) => {
  const { dir, cleanup } = tempDir('spool-hold');
  t.after(cleanup);
  const drops: string[] = [];
  const spool = createSpool({
    dir: path.join(dir, 'spool'),
    quotaBytes: 5000,
    onDrop: (d) => drops.push(...d.map((x) => x.relPath)),
  });
  await spool.put(makeFile(path.join(dir, 'a'), 2000, T0 + 1000), 'a');
  await spool.put(makeFile(path.join(dir, 'b'), 2000, T0 + 2000), 'b');
  const release = spool.hold('a');
  await spool.put(makeFile(path.join(dir, 'c'), 2000, T0 + 3000), 'c');
  assert.deepEqual(drops, ['b'], 'the held oldest file was skipped');
  release();
  await spool.put(makeFile(path.join(dir, 'd'), 2000, T0 + 4000), 'd');
  assert.deepEqual(drops, ['b', 'a']);
  assert.deepEqual(
    (await spool.list()).map((e) => e.relPath),
    ['c', 'd'],
  );
});

test('put moves (source gone), keeps mtime, suffixes collisions, lists oldest first, tidies folders', async (t) => {
  const { dir, cleanup } = tempDir('spool-basic');
  t.after(cleanup);
  const spool = createSpool({ dir: path.join(dir, 'spool'), quotaBytes: 1_000_000, onDrop: () => undefined });
  const a = makeFile(path.join(dir, 'a'), 10, T0 + 2000);
  const b = makeFile(path.join(dir, 'b'), 20, T0 + 1000);
  const c = makeFile(path.join(dir, 'c'), 30, T0 + 3000);
  const first = await spool.put(a, 'x/y/same.mp4');
  const second = await spool.put(b, 'x/y/same.mp4');
  const third = await spool.put(c, 'top');
  assert.equal(first.relPath, 'x/y/same.mp4');
  assert.equal(second.relPath, 'x/y/same-1.mp4', 'a taken name gets a suffix, never overwritten');
  assert.equal(third.relPath, 'top');
  assert.ok(!existsSync(a) && !existsSync(b) && !existsSync(c), 'sources are moved, not copied');
  assert.equal(statSync(first.absPath).mtimeMs, T0 + 2000);
  assert.deepEqual(
    (await spool.list()).map((e) => e.relPath),
    ['x/y/same-1.mp4', 'x/y/same.mp4', 'top'],
    'oldest first by mtime',
  );

  // A crash in the middle of a cross-disk put leaves a temporary name: it is not a spooled file.
  writeFileSync(path.join(dir, 'spool/x/y/same.mp4.partial-dead00'), 'half');
  assert.equal((await spool.list()).length, 3);
  assert.ok(!existsSync(path.join(dir, 'spool/x/y/same.mp4.partial-dead00')), 'and it is cleaned away');

  assert.equal(await spool.remove('x/y/same.mp4'), true);
  assert.equal(await spool.remove('x/y/same.mp4'), false);
  assert.equal(await spool.remove('x/y/same-1.mp4'), true);
  assert.deepEqual(readdirSync(path.join(dir, 'spool')), ['top'], 'emptied folders are removed');

  for (const bad of ['../escape', '/abs', 'a/../../b', '', 'a//b']) {
    await assert.rejects(spool.put(makeFile(path.join(dir, 'bad'), 1), bad), StorageError, bad);
  }
});

test('a file on another disk is copied, fsynced and then removed (real tmpfs as the other disk)', async (t) => {
  const { dir, cleanup } = tempDir('spool-xdev');
  const other = path.join(dir, 'ramdisk');
  mkdirSync(other);
  t.after(async () => {
    if (isMounted(other)) await unmount(other);
    cleanup();
  });
  await mountTmpfs(other, '4m');
  const spool = createSpool({ dir: path.join(dir, 'spool'), quotaBytes: 1_000_000, onDrop: () => undefined });
  const src = makeFile(path.join(other, 'seg.mp4'), 100_000, T0 + 7000);
  const entry = await spool.put(src, 'videos/cam/seg.mp4');
  assert.ok(!existsSync(src), 'the source on the other disk is removed');
  assert.equal(statSync(entry.absPath).size, 100_000);
  assert.equal(Math.round(statSync(entry.absPath).mtimeMs), T0 + 7000, 'mtime survives the copy');
  assert.equal(readFileSync(entry.absPath).subarray(0, 7).toString(), 'seg.mp4');
  assert.deepEqual(readdirSync(path.dirname(entry.absPath)), ['seg.mp4'], 'no temporary left');
});
