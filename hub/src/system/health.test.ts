import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestHub } from '../testing/test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(() => t.stop());

test('health is public and reports version and whether setup is open', async () => {
  const response = await t.client().request('GET', '/api/health', { origin: null });
  assert.equal(response.status, 200);
  assert.equal(response.body.status, 'ok');
  assert.match(response.body.version, /^\d+\.\d+\.\d+/);
  assert.equal(response.body.setupNeeded, true);
});

test('the OpenAPI document is public and describes routes with their access', async () => {
  const response = await t.client().get('/api/openapi.json');
  assert.equal(response.status, 200);
  assert.equal(response.body.openapi, '3.1.0');
  const login = response.body.paths['/api/auth/login'].post;
  assert.equal(login['x-hearth-access'], 'public');
  assert.deepEqual(Object.keys(login.requestBody.content['application/json'].schema.properties).sort(), [
    'password',
    'username',
  ]);
  assert.equal(response.body.paths['/api/users'].get['x-hearth-access'], 'owner');
  assert.deepEqual(response.body.paths['/api/device/me'].get.security, [{ deviceToken: [] }]);
  assert.equal(response.body.paths['/api/users/{id}'].patch.parameters[0].in, 'path');
});
