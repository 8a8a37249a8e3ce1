import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { decodeUploadReply, firmwareManifest, fromHex } from '../protocol/compact.js';
import { esp32Image } from '../testing/esp32-image.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { compareVersions, MAX_IMAGE_BYTES } from './esp-image.js';
import { SIGNING_KEY_FILE } from './signing.js';

let t: TestHub;
let owner: TestClient;
const cameras: Record<string, { token: string; id: number }> = {};
let photo: Buffer;
let burst = 0;

before(async () => {
  t = await startTestHub({ photos: { uploadsPerMinute: 0 } });
  owner = await t.owner();
  photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#468' } })
    .jpeg()
    .toBuffer();
  for (const name of ['old', 'current', 'newer', 'odd', 'other']) {
    const made = t.hub.devices.create({ name: `Cam ${name}`, kind: 'camera' });
    cameras[name] = { token: made.token, id: made.device.id };
    t.hub.cameras.create({
      id: name,
      name,
      kind: 'esp32',
      deviceId: made.device.id,
      sourceUrl: 'http://127.0.0.1:9/x',
    });
  }
});
after(() => t?.stop());

function form(fields: Record<string, string | Buffer>) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields))
    body.append(
      name,
      typeof value === 'string' ? value : new Blob([new Uint8Array(value)]),
      ...(typeof value === 'string' ? [] : ['firmware.bin']),
    );
  return body;
}

/** A camera's wake as the firmware makes it: one photo, its version, maybe a report on the last offer. */
async function wake(camera: string, meta: Record<string, unknown>, accept = 'application/x-hearth-tlv') {
  burst += 1;
  const body = new FormData();
  body.append('photo', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'p.jpg');
  body.append(
    'meta',
    JSON.stringify({ burstId: `b${burst}`, seq: 0, capturedAt: Date.now(), wakeReason: 'timer', ...meta }),
  );
  const response = await fetch(`${t.url}/api/device/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cameras[camera]!.token}`, accept },
    body,
  });
  assert.equal(response.status, 201, await response.clone().text());
  return accept.includes('tlv')
    ? decodeUploadReply(new Uint8Array(await response.arrayBuffer()))
    : ((await response.json()) as { update?: unknown });
}

const spki = (raw: string) =>
  createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), fromHex(raw)]),
    format: 'der',
    type: 'spki',
  });

test('versions compare as dotted numbers', () => {
  assert.equal(compareVersions('1.10', '1.9'), 1);
  assert.equal(compareVersions('1.2', '1.2.0'), 0);
  assert.equal(compareVersions('0.9.9', '1'), -1);
  assert.equal(compareVersions('virtual-0.1', '1.0'), null);
});

test('the signing key is made at first start: 0600 in the secrets folder, outside the database, stable across restarts', async () => {
  const file = path.join(t.dataDir, 'secrets', SIGNING_KEY_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const listed = await owner.get('/api/firmware');
  assert.equal(listed.status, 200);
  assert.match(listed.body.signingKey, /^[0-9a-f]{64}$/);
  assert.equal(t.hub.firmware.signingKey(), listed.body.signingKey);
  const database = readdirSync(t.dataDir).filter((name) => name.endsWith('.db'));
  assert.ok(database.length > 0);
  for (const name of database)
    assert.ok(
      !readFileSync(path.join(t.dataDir, name)).includes(readFileSync(file)),
      'the key is not in the database',
    );
  const viewer = await t.userWithRole('member');
  assert.equal((await viewer.get('/api/firmware')).status, 403);
});

test('an uploaded image is checked, kept and signed; the signature verifies with the key cameras get', async () => {
  const image = esp32Image({ version: '1.4.0' });
  const response = await owner.request('POST', '/api/firmware', { body: form({ image, notes: 'PIR fix' }) });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  const added = response.body.image;
  assert.equal(added.version, '1.4.0');
  assert.equal(added.size, image.length);
  const { images, signingKey } = (await owner.get('/api/firmware')).body;
  const row = t.hub.db.query.firmwareImages.findFirst().sync();
  assert.ok(row);
  assert.ok(verify(null, firmwareManifest(row), spki(signingKey), fromHex(row.signature)));
  assert.equal(images[0].notes, 'PIR fix');
  assert.deepEqual(readFileSync(path.join(t.dataDir, 'firmware', `${row.sha256}.bin`)), image);
});

test('bad images get a clear 4xx and leave nothing behind', async () => {
  const before = readdirSync(path.join(t.dataDir, 'firmware'));
  const post = (fields: Record<string, string | Buffer>) =>
    owner.request('POST', '/api/firmware', { body: form(fields) });
  const truncated = esp32Image({ version: '1.5.0' }).subarray(0, 40_000);
  const cases: [string, Promise<{ status: number; body: any }>, number, RegExp][] = [
    ['a JPEG', post({ image: photo }), 422, /does not start with 0xE9/],
    ['a truncated download', post({ image: truncated }), 422, /truncated or damaged/],
    ['another chip', post({ image: esp32Image({ version: '1.5.0', chipId: 9 }) }), 422, /another chip/],
    ['no marker, no version', post({ image: esp32Image({ version: null }) }), 409, /enter its version/],
    [
      'a marker that disagrees',
      post({ image: esp32Image({ version: '1.5.0' }), version: '1.6.0' }),
      409,
      /says it is version 1.5.0/,
    ],
    [
      'the same version again',
      post({ image: esp32Image({ version: '1.4.0', seed: 7 }) }),
      409,
      /already uploaded/,
    ],
    [
      'a version that is not one',
      post({ image: esp32Image({ version: null }), version: 'latest' }),
      400,
      /Invalid firmware upload/,
    ],
    ['no image part', post({ version: '1.5.0' }), 400, /Invalid firmware upload/],
    [
      'an image over one OTA slot',
      post({ image: Buffer.alloc(MAX_IMAGE_BYTES + 70_000, 0xe9) }),
      413,
      /at most/,
    ],
  ];
  for (const [name, pending, status, message] of cases) {
    const response = await pending;
    assert.equal(response.status, status, `${name}: ${JSON.stringify(response.body)}`);
    assert.match(response.body.error.message, message, name);
  }
  const json = await owner.post('/api/firmware', { image: 'x' });
  assert.equal(json.status, 415);
  assert.deepEqual(readdirSync(path.join(t.dataDir, 'firmware')), before);
  assert.equal((await owner.get('/api/firmware')).body.images.length, 1);
});

test('the hub offers an update only to cameras below its version, in the upload reply (compact and JSON)', async () => {
  const offered = await wake('old', { firmware: '1.3.2' });
  assert.ok('update' in offered && offered.update);
  const update = offered.update as {
    version: string;
    url: string;
    size: number;
    sha256: string;
    signature: string;
  };
  assert.equal(update.version, '1.4.0');
  assert.match(update.url, /^\/api\/device\/firmware\/\d+$/);
  assert.equal((await wake('current', { firmware: '1.4.0' })).update, undefined);
  assert.equal((await wake('newer', { firmware: '2.0' })).update, undefined);
  assert.equal(
    (await wake('odd', { firmware: 'virtual-0.1' })).update,
    undefined,
    'an unknown version scheme is left alone',
  );
  const json = (await wake('old', { firmware: '1.3.2' }, 'application/json')) as {
    update?: { version: string };
  };
  assert.equal(json.update?.version, '1.4.0');
  const rollout = (await owner.get('/api/firmware')).body.images[0].rollouts;
  assert.deepEqual(
    rollout.map((r: { deviceName: string; state: string; fromVersion: string }) => [
      r.deviceName,
      r.state,
      r.fromVersion,
    ]),
    [['Cam old', 'offered', '1.3.2']],
  );
});

test('the image is served to the camera it was offered to (Range too), to nobody else', async () => {
  const { url, size, sha256 } = (await wake('old', { firmware: '1.3.2' })).update as {
    url: string;
    size: number;
    sha256: string;
  };
  const get = (camera: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${url}`, { headers: { authorization: `Bearer ${cameras[camera]!.token}`, ...headers } });
  const whole = await get('old');
  assert.equal(whole.status, 200);
  const bytes = Buffer.from(await whole.arrayBuffer());
  assert.equal(bytes.length, size);
  assert.equal(whole.headers.get('etag'), `"${sha256}"`);
  const tail = await get('old', { range: `bytes=${size - 100}-` });
  assert.equal(tail.status, 206);
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(size - 100));
  assert.equal((await get('current')).status, 404, 'never offered to it');
  assert.equal((await fetch(`${t.url}${url}`)).status, 401);
  const view = (await owner.get(`/api/devices/${cameras.old!.id}/firmware`)).body.update;
  assert.equal(view.state, 'downloading');
});

test('what the camera reports ends its rollout: installed, rolled back or refused are not offered again', async () => {
  // Came back on the new version: installed.
  await wake('old', { firmware: '1.4.0' });
  assert.equal((await owner.get(`/api/devices/${cameras.old!.id}/firmware`)).body.update.state, 'installed');
  // Rolled back by the bootloader after a failed first wake: back on 1.3.2, says so, not offered again.
  assert.ok((await wake('other', { firmware: '1.3.2' })).update);
  const rolledBack = await wake('other', {
    firmware: '1.3.2',
    update: { version: '1.4.0', result: 'rolled_back', reason: 'first upload failed' },
  });
  assert.equal(rolledBack.update, undefined);
  const view = (await owner.get(`/api/devices/${cameras.other!.id}/firmware`)).body.update;
  assert.deepEqual([view.version, view.state, view.detail], ['1.4.0', 'rolled_back', 'first upload failed']);
  // A newer image is offered again, even to that camera.
  const response = await owner.request('POST', '/api/firmware', {
    body: form({ image: esp32Image({ version: '1.4.1', seed: 3 }) }),
  });
  assert.equal(response.status, 201);
  assert.equal(((await wake('other', { firmware: '1.3.2' })).update as { version: string }).version, '1.4.1');
  const refused = await wake('other', {
    firmware: '1.3.2',
    update: { version: '1.4.1', result: 'refused', reason: 'bad signature' },
  });
  assert.equal(refused.update, undefined);
  // A bad report is a 400 like any bad meta.
  const body = new FormData();
  body.append('photo', new Blob([new Uint8Array(photo)]), 'p.jpg');
  body.append(
    'meta',
    JSON.stringify({
      burstId: 'x1',
      seq: 0,
      capturedAt: Date.now(),
      wakeReason: 'timer',
      update: { version: '1.4.1', result: 'maybe' },
    }),
  );
  const bad = await fetch(`${t.url}/api/device/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cameras.other!.token}` },
    body,
  });
  assert.equal(bad.status, 400);
});

test('withdrawing an image stops the offers and removes its file', async () => {
  const { images } = (await owner.get('/api/firmware')).body;
  for (const image of images) assert.equal((await owner.delete(`/api/firmware/${image.id}`)).status, 204);
  assert.equal((await wake('newer', { firmware: '0.1' })).update, undefined);
  assert.deepEqual(readdirSync(path.join(t.dataDir, 'firmware')), []);
  assert.equal((await owner.delete('/api/firmware/999')).status, 404);
  assert.ok(!existsSync(path.join(t.dataDir, 'firmware', 'x.tmp')));
});
