/**
 * The firmware core's upload body (firmware/lib/hearth_core/src/upload.cpp, built for the host as
 * firmware/test/host/build/upload-body) POSTed to the real hub exactly as a camera sends it: stored,
 * a retry of the same burst stored nothing twice, and the compact reply decodes. Needs g++ and make.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { COMPACT_MEDIA_TYPE, decodeUploadReply } from '../protocol/compact.js';
import { FIRMWARE_HOST_DIR, firmwareHostProgram } from '../testing/firmware-host.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';

let t: TestHub;
let token = '';

before(async () => {
  firmwareHostProgram('upload-body');
  t = await startTestHub({ photos: { uploadsPerMinute: 0 } });
  const made = t.hub.devices.create({ name: 'Core cam', kind: 'camera' });
  token = made.token;
  t.hub.cameras.create({
    id: 'core',
    name: 'Core',
    kind: 'esp32',
    deviceId: made.device.id,
    powerProfile: 'battery',
    record: false,
  });
});
after(() => t.stop());

test('a burst built by the firmware core is taken by the hub; its retry stores nothing twice', async () => {
  const dir = tempDir('hearth-burst-');
  const files = [];
  for (const [i, colour] of ['#a33', '#3a3'].entries()) {
    const file = path.join(dir, `p${i}.jpg`);
    writeFileSync(
      file,
      await sharp({ create: { width: 320, height: 240, channels: 3, background: colour } })
        .jpeg()
        .toBuffer(),
    );
    files.push(file);
  }
  const made = spawnSync(
    path.join(FIRMWARE_HOST_DIR, 'build', 'upload-body'),
    ['--burst', 'core-1', '--seq', '0', '--at', String(Date.now()), ...files],
    { maxBuffer: 10 * 1024 * 1024 },
  );
  assert.equal(made.status, 0, String(made.stderr));
  const [contentType, length] = String(made.stderr).trim().split('\n');
  assert.equal(Number(length), made.stdout.length, 'the announced length is the body sent');

  const post = (accept?: string) =>
    fetch(`${t.url}/api/device/photos`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': contentType!,
        ...(accept ? { accept } : {}),
      },
      body: new Uint8Array(made.stdout),
    });
  const first = await post();
  const body = (await first.json()) as { stored: number };
  assert.equal(first.status, 201, JSON.stringify(body));
  assert.equal(body.stored, 2);
  const retry = await post(COMPACT_MEDIA_TYPE);
  assert.equal(retry.status, 200);
  const reply = decodeUploadReply(new Uint8Array(await retry.arrayBuffer()));
  assert.deepEqual([reply.stored, reply.duplicates], [0, 2]);
  const device = t.hub.devices.get(t.hub.devices.list().find((d) => d.name === 'Core cam')!.id);
  assert.equal(device.firmware, '0.1.0-host');
});
