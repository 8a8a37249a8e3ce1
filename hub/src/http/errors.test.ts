import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';

let t: TestHub;
let owner: TestClient;
before(async () => {
  t = await startTestHub({ server: { bodyLimitBytes: 4096 } });
  owner = await t.owner();
});
after(() => t.stop());

const isErrorBody = (body: { error?: { code?: unknown; message?: unknown } }) =>
  typeof body?.error?.code === 'string' && typeof body.error.message === 'string';

test('malformed JSON gets 400 in the error shape', async () => {
  const response = await owner.request('POST', '/api/devices', {
    body: '{"name": "x", kind',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(response.status, 400);
  assert.ok(isErrorBody(response.body));
  assert.match(response.body.error.message, /JSON/);
});

test('a body over the limit gets 413, whether it declares its length or streams', async () => {
  const big = JSON.stringify({ name: 'x'.repeat(10_000), kind: 'camera' });
  const declared = await owner.request('POST', '/api/devices', {
    body: big,
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(declared.status, 413);
  assert.equal(declared.body.error.code, 'payload_too_large');

  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
      controller.close();
    },
  });
  const chunked = await fetch(`${t.url}/api/auth/login`, {
    method: 'POST',
    body: stream,
    headers: { 'content-type': 'application/json', origin: t.url },
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal(t.hub.devices.list().length, 0, 'nothing half-written');
});

test('wrong types name the field; a wrong content type is refused', async () => {
  const response = await owner.post('/api/users', { username: 42, password: true, role: 'king' });
  assert.equal(response.status, 400);
  const paths = response.body.error.details.issues.map((issue: { path: string }) => issue.path).sort();
  assert.deepEqual(paths, ['password', 'role', 'username']);
  const form = await owner.request('POST', '/api/devices', {
    body: 'name=x&kind=camera',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.status, 400);
  const query = await owner.get('/api/system-events?limit=100000');
  assert.equal(query.status, 400);
  assert.equal(query.body.error.details.issues[0].path, 'limit');
});

test('unknown API routes get 404 JSON; other paths get the app shell', async () => {
  const response = await owner.get('/api/no/such/thing');
  assert.equal(response.status, 404);
  assert.equal(response.body.error.code, 'not_found');
  const wrongMethod = await owner.request('PUT', '/api/health', { json: {} });
  assert.equal(wrongMethod.status, 404);
  assert.ok(isErrorBody(wrongMethod.body));
});

test('path tricks do not escape the UI folder', async () => {
  for (const path of [
    '/..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/assets/..%5c..%5cpackage.json',
  ]) {
    const response = await fetch(`${t.url}${path}`);
    const text = await response.text();
    assert.ok(!text.includes('root:x:0:0'), path);
    assert.ok(!text.includes('"workspaces"'), path);
  }
});

test('every answer carries a request id and security headers', async () => {
  const response = await fetch(`${t.url}/api/health`);
  assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
});
