import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestHub, type TestHub, tempDir } from '@hearth/hub/testing';
import { readState, whoAmI } from './hub-link.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(() => t.stop());

test('a node with a valid token learns who it is from a real hub', async () => {
  const { device, token } = t.hub.devices.create({ name: 'cradle-pi', kind: 'node' });
  const stateDir = tempDir();
  writeFileSync(path.join(stateDir, 'node.json'), JSON.stringify({ hubUrl: t.url, token }), { mode: 0o600 });
  const me = await whoAmI(await readState(stateDir));
  assert.equal(me.id, device.id);
  assert.equal(me.name, 'cradle-pi');
  assert.equal(me.status, 'online');
});

test('a revoked token is reported with the hub reason; a missing state file names the fix', async () => {
  const { device, token } = t.hub.devices.create({ name: 'hall-pi', kind: 'node' });
  const [info] = t.hub.devices.listTokens(device.id);
  t.hub.devices.revokeToken(device.id, info!.id);
  await assert.rejects(whoAmI({ hubUrl: t.url, token }), /401.*device token/);
  await assert.rejects(readState(tempDir()), /ENOENT/);
});
