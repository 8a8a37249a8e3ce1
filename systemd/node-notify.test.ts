// hearth-node.service is Type=notify too: the agent (node/src/main.ts, from the sources as the node tests run
// it) tells systemd it is up, pings the watchdog from its own pid, and says when it stops.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { notifySocket } from '../hub/src/system/fixtures/notify-socket.js';
import { tempDir } from '../hub/src/testing/spawn-hub.js';
import { waitFor } from '../hub/src/testing/wait.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A local port nothing listens on: the agent's hub is away, which must not delay READY=1. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the node agent: READY=1 once it runs, WATCHDOG=1 from its own pid, STOPPING=1 on SIGTERM', async () => {
  const stateDir = tempDir('hearth-node-notify-');
  writeFileSync(
    path.join(stateDir, 'node.json'),
    JSON.stringify({ hubUrl: `http://127.0.0.1:${await closedPort()}`, token: 'not-enrolled' }),
  );
  const systemd = await notifySocket(stateDir);
  const agent = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', 'node/src/main.ts', '--state-dir', stateDir, 'run'],
    {
      cwd: repo,
      env: { ...process.env, NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC: '200000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  agent.stdout.on('data', (chunk) => {
    output += chunk;
  });
  agent.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
  try {
    const ready = await waitFor('READY=1', () => systemd.having('READY=1')[0], 30_000);
    assert.equal(ready.pid, agent.pid);
    assert.match(ready.text, /^STATUS=Running: 0 sensors, 0 cameras$/m);
    const pings = await waitFor('two watchdog pings', () => {
      const found = systemd.having('WATCHDOG=1');
      return found.length >= 2 ? found : undefined;
    });
    assert.ok(pings.every((ping) => ping.pid === agent.pid && ping.at > ready.at));

    agent.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.equal(systemd.having('STOPPING=1')[0]?.pid, agent.pid, output);
  } finally {
    agent.kill('SIGKILL');
    await systemd.close();
  }
});
