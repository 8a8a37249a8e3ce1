import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, type SpawnedHub, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { TestClient } from '../testing/test-hub.js';

/**
 * The `hearth` command's fixed contract, run as the built binary against the data folder of a
 * real hub process: what it prints (scripts read the last line), what it changes, how it fails.
 */

const OWNER = { username: 'owner', password: 'cli-owner-password-1' };
const USAGE_LINE = /hearth setup-code\s+print the one-time setup code/;

const dataDir = tempDir('hearth-cli-');
let hub: SpawnedHub | undefined;
const extraDirs: string[] = [];

after(async () => {
  await hub?.kill('SIGKILL');
  for (const dir of [dataDir, ...extraDirs]) rmSync(dir, { recursive: true, force: true });
});

function running(): SpawnedHub {
  if (!hub) throw new Error('the first test starts the hub');
  return hub;
}

const cli = (args: string[], input?: string) =>
  runCli(args, { dataDir, ...(input === undefined ? {} : { input }) });

function bearer(token: string, route: string) {
  return fetch(`${running().url}${route}`, { headers: { authorization: `Bearer ${token}` } });
}

test('setup-code prints the code as its last line on a fresh data folder, the same the hub logs; nothing once an owner exists', async () => {
  const fresh = await cli(['setup-code']);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.lastLine, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  assert.equal((await cli(['setup-code'])).lastLine, fresh.lastLine, 'the code is stable until used');

  hub = await spawnHub({ dataDir });
  assert.equal(hub.setupCode, fresh.lastLine, 'the hub logs the code the CLI printed');

  const owner = new TestClient(hub.url);
  const setup = await owner.post('/api/setup', { code: fresh.lastLine, ...OWNER });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));

  const owned = await cli(['setup-code']);
  assert.equal(owned.code, 0);
  assert.equal(owned.stdout, '', 'nothing on stdout once an owner exists');
  assert.match(owned.stderr, /owner exists/);
});

test('device add prints a working device token last; token revoke makes it fail', async () => {
  const added = await cli(['device', 'add', 'porch', '--kind', 'camera']);
  assert.equal(added.code, 0, added.stderr);
  const token = added.lastLine;
  assert.match(token, /^hd_\S{20,}$/);
  const id = Number(/\(id (\d+)\)/.exec(added.stdout)?.[1]);
  assert.ok(Number.isInteger(id));

  const me = await bearer(token, '/api/device/me');
  assert.equal(me.status, 200);
  const body = (await me.json()) as { device: { id: number; name: string; kind: string; status: string } };
  assert.deepEqual([body.device.id, body.device.name, body.device.kind], [id, 'porch', 'camera']);
  assert.equal(body.device.status, 'online', 'using the token marks the device heard from');
  assert.equal((await bearer(token, '/api/devices')).status, 401, 'a device token is no session');

  const listed = await cli(['device', 'list']);
  assert.match(listed.stdout, /porch\s+camera\s+online/);

  const revoked = await cli(['token', 'revoke', String(id)]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /revoked 1 token/);
  assert.equal((await bearer(token, '/api/device/me')).status, 401, 'a revoked token is refused at once');

  const another = await cli(['token', 'create', String(id)]);
  assert.equal(another.code, 0, another.stderr);
  assert.notEqual(another.lastLine, token);
  assert.equal(
    (await bearer(another.lastLine, '/api/device/me')).status,
    200,
    'token create issues a working one',
  );
});

test('user add / list / reset-password / remove, with passwords on stdin', async () => {
  const url = running().url;
  const added = await cli(['user', 'add', 'bob', '--role', 'member'], 'bob-first-password\n');
  assert.equal(added.code, 0, added.stderr);
  assert.doesNotMatch(added.stdout, /bob-first-password/, 'a given password is never echoed');
  assert.match((await cli(['user', 'list'])).stdout, /\bbob\s+bob\s+member\b/);

  const bob = new TestClient(url);
  await bob.login('bob', 'bob-first-password');
  assert.equal((await bob.get('/api/auth/me')).body.user.role, 'member');

  const reset = await cli(['user', 'reset-password', 'bob'], 'bob-second-password\n');
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal((await bob.get('/api/auth/me')).status, 401, "bob's existing session ended with the reset");
  const stale = await new TestClient(url).post('/api/auth/login', {
    username: 'bob',
    password: 'bob-first-password',
  });
  assert.equal(stale.status, 401, 'the old password no longer works');
  const fresh = new TestClient(url);
  await fresh.login('bob', 'bob-second-password');

  const removed = await cli(['user', 'remove', 'bob']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.doesNotMatch((await cli(['user', 'list'])).stdout, /\bbob\b/);
  assert.equal((await fresh.get('/api/auth/me')).status, 401, "a removed user's session ends");
  const gone = await new TestClient(url).post('/api/auth/login', {
    username: 'bob',
    password: 'bob-second-password',
  });
  assert.equal(gone.status, 401);
});

test('user add without stdin prints a generated password that works', async () => {
  const added = await cli(['user', 'add', 'carol', '--role', 'viewer']);
  assert.equal(added.code, 0, added.stderr);
  const password = /^password: (\S+)$/.exec(added.lastLine)?.[1];
  assert.ok(password && password.length >= 10, added.stdout);
  await new TestClient(running().url).login('carol', password);
});

test('bad input exits 64 with usage, or non-zero with a clear message, and changes nothing', async () => {
  const [users, devices] = await Promise.all([cli(['user', 'list']), cli(['device', 'list'])]);
  const before = { users: users.stdout, devices: devices.stdout };
  const [unknown, half, badFlag, missingValue, king, toaster, weak, taken, noName] = await Promise.all([
    cli(['frobnicate']),
    cli(['user']),
    cli(['device', 'add', 'x', '--colour', 'red']),
    cli(['device', 'add', 'x', '--kind']),
    cli(['user', 'add', 'dave', '--role', 'king'], 'dave-password-1\n'),
    cli(['device', 'add', 'x', '--kind', 'toaster']),
    cli(['user', 'add', 'erin', '--role', 'member'], 'short\n'),
    cli(['user', 'add', 'owner', '--role', 'member'], 'another-password-1\n'),
    cli(['device', 'remove']),
  ]);

  for (const [what, result] of Object.entries({
    unknown,
    half,
    badFlag,
    missingValue,
    king,
    toaster,
    noName,
  })) {
    assert.equal(result.code, 64, `${what}: exit 64, got ${result.code}\n${result.stderr}`);
    assert.match(result.stderr, USAGE_LINE, `${what}: usage on stderr`);
    assert.match(result.stderr, /^hearth: \S/, `${what}: the first line says what was wrong`);
    assert.equal(result.stdout, '', `${what}: nothing on stdout`);
  }
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  assert.match(badFlag.stderr, /--colour/);
  assert.match(king.stderr, /--role must be owner, member or viewer/);
  assert.match(toaster.stderr, /--kind must be camera or node/);

  assert.notEqual(weak.code, 0);
  assert.notEqual(weak.code, null);
  assert.match(weak.stderr, /password/i);
  assert.match(weak.stderr, /at least 10 characters/, 'the message says what a good password needs');
  assert.doesNotMatch(weak.stderr, /\n\s+at /, 'no stack trace');
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /taken/);

  assert.equal((await cli(['user', 'list'])).stdout, before.users, 'no user was created');
  assert.equal((await cli(['device', 'list'])).stdout, before.devices, 'no device was created');
});

test('db migrate on a fresh data folder creates the database and exits 0', async () => {
  const fresh = tempDir('hearth-cli-migrate-');
  extraDirs.push(fresh);
  const nested = path.join(fresh, 'not', 'yet');
  const migrated = await runCli(['db', 'migrate'], { dataDir: nested });
  assert.equal(migrated.code, 0, migrated.stderr);
  const file = path.join(nested, 'hearth.db');
  assert.ok(existsSync(file));

  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    for (const table of [
      'users',
      'sessions',
      'devices',
      'device_tokens',
      'jobs',
      'system_events',
      'settings',
    ])
      assert.ok(tables.includes(table), `table ${table} exists`);
    assert.equal(db.prepare('SELECT count(*) FROM users').pluck().get(), 0);
  } finally {
    db.close();
  }
  const again = await runCli(['db', 'migrate'], { dataDir: nested });
  assert.equal(again.code, 0, 'migrating an up-to-date database is a no-op');
});
