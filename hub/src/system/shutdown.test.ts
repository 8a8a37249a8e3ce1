import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { databasePath } from '../db/client.js';
import { spawnHub } from '../testing/spawn-hub.js';

test('SIGTERM lets a request in flight finish, ends live streams, closes the database and exits 0', async () => {
  const hub = await spawnHub();
  const url = new URL(hub.url);
  try {
    // A sign-in whose body is only half sent: the hub cannot answer before the rest arrives.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/auth/login',
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: hub.url },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"username":"nobody",');
      // Wait until the hub has the request (its access log line comes only at the end, so poll the socket).
      req.on('socket', (socket) => {
        socket.on('connect', () => {
          setImmediate(async () => {
            hub.child.kill('SIGTERM');
            // The hub logs `shutting down` and must still be waiting for this request.
            const deadline = Date.now() + 5000;
            while (!hub.logs.some((line) => line.msg === 'shutting down') && Date.now() < deadline)
              await new Promise((resolve) => setTimeout(resolve, 20));
            assert.equal(hub.child.exitCode, null, 'the hub waits for the request in flight');
            req.end('"password":"whatever-password"}');
          });
        });
      });
    });
    const { status, body } = await answer;
    assert.equal(status, 401);
    assert.equal(JSON.parse(body).error.code, 'invalid_credentials');
    const code = await hub.stop();
    assert.equal(code, 0);
    assert.ok(hub.logs.some((line) => line.msg === 'stopped'));
    await assert.rejects(fetch(`${hub.url}/api/health`), 'no longer accepting');
    const db = new Database(databasePath(hub.dataDir), { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  } finally {
    await hub.kill('SIGKILL');
  }
});
