/**
 * "A person at the door at night": a care state rule with a window of the household's day, fed by the
 * detection service's signals on the camera (`person detected` when an event opens, `gone` when it closes).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Clock } from '../../clock.js';
import { startTestHub, type TestClient, type TestHub } from '../../testing/test-hub.js';

let now = Date.parse('2026-12-02T12:00:00Z');
const clock: Clock = { now: () => now };
let hub: TestHub;
let owner: TestClient;

before(async () => {
  hub = await startTestHub({}, { clock });
  owner = await hub.owner();
});
after(() => hub?.stop());

test('a person at the door raises the night rule only inside its window, and the rule resolves when they leave', async () => {
  // A camera the recorder cannot reach: only its identity matters to care.
  const camera = await owner.post('/api/cameras', {
    id: 'door',
    name: 'Door',
    kind: 'rtsp',
    sourceUrl: 'rtsp://127.0.0.1:9/none',
  });
  assert.equal(camera.status, 201, JSON.stringify(camera.body));
  const subject = await owner.post('/api/subjects', { name: 'Home', kind: 'other', cameraIds: ['door'] });
  assert.equal(subject.status, 201, JSON.stringify(subject.body));
  const rule = await owner.post(`/api/subjects/${subject.body.subject.id}/rules`, {
    name: 'Person at the door at night',
    kind: 'state',
    readingKind: 'person',
    severity: 'warning',
    dedupSeconds: 0,
    params: { state: 'detected', window: { from: '22:00', to: '06:00' } },
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const bad = await owner.post(`/api/subjects/${subject.body.subject.id}/rules`, {
    name: 'Bad window',
    kind: 'state',
    readingKind: 'person',
    severity: 'warning',
    params: { state: 'detected', window: { from: '22', to: '06:00' } },
  });
  assert.equal(bad.status, 400);

  const care = hub.hub.care;
  const incidents = async () => (await owner.get('/api/incidents')).body.incidents as { state: string }[];
  // Noon (UTC is the household zone here): the postman is no alert.
  care.signal({ cameraId: 'door' }, { at: now, kind: 'person', state: 'detected', value: 0.8 });
  care.signal({ cameraId: 'door' }, { at: now + 20_000, kind: 'person', state: 'gone', value: 0.8 });
  assert.equal((await incidents()).length, 0);

  now = Date.parse('2026-12-02T23:30:00Z');
  care.signal({ cameraId: 'door' }, { at: now, kind: 'person', state: 'detected', value: 0.7 });
  let list = await incidents();
  assert.equal(list.length, 1);
  assert.equal(list[0]!.state, 'open');
  now += 30_000;
  care.signal({ cameraId: 'door' }, { at: now, kind: 'person', state: 'gone', value: 0.7 });
  care.tick();
  list = await incidents();
  assert.equal(list.length, 1);
  assert.equal(list[0]!.state, 'resolved');
});
