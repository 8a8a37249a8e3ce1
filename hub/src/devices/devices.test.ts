import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createDeviceClient } from '../client/index.js';
import { manualClock } from '../clock.js';
import { databasePath } from '../db/client.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';

const clock = manualClock(Date.now());
let t: TestHub;
let owner: TestClient;
before(async () => {
  t = await startTestHub({ devices: { offlineAfterSeconds: 60 } }, { clock });
  owner = await t.owner();
});
after(() => t.stop());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('adding a device shows its token once; the token is 256-bit, stored only as a hash', async () => {
  const created = await owner.post('/api/devices', {
    name: 'Nursery cam',
    kind: 'camera',
    hardwareId: 'AA:BB:CC:00:11:22',
  });
  assert.equal(created.status, 201);
  const token: string = created.body.token;
  assert.match(token, /^hd_[A-Za-z0-9_-]{43}$/);
  assert.ok(Buffer.from(token.slice(3), 'base64url').length >= 32);
  const listed = await owner.get(`/api/devices/${created.body.device.id}/tokens`);
  assert.equal(listed.body.tokens.length, 1);
  assert.equal(listed.body.tokens[0].token, undefined);
  const file = readFileSync(databasePath(t.dataDir));
  assert.equal(file.includes(Buffer.from(token.slice(3))), false, 'the token is not in the database file');
  const again = await owner.post('/api/devices', {
    name: 'Other',
    kind: 'camera',
    hardwareId: 'AA:BB:CC:00:11:22',
  });
  assert.equal(again.status, 409, 'one hardware id, one device');
});

test('GET /api/device/me accepts the device token and records when the device was heard from', async () => {
  const { device, token } = t.hub.devices.create({ name: 'Hall node', kind: 'node' });
  assert.equal(device.status, 'new');
  const me = await t.client().request('GET', '/api/device/me', { headers: bearer(token) });
  assert.equal(me.status, 200);
  assert.equal(me.body.device.id, device.id);
  assert.equal(me.body.device.status, 'online');
  assert.equal(new Date(me.body.device.lastSeenAt).getTime(), clock.now());

  // The typed client a node uses speaks to the same route.
  const typed = createDeviceClient(t.url, token);
  const answer = await typed.device.me.$get();
  assert.equal(answer.status, 200);

  clock.advance(61_000);
  await t.hub.loops.runNow('devices.offline');
  assert.equal(t.hub.devices.get(device.id).status, 'offline', 'silent past the limit → offline');
  assert.ok(
    t.hub.systemEvents
      .list({ limit: 10 })
      .some((event) => event.kind === 'device.offline' && event.subject === `device:${device.id}`),
  );
});

test('a device token is refused on every non-device route, and a bad token on device routes', async () => {
  const { token } = t.hub.devices.create({ name: 'Porch', kind: 'camera' });
  for (const path of ['/api/devices', '/api/auth/me', '/api/system-events', '/api/settings']) {
    const response = await t.client().request('GET', path, { headers: bearer(token) });
    assert.equal(response.status, 401, path);
  }
  for (const header of ['Bearer hd_wrong', 'Basic abc', `Bearer ${token}x`, token]) {
    const response = await t
      .client()
      .request('GET', '/api/device/me', { headers: { authorization: header } });
    assert.equal(response.status, 401, header);
  }
});

test('a revoked token stops working at once; other tokens of the device keep working', async () => {
  const { device, token } = t.hub.devices.create({ name: 'Garden', kind: 'camera' });
  const second = await owner.post(`/api/devices/${device.id}/tokens`);
  assert.equal(second.status, 201);
  const firstId = (await owner.get(`/api/devices/${device.id}/tokens`)).body.tokens[0].id;
  const revoked = await owner.delete(`/api/devices/${device.id}/tokens/${firstId}`);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.token.revokedAt);
  assert.equal((await t.client().request('GET', '/api/device/me', { headers: bearer(token) })).status, 401);
  assert.equal(
    (await t.client().request('GET', '/api/device/me', { headers: bearer(second.body.token) })).status,
    200,
  );
  assert.equal((await owner.delete(`/api/devices/${device.id}/tokens/999999`)).status, 404);
});

test('removing a device ends all its tokens', async () => {
  const { device, token } = t.hub.devices.create({ name: 'Old cam', kind: 'camera' });
  assert.equal((await owner.delete(`/api/devices/${device.id}`)).status, 204);
  assert.equal((await t.client().request('GET', '/api/device/me', { headers: bearer(token) })).status, 401);
  assert.equal((await owner.delete(`/api/devices/${device.id}`)).status, 404);
});

test('bad device input gets 400 with the field named, and nothing is stored', async () => {
  const before = t.hub.devices.list().length;
  const cases = [
    { name: '', kind: 'camera' },
    { name: 'x', kind: 'toaster' },
    { name: 'x'.repeat(65), kind: 'node' },
    { name: 'x', kind: 'node', extra: true },
    { kind: 'node' },
  ];
  for (const body of cases) {
    const response = await owner.post('/api/devices', body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.code, 'invalid_input');
    assert.ok(response.body.error.details.issues.length > 0);
  }
  const kind = await owner.post('/api/devices', { name: 'x', kind: 'toaster' });
  assert.equal(kind.body.error.details.issues[0].path, 'kind');
  assert.equal((await owner.get('/api/devices/abc/tokens')).status, 400);
  assert.equal(t.hub.devices.list().length, before);
});
