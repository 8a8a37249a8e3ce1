import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestHub } from '../testing/test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(() => t.stop());

test('the household time zone is an IANA name the owner sets and everyone reads', async () => {
  const owner = await t.owner();
  const viewer = await t.userWithRole('viewer');
  const initial = await viewer.get('/api/settings');
  assert.equal(initial.status, 200);
  assert.equal(typeof initial.body.settings.timeZone, 'string');

  const changed = await owner.patch('/api/settings', { timeZone: 'Asia/Seoul', householdName: 'Kim family' });
  assert.equal(changed.status, 200);
  assert.deepEqual(changed.body.settings, { timeZone: 'Asia/Seoul', householdName: 'Kim family' });
  assert.equal((await viewer.get('/api/settings')).body.settings.timeZone, 'Asia/Seoul');

  const bogus = await owner.patch('/api/settings', { timeZone: 'Mars/Olympus_Mons' });
  assert.equal(bogus.status, 400);
  assert.equal(bogus.body.error.details.issues[0].path, 'timeZone');
  assert.equal((await viewer.patch('/api/settings', { timeZone: 'UTC' })).status, 403);
  assert.equal(
    (await owner.patch('/api/settings', { theme: 'dark' })).status,
    400,
    'unknown keys are refused',
  );
  assert.equal(
    (await viewer.get('/api/settings')).body.settings.timeZone,
    'Asia/Seoul',
    'nothing changed by refused writes',
  );
});
