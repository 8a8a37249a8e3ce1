import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { StorageError } from './errors.js';
import { makeFile, tempDir, waitFor, within } from './fixtures/util.js';
import { createFsWorker, type WalkEntry } from './fs-worker.js';

test('every operation works on real files, in a child process', async (t) => {
  const { dir, cleanup } = tempDir('fsw-ops');
  const fs = createFsWorker({ timeoutMs: 10_000 });
  t.after(async () => {
    await fs.close();
    cleanup();
  });

  const info = await fs.stat(dir);
  assert.equal(info.type, 'dir');
  assert.notEqual(fs.pid(), process.pid, 'the work happens in another process');
  const missing = await fs.stat(path.join(dir, 'nope')).catch((e: unknown) => e);
  assert.ok(missing instanceof StorageError);
  assert.equal(missing.code, 'io');
  assert.equal(missing.errno, 'ENOENT');

  const mount = await fs.mountInfo(dir);
  assert.equal(mount.mountPoint, false, 'a temp folder is not a mount point');
  assert.equal((await fs.mountInfo('/')).mountPoint, true);
  const space = await fs.statfs(dir);
  assert.ok(space.totalBytes > 0 && space.freeBytes > 0 && space.freeBytes <= space.totalBytes);

  await fs.mkdirp(path.join(dir, 'a/b/c'));
  assert.ok(statSync(path.join(dir, 'a/b/c')).isDirectory());

  await fs.writeProbe(path.join(dir, '.probe'));
  assert.deepEqual(readdirSync(path.join(dir, '.probe')), [], 'the probe file is removed');

  await fs.writeFile(path.join(dir, 'note.json'), '{"a":1}\n');
  assert.equal(readFileSync(path.join(dir, 'note.json'), 'utf8'), '{"a":1}\n');
  const again = await fs.writeFile(path.join(dir, 'note.json'), 'other').catch((e: unknown) => e);
  assert.equal((again as StorageError).code, 'exists');
  assert.equal(readFileSync(path.join(dir, 'note.json'), 'utf8'), '{"a":1}\n', 'never overwritten');

  const src = makeFile(path.join(dir, 'src.bin'), 300_000, Date.UTC(2026, 0, 2, 3, 4, 5));
  const dest = path.join(dir, 'nas/videos/cam/2026-01-02/cam_20260102_030405.mp4');
  assert.deepEqual(await fs.copyIn(src, dest), { bytes: 300_000 });
  assert.deepEqual(readFileSync(dest), readFileSync(src));
  assert.equal(Math.round(statSync(dest).mtimeMs), Date.UTC(2026, 0, 2, 3, 4, 5), 'mtime kept');
  assert.ok(existsSync(src), 'copyIn leaves the source');
  assert.deepEqual(
    readdirSync(path.dirname(dest)).filter((n) => n.includes('.partial-')),
    [],
    'no temporary left behind',
  );

  const entries = await fs.readdir(path.join(dir, 'a'));
  assert.deepEqual(entries, [{ name: 'b', type: 'dir' }]);
  const tooMany = await fs.readdir(dir, { limit: 2 }).catch((e: unknown) => e);
  assert.equal((tooMany as StorageError).errno, 'E2BIG');

  writeFileSync(path.join(dir, 'x'), 'x');
  writeFileSync(path.join(dir, 'y'), 'y');
  const clash = await fs.rename(path.join(dir, 'x'), path.join(dir, 'y')).catch((e: unknown) => e);
  assert.equal((clash as StorageError).code, 'exists');
  assert.equal(readFileSync(path.join(dir, 'y'), 'utf8'), 'y', 'rename never replaces');
  await fs.rename(path.join(dir, 'x'), path.join(dir, 'moved/x'));
  assert.equal(readFileSync(path.join(dir, 'moved/x'), 'utf8'), 'x');
  assert.ok(!existsSync(path.join(dir, 'x')));
  await fs.rename(path.join(dir, 'a'), path.join(dir, 'a2'));
  assert.ok(statSync(path.join(dir, 'a2/b/c')).isDirectory(), 'folders move too');

  const video = readFileSync(dest);
  assert.deepEqual(await buffer(fs.createReadStream(dest, { chunkBytes: 64 * 1024 })), video, 'a whole file');
  assert.deepEqual(
    await buffer(fs.createReadStream(dest, { start: 1000, end: 250_999 })),
    video.subarray(1000, 251_000),
    'a byte range, end inclusive as HTTP Range',
  );
  const early = fs.createReadStream(dest, { chunkBytes: 4096 });
  await new Promise<void>((resolve) => early.once('data', () => resolve()));
  early.destroy();
  assert.equal((await fs.stat(dest)).bytes, 300_000, 'a stream dropped half-way leaves the worker usable');

  assert.equal(await fs.unlink(path.join(dir, 'y')), true);
  assert.equal(await fs.unlink(path.join(dir, 'y')), false, 'already gone is not an error');
});

test('walk streams a large tree in batches at the consumer pace, and never passes off a partial list as complete', async (t) => {
  const { dir, cleanup } = tempDir('fsw-walk');
  const fs = createFsWorker({ timeoutMs: 300 });
  t.after(async () => {
    await fs.close();
    cleanup();
  });
  const expected = new Map<string, number>();
  for (let cam = 0; cam < 5; cam++) {
    for (let day = 0; day < 5; day++) {
      const folder = path.join(dir, 'videos', `cam${cam}`, `2026-01-0${day + 1}`);
      mkdirSync(folder, { recursive: true });
      for (let i = 0; i < 100; i++) {
        const rel = `videos/cam${cam}/2026-01-0${day + 1}/seg${i}.mp4`;
        writeFileSync(path.join(dir, rel), 'x'.repeat(i));
        expected.set(rel, i);
      }
    }
  }
  writeFileSync(path.join(dir, '.hearth-nas'), 'marker');
  mkdirSync(path.join(dir, '.hearth-probe'));
  writeFileSync(path.join(dir, '.hearth-probe/leftover'), 'p');
  writeFileSync(path.join(dir, 'videos/cam0/2026-01-01/seg0.mp4.partial-abc123'), 'half');
  execFileSync('ln', ['-s', '/', path.join(dir, 'videos/loop')]);

  const batches: number[] = [];
  const seen = new Map<string, WalkEntry>();
  const summary = await fs.walk(dir, {
    batchSize: 1000,
    onBatch: async (entries) => {
      batches.push(entries.length);
      for (const entry of entries) seen.set(entry.relPath, entry);
      // A consumer slower than the timeout (a database writing rows): the worker's clock must be
      // paused meanwhile, or every reindex of a big NAS would be killed half-way.
      if (batches.length === 1) await new Promise((resolve) => setTimeout(resolve, 900));
    },
  });
  assert.deepEqual(summary, { files: 2500, truncated: false });
  assert.ok(batches.length >= 3, `several batches (${batches.join(', ')})`);
  assert.ok(Math.max(...batches) <= 1016, 'batches stay near batchSize');
  assert.equal(seen.size, 2500);
  for (const [rel, bytes] of expected) assert.equal(seen.get(rel)?.bytes, bytes, rel);
  assert.ok([...seen.keys()].every((rel) => !rel.startsWith('.') && !rel.includes('.partial-')));
  assert.equal(fs.stats().restarts, 0, 'the slow consumer did not trip the timeout');

  const withPartials = await fs.walk(dir, { includePartials: true });
  const partials = withPartials.filter((entry) => entry.partial);
  assert.deepEqual(
    partials.map((entry) => entry.relPath),
    ['videos/cam0/2026-01-01/seg0.mp4.partial-abc123'],
  );

  const capped = await fs.walk(dir, { maxEntries: 100, onBatch: () => undefined });
  assert.deepEqual(capped, { files: 100, truncated: true });
  const refused = await fs.walk(dir, { maxEntries: 100 }).catch((e: unknown) => e);
  assert.ok(
    refused instanceof StorageError && refused.errno === 'E2BIG',
    'a collected walk refuses to be partial',
  );

  const stopped = new AbortController();
  let got = 0;
  const aborted = await fs
    .walk(dir, {
      batchSize: 100,
      signal: stopped.signal,
      onBatch: (entries) => {
        got += entries.length;
        stopped.abort();
      },
    })
    .catch((e: unknown) => e);
  assert.equal((aborted as Error).name, 'AbortError');
  assert.ok(got <= 116);
  assert.equal(
    (await fs.walk(path.join(dir, 'videos/cam1'))).length,
    500,
    'the worker goes on after an abort',
  );
});

test('a hung call times out, its child is replaced, and meanwhile this process keeps its thread pool', async (t) => {
  const { dir, cleanup } = tempDir('fsw-hang');
  const timeoutMs = 1500;
  const fs = createFsWorker({ timeoutMs });
  t.after(async () => {
    await fs.close();
    cleanup();
  });
  // Opening a FIFO for reading blocks inside a libuv pool thread until a writer comes, exactly
  // like an open() on a hung NFS mount. As many as the pool has threads fill the child's pool.
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const fifos = Array.from({ length: poolSize }, (_, i) => path.join(dir, `fifo${i}`));
  execFileSync('mkfifo', fifos);
  const before = await fs.stat(dir);
  assert.equal(before.type, 'dir');
  const firstPid = fs.pid();

  const blocked = fifos.map((fifo, i) =>
    fs.copyIn(fifo, path.join(dir, `out${i}`), { timeoutMs: 60_000 }).then(
      () => 'resolved',
      (e: unknown) => e,
    ),
  );
  const started = Date.now();
  let statSettled = false;
  const hungStat = fs.stat(dir).then(
    (value) => {
      statSettled = true;
      return value;
    },
    (e: unknown) => {
      statSettled = true;
      return e;
    },
  );
  // The kernel says when every pool thread of the child sits in the FIFO open.
  const childPid = fs.pid()!;
  const threadsInFifoOpen = (): number =>
    readdirSync(`/proc/${childPid}/task`).filter((tid) => {
      try {
        return readFileSync(`/proc/${childPid}/task/${tid}/wchan`, 'utf8') === 'wait_for_partner';
      } catch {
        return false;
      }
    }).length;
  await waitFor(() => threadsInFifoOpen() === poolSize, `${poolSize} child threads blocked in open()`);

  // The property that matters: while the worker's pool is wedged, ours answers at once.
  const pbkdf2Async = promisify(pbkdf2);
  const local = Date.now();
  await within(
    Promise.all([
      ...Array.from({ length: 8 }, () => stat(dir)),
      ...Array.from({ length: 8 }, (_, i) => pbkdf2Async(`pw${i}`, 'salt', 20_000, 32, 'sha256')),
    ]),
    // Under the worker timeout: finishing first proves none of it queued behind the hung calls.
    timeoutMs - 100,
    '8 fs.stat and 8 pbkdf2 in the test process',
  );
  const localMs = Date.now() - local;
  assert.equal(statSettled, false, 'the worker call is still hung while ours completed');
  t.diagnostic(`8 stat + 8 pbkdf2 in the parent took ${localMs} ms while the worker was wedged`);

  const timedOut = await hungStat;
  const waited = Date.now() - started;
  assert.ok(timedOut instanceof StorageError, String(timedOut));
  assert.equal(timedOut.code, 'timeout');
  assert.ok(waited >= timeoutMs - 50 && waited < timeoutMs + 3000, `rejected after ${waited} ms`);
  for (const outcome of await Promise.all(blocked)) {
    assert.equal((outcome as StorageError).code, 'timeout', 'calls in flight on the killed child fail too');
  }
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.startsWith('out')),
    [],
    'nothing was created for them',
  );

  const after = await fs.stat(dir);
  assert.equal(after.ino, before.ino, 'later calls work');
  assert.notEqual(fs.pid(), firstPid, 'on a fresh child');
  assert.equal(fs.stats().restarts, 1);
  // A FIFO open is interruptible, so this child really dies; a D-state one is the FUSE test's job.
  await waitFor(() => fs.stats().stuck === 0, 'the killed child to exit');

  process.kill(fs.pid()!, 'SIGKILL');
  await waitFor(() => fs.pid() === undefined, 'the worker to notice its child died');
  assert.equal((await fs.stat(dir)).ino, before.ino, 'a crashed child is replaced too');
});

test('a read stream on a file that never answers errors with timeout instead of hanging its reader', async (t) => {
  const { dir, cleanup } = tempDir('fsw-read-hang');
  const fs = createFsWorker({ timeoutMs: 500 });
  t.after(async () => {
    await fs.close();
    cleanup();
  });
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  const failed = await buffer(fs.createReadStream(fifo)).catch((e: unknown) => e);
  assert.ok(failed instanceof StorageError && failed.code === 'timeout', String(failed));
  assert.ok(Date.now() - started < 3000);
  assert.equal((await fs.stat(dir)).type, 'dir', 'and the worker goes on');
});
