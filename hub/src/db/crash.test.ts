import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { type SpawnedHub, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { TestClient, type TestResponse } from '../testing/test-hub.js';

/**
 * The promise behind "201 Created": a write the hub acknowledged survives the hub being killed
 * (SIGKILL, no shutdown code runs) in the middle of a stream of writes, the database file is
 * intact, and the hub starts again on it.
 */

const OWNER = { username: 'owner', password: 'crash-test-password-1' };
const WORKERS = 12;
const KILL_AFTER = 120;

test('acknowledged writes survive SIGKILL mid-stream; the database is intact and the hub restarts on it', async (t) => {
  // Undone last-first: processes and the database before the folder they live in.
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const step of undo.reverse()) await step();
  });
  const dataDir = tempDir('hearth-crash-');
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const hubs: SpawnedHub[] = [];
  undo.push(async () => {
    for (const hub of hubs) await hub.kill('SIGKILL');
  });

  const first = await spawnHub({ dataDir });
  hubs.push(first);
  assert.ok(first.setupCode, 'a fresh hub offers a setup code');
  const owner = new TestClient(first.url);
  const setup = await owner.post('/api/setup', { code: first.setupCode, ...OWNER });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));
  assert.ok(owner.cookie.startsWith('hearth_session='), 'setup signs the owner in');

  const acknowledged: number[] = [];
  const failures: string[] = [];
  let killed: Promise<void> | undefined;
  let sequence = 0;

  async function writer(worker: number): Promise<void> {
    while (!killed) {
      sequence += 1;
      let response: TestResponse;
      try {
        response = await owner.post('/api/devices', { name: `cam ${worker}.${sequence}`, kind: 'camera' });
      } catch (error) {
        // The connection died with the hub: this write was never acknowledged.
        failures.push(String((error as Error).cause ?? error));
        return;
      }
      assert.equal(response.status, 201, `write refused before the kill: ${JSON.stringify(response.body)}`);
      assert.ok(Number.isInteger(response.body.device.id));
      acknowledged.push(response.body.device.id);
      if (acknowledged.length >= KILL_AFTER && !killed) killed = first.kill('SIGKILL');
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, (_, i) => writer(i)));
  await killed;
  assert.equal(first.child.signalCode, 'SIGKILL');
  assert.ok(
    failures.length > 0,
    'some requests were still in flight when the hub died (otherwise the kill was not mid-stream)',
  );

  const file = path.join(dataDir, 'hearth.db');
  const db = new Database(file);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    const stored = new Set(db.prepare('SELECT id FROM devices').pluck().all() as number[]);
    const missing = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], 'every acknowledged device is in the database');
    assert.ok(stored.size >= acknowledged.length);
    const untokened = db
      .prepare(
        'SELECT count(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM device_tokens t WHERE t.device_id = d.id)',
      )
      .pluck()
      .get();
    assert.equal(untokened, 0, 'no device was left half-created without its token');
  } finally {
    db.close();
  }

  const second = await spawnHub({ dataDir });
  hubs.push(second);
  assert.equal(second.setupCode, null, 'the restarted hub knows its owner; no new setup');
  const again = new TestClient(second.url);
  await again.login(OWNER.username, OWNER.password);
  const listed = await again.get('/api/devices');
  assert.equal(listed.status, 200);
  const served = new Set((listed.body.devices as { id: number }[]).map((device) => device.id));
  assert.deepEqual(
    acknowledged.filter((id) => !served.has(id)),
    [],
    'the restarted hub serves every acknowledged device',
  );
  const more = await again.post('/api/devices', { name: 'after restart', kind: 'node' });
  assert.equal(more.status, 201, 'and takes new writes');
  assert.equal(await second.stop(), 0, 'and still shuts down cleanly');
});
