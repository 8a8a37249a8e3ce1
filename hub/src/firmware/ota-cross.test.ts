/**
 * Acceptance for signed updates across both sides: an image the real hub signed, offered in the real
 * upload reply and downloaded with the device token, checked by the firmware core's own code
 * (firmware/test/host/build/ota-check, built from lib/hearth_core). A flipped byte, another hub's key
 * and a truncated download are refused; a camera at or above the version is offered nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { COMPACT_MEDIA_TYPE } from '../protocol/compact.js';
import { esp32Image } from '../testing/esp32-image.js';
import { firmwareHostProgram } from '../testing/firmware-host.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';

let t: TestHub;
let otaCheck = '';
let token = '';
let secondToken = '';
let photo: Buffer;
let signingKey = '';
const dir = tempDir('hearth-ota-');
let burst = 0;

before(async () => {
  otaCheck = firmwareHostProgram('ota-check');
  t = await startTestHub({ photos: { uploadsPerMinute: 0 } });
  const owner = await t.owner();
  const made = t.hub.devices.create({ name: 'Garden cam', kind: 'camera' });
  token = made.token;
  t.hub.cameras.create({
    id: 'garden',
    name: 'Garden',
    kind: 'esp32',
    deviceId: made.device.id,
    powerProfile: 'battery',
    record: false,
  });
  const second = t.hub.devices.create({ name: 'Porch cam', kind: 'camera' });
  secondToken = second.token;
  t.hub.cameras.create({
    id: 'porch',
    name: 'Porch',
    kind: 'esp32',
    deviceId: second.device.id,
    powerProfile: 'battery',
    record: false,
  });
  photo = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#585' } })
    .jpeg()
    .toBuffer();
  const body = new FormData();
  body.append(
    'image',
    new Blob([new Uint8Array(esp32Image({ version: '2.1.0', bytes: 900_000 }))]),
    'firmware.bin',
  );
  const added = await owner.request('POST', '/api/firmware', { body });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  signingKey = (await owner.get('/api/firmware')).body.signingKey;
});
after(() => t?.stop());

/** The camera's wake: a photo upload asking for the compact reply; the reply's bytes go to a file. */
async function uploadReply(firmware: string, as = token): Promise<string> {
  burst += 1;
  const body = new FormData();
  body.append('photo', new Blob([new Uint8Array(photo)]), 'p.jpg');
  body.append(
    'meta',
    JSON.stringify({ burstId: `w${burst}`, seq: 0, capturedAt: Date.now(), wakeReason: 'timer', firmware }),
  );
  const response = await fetch(`${t.url}/api/device/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${as}`, accept: COMPACT_MEDIA_TYPE },
    body,
  });
  assert.equal(response.status, 201);
  const file = path.join(dir, `reply-${burst}.bin`);
  writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
  return file;
}

function core(key: string, running: string, reply: string, image: Uint8Array): string {
  const file = path.join(dir, `image-${burst}-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, image);
  const run = spawnSync(otaCheck, [key, running, reply, file], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

test('an image signed by the hub verifies in the firmware core; a flipped byte, another key, a truncated download do not', async () => {
  const reply = await uploadReply('2.0.3');
  const download = await fetch(`${t.url}/api/device/firmware/1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(download.status, 200);
  const image = new Uint8Array(await download.arrayBuffer());
  assert.equal(core(signingKey, '2.0.3', reply, image), 'verdict: verified');

  const flipped = Uint8Array.from(image);
  flipped[123_456]! ^= 0x10;
  assert.equal(core(signingKey, '2.0.3', reply, flipped), 'verdict: SHA-256 does not match');
  const otherHub = generateKeyPairSync('ed25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32);
  assert.equal(core(otherHub.toString('hex'), '2.0.3', reply, image), 'verdict: bad signature');
  assert.equal(core(signingKey, '2.0.3', reply, image.subarray(0, 500_000)), 'verdict: download interrupted');
});

test('the hub offers an update only to cameras below its version, and the core takes it only then', async () => {
  assert.equal(core(signingKey, '2.1.0', await uploadReply('2.1.0'), new Uint8Array()), 'no offer');
  assert.equal(core(signingKey, '3.0', await uploadReply('3.0'), new Uint8Array()), 'no offer');
  // Had a hub offered 2.1.0 to a camera on 2.2 (say, a reply replayed), the core would not take it.
  const offered = await uploadReply('1.9', secondToken);
  assert.equal(
    core(signingKey, '2.2', offered, new Uint8Array()),
    'not taken: not newer than the running version',
  );
});
