import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';
import { notifySocket } from './fixtures/notify-socket.js';
import { systemdNotifier } from './sd-notify.js';

const NOTIFIER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sd-notify.ts');
/** 200 ms: systemd would expect a ping at least every 200 ms; the notifier sends one every 100 ms. */
const WATCHDOG_USEC = '200000';

test('without NOTIFY_SOCKET, or with one it cannot reach, the notifier does nothing', () => {
  const warnings: string[] = [];
  const log = { warn: (message: string) => warnings.push(message) };
  const none = systemdNotifier({ env: { WATCHDOG_USEC }, log });
  assert.equal(none.active, false);
  none.ready('up');
  none.stopping();

  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '@hearth-test', WATCHDOG_USEC };
  const abstract = systemdNotifier({ env, log });
  assert.equal(abstract.active, false);
  assert.match(warnings.join('\n'), /abstract socket/);
  assert.deepEqual(env, {}, 'the variables are not handed on to child processes');

  const elsewhere = systemdNotifier({
    env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC, WATCHDOG_PID: '1' },
    pid: 4242,
    log,
  });
  assert.equal(elsewhere.active, true);
  assert.equal(elsewhere.watchdogIntervalMs, null, 'the watchdog was meant for another process');
  assert.equal(
    systemdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC, WATCHDOG_PID: '4242' }, pid: 4242 })
      .watchdogIntervalMs,
    100,
  );
});

test('a send that fails is one warning, not a crash', () => {
  const warnings: string[] = [];
  const notifier = systemdNotifier({
    env: { NOTIFY_SOCKET: path.join(tempDir(), 'nobody-listens.sock') },
    log: { warn: (message) => warnings.push(message) },
  });
  notifier.status('one');
  notifier.status('two');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /ENOENT/);
});

test('the compiled hub: READY=1 once it serves, WATCHDOG=1 from its own pid, STOPPING=1 on SIGTERM', async () => {
  const dir = tempDir();
  const systemd = await notifySocket(dir);
  const hub = await spawnHub({ env: { NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC } });
  try {
    const [ready] = await waitFor('READY=1', () => {
      const found = systemd.having('READY=1');
      return found.length ? found : undefined;
    });
    assert.equal(ready!.pid, hub.child.pid, 'sent by the main process itself (NotifyAccess=main)');
    // The port was chosen by the kernel at listen(), so a status naming it was written after the listener
    // was up; and it answers.
    const status = /^STATUS=Listening on (http:\/\/\S+); recording 0 cameras$/m.exec(ready!.text);
    assert.ok(status, ready!.text);
    assert.equal(status[1], hub.url);
    assert.equal((await fetch(`${hub.url}/api/health`)).status, 200);

    const pings = await waitFor('three watchdog pings after READY=1', () => {
      const found = systemd.having('WATCHDOG=1').filter((ping) => ping.at > ready!.at);
      return found.length >= 3 ? found : undefined;
    });
    assert.ok(pings.every((ping) => ping.pid === hub.child.pid));
    assert.equal(systemd.having('WATCHDOG=1')[0]!.at > ready!.at, true, 'no ping before READY=1');

    assert.equal(await hub.stop(), 0);
    const [stopping] = systemd.having('STOPPING=1');
    assert.ok(stopping, 'STOPPING=1 before the process exited');
    assert.equal(stopping.pid, hub.child.pid);
  } finally {
    await hub.kill('SIGKILL');
    await systemd.close();
  }
});

test('a blocked event loop sends no pings, so systemd would kill it; they resume when it is free', async () => {
  const dir = tempDir();
  const systemd = await notifySocket(dir);
  // The notifier as the hub uses it, in a process whose event loop the test blocks on demand: it spins for
  // a second (a synchronous loop, as a runaway computation or a sync call on a hung disk would). STATUS
  // lines mark the start and the end; datagrams from one sender arrive in order, so what lies between
  // the two marks was sent while the loop was blocked.
  const code = `
    import { systemdNotifier } from ${JSON.stringify(NOTIFIER)};
    const systemd = systemdNotifier();
    systemd.ready('test');
    process.stdin.once('data', () => {
      systemd.status('blocking');
      const start = process.hrtime.bigint();
      while (process.hrtime.bigint() < start + 1_000_000_000n) {}
      systemd.status('free');
    });
  `;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', '--input-type=module', '-e', code],
    {
      env: { ...process.env, NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC },
      stdio: ['pipe', 'ignore', 'inherit'],
    },
  );
  const index = (text: string) => systemd.messages.findIndex((message) => message.text === text);
  try {
    await waitFor('pings while the loop is free', () =>
      systemd.having('WATCHDOG=1').length >= 3 ? true : undefined,
    );
    child.stdin.write('block\n');
    await waitFor('two pings after the loop is free again', () => {
      const free = index('STATUS=free');
      return free >= 0 && systemd.messages.slice(free).filter((m) => m.text === 'WATCHDOG=1').length >= 2
        ? true
        : undefined;
    });

    assert.ok(systemd.messages.every((message) => message.pid === child.pid));
    const blocking = index('STATUS=blocking');
    const free = index('STATUS=free');
    assert.deepEqual(
      systemd.messages.slice(blocking + 1, free),
      [],
      'nothing was sent during the blocked second (ten pings were due)',
    );
    const isPing = (message: { text: string }) => message.text === 'WATCHDOG=1';
    const lastBefore = systemd.messages.slice(0, blocking).filter(isPing).at(-1)!;
    const firstAfter = systemd.messages.slice(free).find(isPing)!;
    const silence = Number((firstAfter.at - lastBefore.at) / 1_000_000n);
    assert.ok(silence > 200, `the silence (${silence} ms) outlasts WatchdogSec (200 ms): systemd would act`);
  } finally {
    child.kill('SIGKILL');
    await systemd.close();
  }
});
