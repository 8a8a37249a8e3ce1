import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { copyFile, type FileHandle, mkdir, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { manualClock } from '../clock.js';
import type { LiveEvent } from '../events/bus.js';
import { type MadeSegment, makeSegments } from '../media/fixtures/segments.js';
import { probeSegment, type SegmentProbe } from '../media/index.js';
import { parseRelPath } from '../recording/segment-names.js';
import { segmentFromProbe } from '../recording/segments.repo.js';
import { ffprobeSeconds } from '../testing/ffprobe.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import type { ExportView } from './exports.service.js';

const T = Date.UTC(2026, 10, 23, 14, 0, 0);
const clock = manualClock(Date.UTC(2026, 10, 23, 15, 0, 0));
const nas = tempDir('hearth-nas-');
const work = tempDir('hearth-export-test-');
let t: TestHub;
let member: TestClient;
let viewer: TestClient;
let made: MadeSegment[];
const events: LiveEvent[] = [];

before(async () => {
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  t = await startTestHub(
    { nasDir: nas, storage: { requireNasMount: false, nasCheckSeconds: 1 }, exports: { stallSeconds: 3 } },
    { clock },
  );
  // The spool drain and NAS reconcile loops would move or index the files this test places by hand;
  // expiry is driven below through the same function its loop calls, at manual-clock times.
  assert.ok(t.hub.loops.list().some((loop) => loop.name === 'exports.expire' && loop.intervalMs === 600_000));
  await t.hub.loops.stop();
  await t.hub.settings.update({ timeZone: 'UTC' });
  t.hub.cameras.create({ id: 'porch', name: 'Porch', kind: 'demo', record: false });
  member = await t.userWithRole('member');
  viewer = await t.userWithRole('viewer');
  made = await makeSegments(work, { count: 3, seconds: 4 });
  t.hub.bus.subscribe((event) => {
    if (event.topic === 'exports') events.push({ ...event, at: performance.now() });
  });
});
after(async () => {
  await t?.stop();
  await Promise.all([nas, work, t?.dataDir].map((dir) => dir && rm(dir, { recursive: true, force: true })));
});

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);

/** A segment file where the recorder would have put it, and its index row. */
async function addSegment(
  source: string | 'fifo',
  startAt: number,
  location: 'nas' | 'spool',
  probe?: Pick<SegmentProbe, 'durationMs' | 'bytes' | 'codec' | 'width' | 'height' | 'initHeaderBytes'>,
) {
  const relPath = `videos/porch/${new Date(startAt).toISOString().slice(0, 10)}/porch_${stamp(startAt)}.mp4`;
  const file = path.join(location === 'nas' ? nas : path.join(t.dataDir, 'spool'), relPath);
  await mkdir(path.dirname(file), { recursive: true });
  if (source === 'fifo') execFileSync('mkfifo', [file]);
  else await copyFile(source, file);
  const facts = probe ?? (await probeSegment(file));
  return t.hub.segments.insert(
    segmentFromProbe(parseRelPath(relPath)!, facts, { location, relPath }, clock.now()),
  );
}

async function waitForState(id: number, state: ExportView['state'], timeoutMs = 60_000): Promise<ExportView> {
  let last: unknown;
  try {
    return await waitFor(
      `export ${id} ${state}`,
      async () => {
        const view = (await member.get(`/api/exports/${id}`)).body.export as ExportView;
        last = view;
        return view.state === state ? view : undefined;
      },
      timeoutMs,
      50,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

async function download(id: number, range?: string) {
  const headers: Record<string, string> = { cookie: member.cookie };
  if (range) headers.range = range;
  const response = await fetch(`${t.url}/api/exports/${id}/file`, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const tmpDir = () => path.join(t.dataDir, 'exports-tmp');

test('three segments (two on the NAS, one in the spool) export over HTTP to one MP4 on the NAS, served with Range', async (ctx) => {
  await addSegment(made[0]!.file, T, 'nas');
  await addSegment(made[1]!.file, T + 4000, 'nas');
  await addSegment(made[2]!.file, T + 8000, 'spool');

  const started = performance.now();
  const created = await member.post('/api/exports', {
    cameraId: 'porch',
    from: '2026-11-23T14:00:01.500Z',
    to: T + 10_500,
  });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const { id } = created.body.export as ExportView;
  assert.equal(created.body.export.state, 'queued');
  assert.equal(created.body.export.fileName, 'porch_2026-11-23_140001-140010.mp4');
  assert.equal(created.body.export.from, T + 1500);

  const done = await waitForState(id, 'done');
  const tookMs = performance.now() - started;
  assert.equal(done.progress, 1);
  assert.equal(done.location, 'nas');
  assert.equal(done.finishedAt, clock.now());
  assert.equal(done.expiresAt, clock.now() + 24 * 3600_000);
  const onNas = path.join(nas, 'exports', `${id}.mp4`);
  assert.ok(existsSync(onNas), 'the clip is on the NAS under exports/');
  assert.deepEqual(filesIn(tmpDir()), [], 'nothing left in the work folder');
  assert.deepEqual(filesIn(path.join(t.dataDir, 'exports')), [], 'nothing kept locally');

  const whole = await download(id);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'video/mp4');
  assert.equal(
    whole.headers.get('content-disposition'),
    'attachment; filename="porch_2026-11-23_140001-140010.mp4"',
  );
  assert.equal(whole.body.length, done.bytes);
  const saved = path.join(work, 'downloaded.mp4');
  await writeFile(saved, whole.body);
  const seconds = ffprobeSeconds(saved);
  assert.ok(Math.abs(seconds - 9) < 1, `the clip is ${seconds} s for a 9 s range`);

  const size = whole.body.length;
  const suffix = await download(id, 'bytes=-100');
  assert.equal(suffix.status, 206);
  assert.equal(suffix.headers.get('content-range'), `bytes ${size - 100}-${size - 1}/${size}`);
  assert.deepEqual(suffix.body, whole.body.subarray(size - 100));
  const open = await download(id, 'bytes=100-');
  assert.equal(open.status, 206);
  assert.equal(open.headers.get('content-range'), `bytes 100-${size - 1}/${size}`);
  assert.deepEqual(open.body, whole.body.subarray(100));
  const beyond = await download(id, `bytes=${size + 10}-`);
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);

  const mine = events.filter((event) => (event.data as { export?: ExportView }).export?.id === id);
  const states = mine.map((event) => (event.data as { export: ExportView }).export.state);
  assert.deepEqual([states[0], states[1], states.at(-1)], ['queued', 'running', 'done']);
  const running = mine.filter((event) => (event.data as { export: ExportView }).export.state === 'running');
  for (let i = 1; i < running.length; i++)
    assert.ok(running[i]!.at - running[i - 1]!.at >= 240, 'progress events at most 4 per second');
  const listed = (await member.get('/api/exports')).body.exports as ExportView[];
  assert.deepEqual(
    listed.map((e) => e.id),
    [id],
  );
  ctx.diagnostic(
    `3-segment export (9 s of footage) from POST to done: ${tookMs.toFixed(0)} ms, ${running.length} running events, states ${states.join(',')}`,
  );
});

/** Writes `source` into a FIFO bit by bit once a reader has it open: a slow disk, with real bytes. */
async function feedSlowly(fifo: string, source: string, chunks: number, everyMs: number): Promise<void> {
  const data = await readFile(source);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let handle: FileHandle | undefined;
  while (!handle) {
    // Non-blocking, so that waiting for ffmpeg to open the other end never ties up a libuv thread.
    handle = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(
      async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENXIO') throw error;
        await pause(20);
        return undefined;
      },
    );
  }
  try {
    for (let i = 0; i < chunks; i++) {
      let part = data.subarray(
        Math.floor((i * data.length) / chunks),
        Math.floor(((i + 1) * data.length) / chunks),
      );
      while (part.length > 0) {
        const written = await handle.write(part).then(
          (result) => result.bytesWritten,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EAGAIN') return 0;
            throw error;
          },
        );
        part = part.subarray(written);
        if (part.length > 0) await pause(10);
      }
      await pause(everyMs);
    }
  } finally {
    await handle.close();
  }
}

test('a slow read shows rising progress on the live stream, at most 4 events a second', async (ctx) => {
  const P = T + 1800_000;
  await addSegment(made[0]!.file, P, 'nas');
  await addSegment('fifo', P + 4000, 'nas', await probeSegment(made[1]!.file));
  const created = await member.post('/api/exports', { cameraId: 'porch', from: P + 1000, to: P + 8000 });
  const id = created.body.export.id as number;
  const fifo = path.join(nas, 'videos/porch/2026-11-23', `porch_${stamp(P + 4000)}.mp4`);
  await feedSlowly(fifo, made[1]!.file, 30, 100);
  const done = await waitForState(id, 'done');
  const saved = path.join(nas, 'exports', `${done.id}.mp4`);
  assert.ok(Math.abs(ffprobeSeconds(saved) - 7) < 1, `${ffprobeSeconds(saved)} s`);

  const mine = events
    .filter((event) => (event.data as { export?: ExportView }).export?.id === id)
    .map((event) => ({ at: event.at, ...(event.data as { export: ExportView }).export }));
  const running = mine.filter((e) => e.state === 'running');
  ctx.diagnostic(`progress while reading slowly: ${running.map((e) => e.progress.toFixed(2)).join(' ')}`);
  assert.ok(running.length >= 4, `${running.length} running events over a 3 s read`);
  for (let i = 1; i < running.length; i++) {
    assert.ok(running[i]!.at - running[i - 1]!.at >= 240, 'progress events at most 4 per second');
    assert.ok(running[i]!.progress > running[i - 1]!.progress, 'progress rises');
  }
  assert.ok(running.at(-1)!.progress > 0.3 && running.at(-1)!.progress < 1);
  assert.deepEqual(mine.at(-1), { ...mine.at(-1), state: 'done', progress: 1 });
});

test('a segment the spool drain moved to the NAS before its row was updated is found there', async () => {
  const M = T + 2400_000;
  const moved = await addSegment(made[0]!.file, M, 'spool');
  await addSegment(made[1]!.file, M + 4000, 'nas');
  const nasFile = path.join(nas, moved.relPath);
  await mkdir(path.dirname(nasFile), { recursive: true });
  await copyFile(path.join(t.dataDir, 'spool', moved.relPath), nasFile);
  await unlink(path.join(t.dataDir, 'spool', moved.relPath));
  assert.equal(t.hub.segments.get(moved.id)?.location, 'spool', 'the row still says spool');
  const created = await member.post('/api/exports', { cameraId: 'porch', from: M, to: M + 8000 });
  const done = await waitForState(created.body.export.id, 'done');
  const seconds = ffprobeSeconds(path.join(nas, 'exports', `${done.id}.mp4`));
  assert.ok(Math.abs(seconds - 8) < 0.5, `${seconds} s: the moved segment is in the clip`);
  t.hub.segments.move(moved.relPath, 'nas'); // what the drain does next
});

test('viewers may not export, list, download or delete (403); nobody signed in gets 401', async () => {
  const { id } = (await member.get('/api/exports')).body.exports[0] as ExportView;
  const body = { cameraId: 'porch', from: T, to: T + 4000 };
  assert.equal((await viewer.post('/api/exports', body)).status, 403);
  assert.equal((await viewer.get('/api/exports')).status, 403);
  assert.equal((await viewer.get(`/api/exports/${id}`)).status, 403);
  assert.equal((await viewer.get(`/api/exports/${id}/file`)).status, 403);
  assert.equal((await viewer.delete(`/api/exports/${id}`)).status, 403);
  assert.equal((await t.client().get('/api/exports')).status, 401);
  assert.equal((await member.get(`/api/exports/${id}`)).status, 200, 'still there');
});

test('bad input: 400 for bad or over-long ranges, 404 for an unknown camera, 422 where nothing was recorded', async () => {
  const post = (body: unknown) => member.post('/api/exports', body);
  const issue = async (body: unknown) => {
    const response = await post(body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.code, 'invalid_input');
    return response.body.error.details.issues.map((i: { path: string }) => i.path);
  };
  assert.deepEqual(await issue({ cameraId: 'porch', from: T + 4000, to: T + 4000 }), ['to']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: T + 4000, to: T }), ['to']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: T, to: T + 6 * 3600_000 + 1 }), ['to']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: 'yesterday', to: T }), ['from']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: '2026-11-23 14:00', to: T }), ['from']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: -5, to: T }), ['from']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: T }), ['to']);
  assert.deepEqual(await issue({ cameraId: '../etc', from: T, to: T + 1000 }), ['cameraId']);
  assert.deepEqual(await issue({ cameraId: 'porch', from: T, to: T + 1000, extra: 1 }), ['']);
  assert.equal((await member.get('/api/exports/abc')).status, 400);

  const unknown = await post({ cameraId: 'garden', from: T, to: T + 1000 });
  assert.equal(unknown.status, 404);
  const nothing = await post({ cameraId: 'porch', from: T - 3600_000, to: T - 60_000 });
  assert.equal(nothing.status, 422);
  assert.equal(nothing.body.error.code, 'no_footage');
  assert.equal((await member.get('/api/exports/987654')).status, 404);
  assert.equal((await member.delete('/api/exports/987654')).status, 404);
  // The longest range allowed passes validation (and finds the footage inside it).
  const sixHours = await post({ cameraId: 'porch', from: T - 6 * 3600_000 + 12_000, to: T + 12_000 });
  assert.equal(sixHours.status, 202);
  const whole = await waitForState(sixHours.body.export.id, 'done');
  assert.equal(whole.fileName, 'porch_2026-11-23_080012-140012.mp4');
  assert.equal((await member.delete(`/api/exports/${whole.id}`)).status, 204);
});

test('DELETE removes the row and its file; the file route answers 409 until an export is done', async () => {
  const created = await member.post('/api/exports', { cameraId: 'porch', from: T, to: T + 4000 });
  const id = created.body.export.id as number;
  const done = await waitForState(id, 'done');
  const file = path.join(nas, 'exports', `${id}.mp4`);
  assert.ok(existsSync(file));
  assert.ok(Math.abs(ffprobeSeconds(file) - 4) < 1);
  assert.equal(done.fileName, 'porch_2026-11-23_140000-140004.mp4');
  assert.equal((await member.delete(`/api/exports/${id}`)).status, 204);
  assert.equal((await member.get(`/api/exports/${id}`)).status, 404);
  assert.equal((await member.get(`/api/exports/${id}/file`)).status, 404);
  assert.ok(!existsSync(file), 'its file went with it');
  assert.equal((await member.delete(`/api/exports/${id}`)).status, 404);
  const removed = events.find((event) => (event.data as { change: string; id?: number }).id === id);
  assert.deepEqual(removed?.data, { change: 'removed', id });
});

test('a read that hangs (a FIFO standing in for a hung NAS) is killed, retried, and fails with no partial file anywhere', async () => {
  const fake = {
    durationMs: 4000,
    bytes: 200_000,
    codec: 'h264',
    width: 320,
    height: 240,
    initHeaderBytes: 800,
  };
  const H = T + 600_000;
  await addSegment(made[0]!.file, H, 'nas');
  await addSegment('fifo', H + 4000, 'nas', fake);

  const created = await member.post('/api/exports', { cameraId: 'porch', from: H, to: H + 8000 });
  const id = created.body.export.id as number;
  await waitForState(id, 'running');
  assert.equal((await member.get(`/api/exports/${id}/file`)).status, 409, 'not downloadable while running');
  // ffmpeg has the first segment copied into its work file and is stuck opening the second.
  await waitFor('a partial work file', () =>
    filesIn(tmpDir()).some((n) => n.startsWith(`${id}.mp4.partial-`)) ? true : undefined,
  );

  const retrying = await waitFor('the first attempt to give up', async () => {
    const view = (await member.get(`/api/exports/${id}`)).body.export as ExportView;
    return view.state === 'queued' && view.error ? view : undefined;
  });
  assert.match(
    retrying.error!,
    /^Reading the footage stalled: ffmpeg read nothing for 3 s; .*may be hung\.$/,
  );
  assert.deepEqual(filesIn(tmpDir()), [], 'the partial clip is gone after the first attempt');

  // Two more attempts, each due after its backoff on the hub's clock.
  for (let attempt = 2; attempt <= 3; attempt++) {
    clock.advance(3600_000);
    t.hub.queue.pump();
    await waitFor(`attempt ${attempt}`, () => {
      const job = t.hub.queue
        .list({ kind: 'export.clip', limit: 50 })
        .find((j) => j.payload && (j.payload as { exportId: number }).exportId === id);
      return job && job.attempts === attempt && job.status !== 'running' ? job : undefined;
    });
  }
  const failed = await waitForState(id, 'failed');
  assert.match(failed.error!, /may be hung/);
  assert.equal(failed.expiresAt, failed.finishedAt! + 24 * 3600_000);
  const job = t.hub.queue.list({ kind: 'export.clip', status: 'dead', limit: 50 });
  assert.ok(
    job.some((j) => (j.payload as { exportId: number }).exportId === id),
    'the job is dead-lettered',
  );
  assert.deepEqual(filesIn(tmpDir()), []);
  assert.ok(!filesIn(path.join(nas, 'exports')).some((n) => n.startsWith(`${id}.`)));
  assert.ok(!filesIn(path.join(t.dataDir, 'exports')).some((n) => n.startsWith(`${id}.`)));
  assert.equal((await member.get(`/api/exports/${id}/file`)).status, 409);

  // Deleting an export while it runs stops ffmpeg and leaves nothing behind.
  const second = await member.post('/api/exports', { cameraId: 'porch', from: H, to: H + 8000 });
  const other = second.body.export.id as number;
  await waitForState(other, 'running');
  await waitFor('a partial work file', () => (filesIn(tmpDir()).length > 0 ? true : undefined));
  assert.equal((await member.delete(`/api/exports/${other}`)).status, 204);
  await waitFor('the work folder emptied', () => (filesIn(tmpDir()).length === 0 ? true : undefined), 30_000);
  await t.hub.queue.idle();
  assert.equal((await member.get(`/api/exports/${other}`)).status, 404);
});

test('with the NAS down, spool footage exports and is kept on the hub; NAS footage waits for the NAS', async () => {
  await unlink(path.join(nas, '.hearth-nas'));
  await waitFor(
    'the NAS marked down',
    () => (t.hub.recording.nasHealth().healthy ? undefined : true),
    10_000,
  );
  const S = T + 1200_000;
  await addSegment(made[0]!.file, S, 'spool');
  await addSegment(made[1]!.file, S + 4000, 'spool');

  const local = await member.post('/api/exports', { cameraId: 'porch', from: S + 2000, to: S + 7000 });
  assert.equal(local.status, 202);
  const done = await waitForState(local.body.export.id, 'done');
  assert.equal(done.location, 'local');
  const file = path.join(t.dataDir, 'exports', `${done.id}.mp4`);
  assert.ok(existsSync(file));
  const whole = await download(done.id);
  assert.equal(whole.status, 200);
  const saved = path.join(work, 'local.mp4');
  await writeFile(saved, whole.body);
  assert.ok(Math.abs(ffprobeSeconds(saved) - 5) < 1, `${ffprobeSeconds(saved)} s`);
  assert.equal((await download(done.id, 'bytes=-10')).status, 206);

  const waiting = await member.post('/api/exports', { cameraId: 'porch', from: T, to: T + 12_000 });
  const id = waiting.body.export.id as number;
  const queued = await waitFor('the attempt to fail on the NAS', async () => {
    const view = (await member.get(`/api/exports/${id}`)).body.export as ExportView;
    return view.state === 'queued' && view.error ? view : undefined;
  });
  assert.match(queued.error!, /NAS is not reachable/);

  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  await waitFor('the NAS back', () => (t.hub.recording.nasHealth().healthy ? true : undefined), 30_000);
  // The NAS's return drains the spool; let it finish so that the retry reads settled files.
  await waitFor('the spool drained', () =>
    t.hub.segments.relPathsAt('spool').size === 0 ? true : undefined,
  );
  clock.advance(3600_000);
  t.hub.queue.pump();
  const later = await waitForState(id, 'done');
  assert.equal(later.location, 'nas');
  assert.ok(Math.abs(ffprobeSeconds(path.join(nas, 'exports', `${id}.mp4`)) - 12) < 1);
});

test('24 h after finishing, exports (done and failed) and their files are deleted; stray files are swept', async () => {
  await t.hub.queue.idle();
  const before = (await member.get('/api/exports')).body.exports as ExportView[];
  assert.ok(before.some((e) => e.state === 'failed') && before.some((e) => e.location === 'local'));
  assert.ok(before.some((e) => e.location === 'nas'));
  const files = before.map((e) =>
    e.location === 'nas'
      ? path.join(nas, 'exports', `${e.id}.mp4`)
      : path.join(t.dataDir, 'exports', `${e.id}.mp4`),
  );
  const stored = files.filter((_, i) => before[i]!.state === 'done');
  assert.ok(stored.every((file) => existsSync(file)));
  // Left by a crash: a work file, a local clip without a row, a NAS copy without a row.
  await writeFile(path.join(tmpDir(), '9001.mp4.partial-abc'), 'x');
  await writeFile(path.join(t.dataDir, 'exports', '9002.mp4'), 'x');
  await writeFile(path.join(nas, 'exports', '9003.mp4'), 'x');
  await writeFile(path.join(nas, 'exports', 'notes.txt'), 'not ours');

  const latest = Math.max(...before.map((e) => e.expiresAt!));
  clock.set(latest - 60_000);
  const early = await t.hub.clipExports.expire();
  assert.equal(early.swept, 3);
  assert.ok(early.expired < before.length, 'not all expired a minute early');
  assert.ok(stored.some((file) => existsSync(file)));
  assert.ok(!existsSync(path.join(nas, 'exports', '9003.mp4')));
  assert.ok(existsSync(path.join(nas, 'exports', 'notes.txt')), 'a file that is not ours stays');

  clock.set(latest);
  await t.hub.clipExports.expire();
  assert.deepEqual((await member.get('/api/exports')).body.exports, []);
  for (const file of files) assert.ok(!existsSync(file), `${file} removed`);
  assert.deepEqual(filesIn(tmpDir()), []);
  assert.deepEqual(filesIn(path.join(t.dataDir, 'exports')), []);
  assert.deepEqual(filesIn(path.join(nas, 'exports')), ['notes.txt']);
});
