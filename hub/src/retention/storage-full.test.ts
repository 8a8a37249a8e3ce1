/**
 * A small real NAS (a tmpfs of 24 MiB, most of it taken by a file that is not the hub's) filled by the
 * demo cameras through the compiled hub: retention deletes the oldest unprotected footage while
 * recording goes on; when only protected footage is left under the free-space floor, the
 * lower-priority camera pauses and the high-priority one keeps recording; with room again, it resumes.
 * Needs root (mount), ffmpeg and `npm run build -w hub`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { mountTmpfs, unmount } from '../storage/fixtures/mounts.js';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

const MiB = 1024 * 1024;
const FLOOR = 12 * MiB;
const HIGH = 'demo-front-door';
const NORMAL = 'demo-living-room';

function query<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

function freeBytes(dir: string): number {
  const space = statfsSync(dir);
  return space.bavail * space.bsize;
}

test('a small NAS filled by demo recording: the oldest unprotected footage goes while recording goes on; with only protected footage left the lower priority pauses, and resumes with room', async () => {
  const dataDir = tempDir();
  const nas = path.join(tempDir('hearth-nas-'), 'nas');
  mkdirSync(nas);
  await mountTmpfs(nas, '24m');
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  // Someone else's 9 MiB: not the hub's to delete. That leaves about 3 MiB above the floor, some 10 s of
  // demo recording.
  const otherFile = path.join(nas, 'someone-elses.bin');
  writeFileSync(otherFile, Buffer.alloc(9 * MiB, 7));
  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(
    config,
    JSON.stringify({
      storage: { requireNasMount: true, nasCheckSeconds: 1 },
      // Short segments: each step below waits for the next one to finish.
      recording: { demoSegmentSeconds: 4 },
      retention: { minFreeBytes: FLOOR, minFreePercent: 0, maxDays: 0, intervalSeconds: 3600 },
    }),
  );
  const hub = await spawnHub({
    dataDir,
    env: { HEARTH_DEMO: '1', HEARTH_NAS_DIR: nas, HEARTH_CONFIG: config },
  });
  let mounted = true;
  const cookieJar = { cookie: '' };
  try {
    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    const cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
    cookieJar.cookie = cookie;
    const call = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${hub.url}/api${url}`, {
        method,
        headers: { cookie, origin: hub.url, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.ok(response.ok, `${method} ${url}: ${response.status} ${await response.clone().text()}`);
      return response.json() as Promise<any>;
    };
    await call('PATCH', `/cameras/${HIGH}`, { priority: 'high' });

    // The first front-door segment is marked by hand: it must outlive everything.
    const kept = await waitFor('a first front-door segment on the NAS', () => {
      const [row] = query<{ id: number; rel_path: string }>(
        dataDir,
        `select id, rel_path from segments where camera_id = ? and location = 'nas' order by start_at limit 1`,
        HIGH,
      );
      return row;
    });
    await call('PATCH', `/segments/${kept.id}`, { protected: true });

    // Phase 1: the floor is reached by recording alone; the oldest unprotected footage goes.
    const firstDeletion = await waitFor('retention deleting for the free-space floor', () => {
      const rows = query<{ id: number; rel_path: string; reason: string }>(
        dataDir,
        `select id, rel_path, reason from retention_deletions order by id`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    assert.equal(firstDeletion[0]!.reason, 'global');
    for (const deletion of firstDeletion) {
      assert.notEqual(deletion.rel_path, kept.rel_path, 'the protected segment is never chosen');
      assert.equal(existsSync(path.join(nas, deletion.rel_path)), false, `${deletion.rel_path} is gone`);
      assert.equal(
        query(dataDir, `select 1 from segments where rel_path = ?`, deletion.rel_path).length,
        0,
        `${deletion.rel_path} has no row`,
      );
    }
    const afterDeletion = Date.now();
    await waitFor('recording going on after the deletion', () =>
      query(dataDir, `select 1 from segments where location = 'nas' and created_at > ?`, afterDeletion).length
        ? true
        : undefined,
    );
    // What the events page shows.
    const { events } = await call('GET', '/system-events?limit=50');
    assert.ok(
      events.some((event: { kind: string }) => event.kind === 'retention.deleted'),
      JSON.stringify(events.map((event: { kind: string }) => event.kind)),
    );
    const storage = await call('GET', '/storage');
    assert.equal(storage.limits.minFreeEffectiveBytes, FLOOR);
    assert.equal(storage.nas.healthy, true);
    const high = storage.cameras.find((camera: { cameraId: string }) => camera.cameraId === HIGH);
    assert.ok(high.protectedBytes > 0 && high.usedBytes >= high.protectedBytes, JSON.stringify(high));

    // Phase 2: more of someone else's data, so that even without any unprotected footage the floor is breached.
    const squeeze = path.join(nas, 'someone-elses-2.bin');
    writeFileSync(squeeze, Buffer.alloc(Math.max(0, freeBytes(nas) - 3 * MiB), 7));
    const paused = await waitFor('the normal-priority camera paused', () => {
      const rows = query<{ details: string; at: number }>(
        dataDir,
        `select details, at from system_events where kind = 'recording.paused'`,
      );
      return rows.length ? rows : undefined;
    });
    const pausedCameras = JSON.parse(paused[0]!.details).cameras.map((c: { cameraId: string }) => c.cameraId);
    assert.deepEqual(pausedCameras, [NORMAL], 'the high-priority camera is not paused by the floor');
    const pausedAt = paused[0]!.at;
    // The recorder closes its segment in progress first.
    await waitFor('the living-room recorder paused', async () => {
      const living = await call('GET', `/cameras/${NORMAL}`);
      return living.camera.recorder.state === 'paused' ? true : undefined;
    });
    // The front door goes on recording its latest footage (which retention then takes, oldest first).
    await waitFor('a front-door segment started after the pause', () =>
      query(dataDir, `select 1 from segments where camera_id = ? and start_at > ?`, HIGH, pausedAt + 1000)
        .length +
      query(
        dataDir,
        `select 1 from retention_deletions where camera_id = ? and start_at > ?`,
        HIGH,
        pausedAt + 1000,
      ).length
        ? true
        : undefined,
    );
    assert.equal(
      query(dataDir, `select 1 from segments where camera_id = ? and start_at > ?`, NORMAL, pausedAt + 1000)
        .length,
      0,
      'nothing recorded by the paused camera',
    );
    assert.ok(existsSync(path.join(nas, kept.rel_path)), 'the protected segment survived the squeeze');
    assert.equal(query(dataDir, `select 1 from segments where id = ?`, kept.id).length, 1);

    // Room again: the paused camera resumes.
    rmSync(squeeze);
    rmSync(otherFile);
    await waitFor('recording.resumed', () =>
      query(dataDir, `select 1 from system_events where kind = 'recording.resumed'`).length
        ? true
        : undefined,
    );
    const resumedAt = Date.now();
    await waitFor('a new living-room segment', () =>
      query(dataDir, `select 1 from segments where camera_id = ? and created_at > ?`, NORMAL, resumedAt)
        .length
        ? true
        : undefined,
    );
  } catch (error) {
    const notable = hub.logs.filter((entry) => Number(entry.level) >= 40 || entry.part === 'retention');
    console.log(
      JSON.stringify(
        await (await fetch(`${hub.url}/api/storage`, { headers: { cookie: cookieJar.cookie } })).json(),
      ),
    );
    console.log(
      JSON.stringify(
        await (await fetch(`${hub.url}/api/loops`, { headers: { cookie: cookieJar.cookie } })).json(),
      ),
    );
    const { execFileSync } = await import('node:child_process');
    console.log(execFileSync('find', [nas, '-type', 'f', '-printf', '%s %p\\n']).toString());
    console.log(
      notable
        .slice(-30)
        .map((entry) => JSON.stringify(entry))
        .join('\n'),
    );
    console.log(
      query(dataDir, 'select kind, message from system_events order by id')
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    throw error;
  } finally {
    await hub.stop();
    if (mounted) await unmount(nas);
    mounted = false;
  }
});
