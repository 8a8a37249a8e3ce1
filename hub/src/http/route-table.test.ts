import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { ACCESS, type RouteDoc } from './access.js';

/**
 * Walks the router's own table, so a route added later is covered without touching this file:
 * every `/api` route must declare its access, and that declaration must hold for real requests.
 */
let t: TestHub;
let clients: Record<'viewer' | 'member' | 'owner', TestClient>;
let deviceToken: string;

interface ApiRoute {
  method: string;
  path: string;
  doc: RouteDoc | undefined;
}

function apiRoutes(): ApiRoute[] {
  const byKey = new Map<string, ApiRoute>();
  for (const route of t.hub.app.routes) {
    if (route.method === 'ALL' || !route.path.startsWith('/api')) continue;
    const key = `${route.method} ${route.path}`;
    const entry = byKey.get(key) ?? { method: route.method, path: route.path, doc: undefined };
    const doc = (route.handler as unknown as Record<symbol, RouteDoc | undefined>)[ACCESS];
    if (doc) entry.doc = doc;
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

/** Parameters filled with values of the right shape, so requests reach the guard, not a 404. */
const concrete = (path: string) => path.replace(/:(\w+)/g, '1');

before(async () => {
  t = await startTestHub();
  clients = {
    viewer: await t.userWithRole('viewer'),
    member: await t.userWithRole('member'),
    owner: await t.owner(),
  };
  deviceToken = t.hub.devices.create({ name: 'probe', kind: 'node' }).token;
});
after(() => t.stop());

test('the table is not empty and every /api route declares who may call it', () => {
  const routes = apiRoutes();
  assert.ok(routes.length >= 20, `expected the whole API, found ${routes.length} routes`);
  const undeclared = routes.filter((route) => !route.doc && route.path !== '/api/openapi.json');
  assert.deepEqual(undeclared, [], 'routes without allow(...)');
});

test('every non-public route answers 401 without credentials', async () => {
  for (const route of apiRoutes()) {
    if (!route.doc || route.doc.access === 'public') continue;
    const response = await t.client().request(route.method, concrete(route.path), { json: {} });
    assert.equal(response.status, 401, `${route.method} ${route.path} without credentials`);
    assert.equal(response.body.error.code, 'unauthorized');
  }
});

test('every route answers 403 to a role below its requirement', async () => {
  const below: Record<string, ('viewer' | 'member')[]> = { member: ['viewer'], owner: ['viewer', 'member'] };
  let checked = 0;
  for (const route of apiRoutes()) {
    for (const role of below[route.doc?.access ?? ''] ?? []) {
      const response = await clients[role].request(route.method, concrete(route.path), { json: {} });
      assert.equal(response.status, 403, `${route.method} ${route.path} as ${role}`);
      assert.equal(response.body.error.code, 'forbidden');
      checked += 1;
    }
  }
  assert.ok(checked >= 10, `only ${checked} role checks ran`);
});

test('routes a role may use are not refused to it', async () => {
  for (const route of apiRoutes()) {
    const access = route.doc?.access;
    if (
      access !== 'viewer' ||
      route.method !== 'GET' ||
      route.path.includes(':') ||
      route.path.endsWith('/stream')
    )
      continue;
    const response = await clients.viewer.get(concrete(route.path));
    assert.equal(response.status, 200, `GET ${route.path} as viewer`);
  }
});

test('a device token opens only device routes; a session never opens device routes', async () => {
  for (const route of apiRoutes()) {
    if (!route.doc || route.doc.access === 'public') continue;
    const asDevice = await t.client().request(route.method, concrete(route.path), {
      json: {},
      headers: { authorization: `Bearer ${deviceToken}` },
    });
    if (route.doc.access === 'device') {
      assert.notEqual(asDevice.status, 401, `${route.method} ${route.path} with a device token`);
      const asOwner = await clients.owner.request(route.method, concrete(route.path), { json: {} });
      assert.equal(asOwner.status, 401, `${route.method} ${route.path} with an owner session`);
    } else {
      assert.equal(asDevice.status, 401, `${route.method} ${route.path} must refuse device tokens`);
    }
  }
});
