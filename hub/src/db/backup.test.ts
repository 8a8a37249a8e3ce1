import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { TestClient } from '../testing/test-hub.js';

/**
 * Backups are taken while the hub keeps writing: `hearth db backup` from another process, and the
 * hub's own `db.backup` job. A backup must be a consistent, self-contained database.
 */

async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function openReadonly(file: string) {
  return new Database(file, { readonly: true, fileMustExist: true });
}

test('`hearth db backup` while the hub serves a stream of writes yields a consistent snapshot', async (t) => {
  // Undone last-first: processes and the database before the folder they live in.
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const step of undo.reverse()) await step();
  });
  const dataDir = tempDir('hearth-backup-');
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const hub = await spawnHub({ dataDir });
  undo.push(() => hub.kill('SIGKILL'));
  const owner = new TestClient(hub.url);
  const setup = await owner.post('/api/setup', {
    code: hub.setupCode,
    username: 'owner',
    password: 'backup-password-1',
  });
  assert.equal(setup.status, 201);

  const acknowledged: number[] = [];
  let writing = true;
  async function writer(worker: number) {
    for (let n = 0; writing; n += 1) {
      const response = await owner.post('/api/devices', { name: `cam ${worker}.${n}`, kind: 'camera' });
      assert.equal(
        response.status,
        201,
        `the hub refused a write during the backup: ${JSON.stringify(response.body)}`,
      );
      acknowledged.push(response.body.device.id);
    }
  }
  const writers = Promise.all([0, 1, 2, 3].map(writer));
  try {
    await waitFor(() => acknowledged.length >= 40, 'the first 40 writes');
    const beforeBackup = [...acknowledged];
    const target = path.join(dataDir, 'copies', 'manual.db');
    const cli = await runCli(['db', 'backup', target], { dataDir });
    const duringBackup = acknowledged.length - beforeBackup.length;
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.lastLine, /backed up \d+ pages/);
    await waitFor(
      () => acknowledged.length >= beforeBackup.length + duringBackup + 10,
      'writes to go on after the backup',
    );
    assert.ok(duringBackup > 0, 'the hub kept acknowledging writes while the CLI backed up');

    assert.equal(existsSync(`${target}.partial`), false, 'no partial file is left behind');
    assert.equal(existsSync(`${target}-wal`), false, 'the backup is one self-contained file');
    const copy = openReadonly(target);
    try {
      assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal(copy.pragma('journal_mode', { simple: true }), 'delete');
      const ids = new Set(copy.prepare('SELECT id FROM devices').pluck().all() as number[]);
      assert.deepEqual(
        beforeBackup.filter((id) => !ids.has(id)),
        [],
        'every device acknowledged before the backup started is in it',
      );
      const devices = copy.prepare('SELECT count(*) FROM devices').pluck().get();
      const tokens = copy.prepare('SELECT count(*) FROM device_tokens').pluck().get();
      assert.equal(devices, tokens, 'one token per device: the copy is a single point in time');
      assert.equal(copy.prepare("SELECT username FROM users WHERE role = 'owner'").pluck().get(), 'owner');
    } finally {
      copy.close();
    }
  } finally {
    writing = false;
    await writers;
  }
  assert.equal(await hub.stop(), 0);
});
