/**
 * A hub on a machine without D-Bus or BlueZ (a laptop, CI): it starts, says Bluetooth is unavailable
 * and why, refuses adoptions with 503, and everything else works.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

let t: TestHub;
before(async () => {
  process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${path.join(tempDir('hearth-nobus-'), 'none')}`;
  t = await startTestHub();
});
after(() => t.stop());

test('no D-Bus: the hub runs, Bluetooth is reported unavailable with the reason, adoptions get 503', async () => {
  const owner = await t.owner();
  const status = await waitFor('the Bluetooth probe', async () => {
    const { body } = await owner.get('/api/ble');
    return body.status.state === 'unavailable' ? body.status : undefined;
  });
  assert.match(status.reason, /ENOENT|connect/);
  assert.equal(
    (await owner.put('/api/ble/wifi', { ssid: 'HomeNet', password: 'correct horse' })).status,
    200,
  );
  const refused = await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:00:00:01', name: 'Door' });
  assert.equal(refused.status, 503);
  assert.match(refused.body.error.message, /Bluetooth is not available/);
  assert.equal((await owner.post('/api/ble/scan', {})).status, 503);
  assert.equal((await owner.get('/api/health')).status, 200);
  assert.equal((await owner.get('/api/cameras')).status, 200);
});
