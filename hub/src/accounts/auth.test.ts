import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { manualClock } from '../clock.js';
import { databasePath } from '../db/client.js';
import { OWNER, startTestHub, TestClient, type TestHub } from '../testing/test-hub.js';

describe('first-run setup', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.stop());

  test('refuses a wrong code, accepts the right one once, then answers 409', async () => {
    const client = t.client();
    assert.deepEqual((await client.get('/api/setup')).body, { needed: true });
    const wrong = await client.post('/api/setup', { code: 'AAAA-AAAA', ...OWNER });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.code, 'bad_setup_code');
    assert.equal(t.hub.users.count(), 0, 'nothing created by a wrong code');

    const code = t.hub.setup.currentCode();
    assert.match(code ?? '', /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    const weak = await client.post('/api/setup', { code, username: 'owner', password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.error.details.issues[0].path, 'password');
    const badName = await client.post('/api/setup', {
      code,
      username: 'o',
      password: 'long-enough-password',
    });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.error.details.issues[0].path, 'username', 'the field is named for the form');
    assert.equal(t.hub.users.count(), 0, 'nothing created by a weak password or a bad name');

    const created = await client.post('/api/setup', { code: code!.toLowerCase(), ...OWNER });
    assert.equal(created.status, 201);
    assert.equal(created.body.user.role, 'owner');
    assert.equal(created.body.user.passwordHash, undefined, 'the hash never leaves the hub');
    assert.equal((await client.get('/api/auth/me')).body.user.username, 'owner', 'setup signs the owner in');

    const again = await t
      .client()
      .post('/api/setup', { code, username: 'intruder', password: 'intruder-password' });
    assert.equal(again.status, 409);
    assert.equal(t.hub.setup.currentCode(), null);
    assert.deepEqual((await client.get('/api/setup')).body, { needed: false });
  });

  test('two visitors racing with the right code make exactly one owner', async () => {
    const fresh = await startTestHub();
    try {
      const code = fresh.hub.setup.currentCode();
      const answers = await Promise.all(
        ['alice', 'bob', 'carol'].map((name) =>
          fresh.client().post('/api/setup', { code, username: name, password: 'a-long-password' }),
        ),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409]);
      assert.equal(fresh.hub.users.count(), 1);
    } finally {
      await fresh.stop();
    }
  });
});

describe('sign-in and sessions', () => {
  const clock = manualClock(Date.now());
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ auth: { sessionMaxAgeHours: 48, sessionIdleHours: 24 } }, { clock });
    await t.owner();
  });
  after(() => t.stop());

  test('a wrong password gets 401 and no cookie; names are case-insensitive', async () => {
    const client = t.client();
    const wrong = await client.post('/api/auth/login', { username: 'owner', password: 'not-the-password' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_credentials');
    assert.equal(client.cookie, '');
    const unknown = await client.post('/api/auth/login', {
      username: 'nobody',
      password: 'not-the-password',
    });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.message, wrong.body.error.message, 'an unknown name is not revealed');
    const right = await client.post('/api/auth/login', { username: 'OWNER', password: OWNER.password });
    assert.equal(right.status, 200);
    const cookie = right.headers.getSetCookie().join(';');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
  });

  test('the session cookie is stored only as a hash', async () => {
    const client = await t.owner();
    const secret = client.cookie.split('=')[1]!;
    const db = new Database(databasePath(t.dataDir), { readonly: true });
    const rows = db.prepare('select id_hash from sessions').all() as { id_hash: string }[];
    db.close();
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => row.id_hash !== secret && !row.id_hash.includes(secret)));
  });

  test('logout revokes the session on the hub, not just in the browser', async () => {
    const client = await t.owner();
    const stolen = new TestClient(t.url);
    stolen.cookie = client.cookie;
    assert.equal((await stolen.get('/api/auth/me')).status, 200);
    assert.equal((await client.post('/api/auth/logout')).status, 204);
    assert.equal((await stolen.get('/api/auth/me')).status, 401, 'a copied cookie dies with logout');
  });

  test('sessions expire after the idle period and at their absolute age', async () => {
    const client = await t.owner();
    clock.advance(23 * 3600_000);
    assert.equal((await client.get('/api/auth/me')).status, 200, 'used within the idle period');
    clock.advance(23 * 3600_000);
    assert.equal(
      (await client.get('/api/auth/me')).status,
      200,
      'still active: each use resets the idle timer',
    );
    clock.advance(3 * 3600_000);
    assert.equal((await client.get('/api/auth/me')).status, 401, 'past the 48 h absolute age');

    const idle = await t.owner();
    clock.advance(25 * 3600_000);
    assert.equal((await idle.get('/api/auth/me')).status, 401, 'idle for more than 24 h');
  });

  test('changing your password ends your other sessions and keeps this one', async () => {
    await t.hub.users.create({ username: 'dad', password: 'dad-password-1', role: 'member' });
    const phone = t.client();
    await phone.login('dad', 'dad-password-1');
    const laptop = t.client();
    await laptop.login('dad', 'dad-password-1');
    const wrongCurrent = await laptop.post('/api/auth/password', {
      currentPassword: 'nope-nope-nope',
      newPassword: 'dad-password-2',
    });
    assert.equal(wrongCurrent.status, 403);
    const weakNew = await laptop.post('/api/auth/password', {
      currentPassword: 'dad-password-1',
      newPassword: 'short',
    });
    assert.equal(weakNew.body.error.details.issues[0].path, 'newPassword');
    const changed = await laptop.post('/api/auth/password', {
      currentPassword: 'dad-password-1',
      newPassword: 'dad-password-2',
    });
    assert.equal(changed.status, 204);
    assert.equal((await laptop.get('/api/auth/me')).status, 200);
    assert.equal((await phone.get('/api/auth/me')).status, 401);
  });
});

describe('login rate limits', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ auth: { loginAttemptsPerAccount: 3, loginAttemptsPerIp: 6 } });
    await t.owner();
    await t.hub.users.create({ username: 'gran', password: 'gran-password-1', role: 'viewer' });
  });
  after(() => t.stop());

  test('an account locks after repeated failures with 429 and Retry-After, even for the right password', async () => {
    const client = t.client();
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await client.post('/api/auth/login', { username: 'owner', password: `wrong-${i}` })).status,
        401,
      );
    const locked = await client.post('/api/auth/login', { username: 'owner', password: OWNER.password });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'rate_limited');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
    assert.equal(client.cookie, '');
  });

  test('one address guessing across accounts is stopped by the per-address limit', async () => {
    const client = t.client();
    const statuses: number[] = [];
    for (const name of ['a1', 'a2', 'a3', 'gran'])
      statuses.push(
        (await client.post('/api/auth/login', { username: name, password: 'wrong-password' })).status,
      );
    // 3 failures above + these: the address passes its limit of 6.
    const blocked = await client.post('/api/auth/login', { username: 'gran', password: 'gran-password-1' });
    assert.ok(statuses.includes(401));
    assert.equal(blocked.status, 429);
  });
});

describe('CSRF and roles', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.stop());

  test('a cookie-authenticated write from another site is refused and changes nothing', async () => {
    const owner = await t.owner();
    const before = t.hub.devices.list().length;
    const evil = await owner.request('POST', '/api/devices', {
      json: { name: 'x', kind: 'camera' },
      origin: 'http://evil.example',
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, 'csrf');
    const bare = await owner.request('POST', '/api/devices', {
      json: { name: 'x', kind: 'camera' },
      origin: null,
    });
    assert.equal(bare.status, 403, 'a write with neither Origin nor Sec-Fetch-Site is refused');
    const fetchSite = await owner.request('POST', '/api/devices', {
      json: { name: 'x', kind: 'camera' },
      origin: null,
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(fetchSite.status, 403);
    assert.equal(t.hub.devices.list().length, before);
    const same = await owner.request('POST', '/api/devices', { json: { name: 'x', kind: 'camera' } });
    assert.equal(same.status, 201);
  });

  test('members cannot manage users; owners cannot remove the last owner or themselves', async () => {
    const member = await t.userWithRole('member');
    const denied = await member.post('/api/users', {
      username: 'sneaky',
      password: 'sneaky-password',
      role: 'owner',
    });
    assert.equal(denied.status, 403);
    assert.equal(t.hub.users.findByUsername('sneaky'), undefined);

    const owner = await t.owner();
    const me = (await owner.get('/api/auth/me')).body.user;
    assert.equal((await owner.delete(`/api/users/${me.id}`)).status, 409);
    assert.equal(
      (await owner.patch(`/api/users/${me.id}`, { role: 'viewer' })).status,
      409,
      'the last owner stays owner',
    );
  });

  test('an owner manages users; a demoted user loses the session that carried the old role', async () => {
    const owner = await t.owner();
    const created = await owner.post('/api/users', {
      username: 'Nanny',
      password: 'nanny-password',
      role: 'member',
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.user.username, 'nanny');
    const duplicate = await owner.post('/api/users', {
      username: 'NANNY',
      password: 'nanny-password',
      role: 'member',
    });
    assert.equal(duplicate.status, 409);
    const nanny = t.client();
    await nanny.login('nanny', 'nanny-password');
    const demoted = await owner.patch(`/api/users/${created.body.user.id}`, { role: 'viewer' });
    assert.equal(demoted.body.user.role, 'viewer');
    assert.equal((await nanny.get('/api/auth/me')).status, 401);
    const reset = await owner.post(`/api/users/${created.body.user.id}/password`, {
      password: 'new-nanny-password',
    });
    assert.equal(reset.status, 204);
    await nanny.login('nanny', 'new-nanny-password');
    assert.equal((await nanny.get('/api/auth/me')).body.user.role, 'viewer');
    assert.equal((await owner.delete(`/api/users/${created.body.user.id}`)).status, 204);
    assert.equal((await nanny.get('/api/auth/me')).status, 401, 'a removed user is signed out');
  });
});
