import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { waitFor as waitUntil } from '@hearth/hub/testing';
import type { NewReading } from '../outbox.js';
import {
  type FakeGpio,
  type FakeGpioChip,
  raspberryPiChip,
  startFakeGpio,
} from '../testing/fake-gpio/index.js';
import { gpioSensorSchema } from './driver.js';
import { type GpioDriverOptions, gpioSensor } from './gpio.js';

/** Polls every 10 ms: restarts are timed in hundreds of ms, debouncing in tens. */
const waitFor = <T>(what: string, probe: () => T | undefined, ms = 5000) => waitUntil(what, probe, ms, 10);

/** Bookworm's and trixie's libgpiod tools. */
const VERSIONS = ['1.6.3', '2.1.3'] as const;
const CHIP = 'gpiochip0';

interface Seen extends NewReading {
  /** When the driver emitted it. */
  emittedAt: number;
}

/** A fake GPIO "kernel" with the stand-in tools of `version`, and a driver on it, stopped after the test. */
async function rig(
  t: TestContext,
  version: string,
  sensor: Record<string, unknown>,
  options: GpioDriverOptions & { chips?: FakeGpioChip[] } = {},
) {
  const gpio = await startFakeGpio({ version, ...(options.chips ? { chips: options.chips } : {}) });
  const config = gpioSensorSchema.parse({
    type: 'gpio',
    name: 'hallway',
    gpiomon: gpio.tool('gpiomon'),
    gpioget: gpio.tool('gpioget'),
    gpiofind: gpio.tool('gpiofind'),
    ...sensor,
  });
  const driver = gpioSensor(config, { restartMinMs: 100, restartMaxMs: 400, ...options });
  const readings: Seen[] = [];
  const texts: string[] = [];
  const unsubscribe = driver.onLine!((line) => texts.push(line));
  // On a failed assertion too: a gpiomon left running would keep the test process alive.
  t.after(async () => {
    await driver.stop();
    await gpio.stop();
  });
  return {
    gpio,
    driver,
    readings,
    texts,
    unsubscribe,
    start: () => driver.start((reading) => readings.push({ ...reading, emittedAt: Date.now() })),
    /** Waits for `count` readings of `sensor`; returns the last. */
    nth: (sensor: string, count: number) =>
      waitFor(`reading ${count} of ${sensor}`, () => readings.filter((r) => r.sensor === sensor)[count - 1]),
    states: (sensor: string) => readings.filter((r) => r.sensor === sensor).map((r) => r.state),
  };
}

const healthy = (driver: { health(): { healthy: boolean } }) =>
  waitFor('the driver healthy', () => (driver.health().healthy ? true : undefined));

for (const version of VERSIONS) {
  test(`libgpiod ${version}: the initial state from gpioget, a door opened and closed and motion, at the kernel's timestamps; the lines requested with their bias`, async (t) => {
    const { gpio, driver, readings, nth, states, start } = await rig(t, version, {
      chip: CHIP,
      lines: [
        // A reed contact to ground, pulled up: open is high. By name: 1.x finds its offset with gpiofind.
        { line: 'GPIO17', kind: 'door', bias: 'pull-up', name: 'front-door' },
        { line: 27, kind: 'motion', bias: 'pull-down' },
      ],
    });
    gpio.set(CHIP, 27, 1); // someone is already there
    start();
    assert.equal((await nth('front-door', 1)).state, 'closed');
    assert.equal((await nth('hallway:27', 1)).state, 'motion');
    assert.deepEqual(
      readings.map((r) => r.kind),
      readings.map((r) => (r.sensor === 'front-door' ? 'door' : 'motion')),
    );
    await gpio.waitForMonitor(CHIP, 17);
    await gpio.waitForMonitor(CHIP, 27);
    await healthy(driver);
    assert.equal(driver.health().detail, `libgpiod v${version}`);

    const before = Date.now();
    gpio.set(CHIP, 17, 1);
    const after = Date.now();
    const opened = await nth('front-door', 2);
    assert.equal(opened.state, 'open');
    // At the edge (the kernel's timestamp), reported once the level held for the 50 ms default.
    assert.ok(opened.at >= before - 2 && opened.at <= after + 2, `${opened.at} in ${before}..${after}`);
    assert.ok(opened.emittedAt - opened.at >= 45, `held ${opened.emittedAt - opened.at} ms`);
    gpio.set(CHIP, 17, 0);
    assert.equal((await nth('front-door', 3)).state, 'closed');

    // Motion has no debounce by default: each change is a reading.
    gpio.set(CHIP, 27, 0);
    assert.equal((await nth('hallway:27', 2)).state, 'still');
    gpio.set(CHIP, 27, 1);
    assert.equal((await nth('hallway:27', 3)).state, 'motion');
    assert.deepEqual(states('front-door'), ['closed', 'open', 'closed']);
    assert.deepEqual(states('hallway:27'), ['motion', 'still', 'motion']);

    // Different bias, so one gpioget and one gpiomon each, asking what the config says.
    const asked = (tool: string, offset: number) =>
      gpio.requests.filter((r) => r.tool === tool && r.offsets.includes(offset));
    for (const tool of ['gpioget', 'gpiomon']) {
      assert.deepEqual(
        asked(tool, 17).map((r) => [r.offsets, r.bias, r.activeLow]),
        [[[17], 'pull-up', false]],
      );
      assert.deepEqual(
        asked(tool, 27).map((r) => [r.offsets, r.bias, r.activeLow]),
        [[[27], 'pull-down', false]],
      );
    }
    assert.equal(asked('gpiomon', 17)[0]!.edges, 'both');
    assert.equal(asked('gpiomon', 17)[0]!.consumer, version.startsWith('1.') ? 'gpiomon' : 'hearth');

    // stop() ends the gpiomons and resolves once they have exited.
    const pids = gpio.monitors().map((r) => r.pid);
    assert.equal(pids.length, 2);
    await driver.stop();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.equal(driver.health().healthy, false);
  });

  test(`libgpiod ${version}: a bouncing contact gives one reading, at the edge its level held from; a glitch shorter than the debounce gives none`, async (t) => {
    const { gpio, nth, states, start } = await rig(t, version, {
      chip: CHIP,
      lines: [{ line: 17, kind: 'door', name: 'door' }],
    });
    start();
    await nth('door', 1);
    await gpio.waitForMonitor(CHIP, 17);

    const sent = Date.now();
    gpio.burst(CHIP, 17, [1, 0, 1, 0, 1], { spacingMs: 2 });
    const opened = await nth('door', 2);
    assert.equal(opened.state, 'open');
    // The last edge of the burst (the one stamped last, ~now), not the first 8 ms before it.
    assert.ok(opened.at >= sent - 2, `${opened.at} is the last edge, not ${sent - 8}`);

    // Closed for 3 ms, then open again: not a change.
    gpio.burst(CHIP, 17, [0, 1], { spacingMs: 3 });
    gpio.set(CHIP, 17, 0);
    await nth('door', 3);
    assert.deepEqual(states('door'), ['closed', 'open', 'closed']);
  });

  test(`libgpiod ${version}: edges read late, in one batch, are judged by their kernel timestamps`, async (t) => {
    const { gpio, nth, start } = await rig(t, version, {
      chip: CHIP,
      lines: [{ line: 17, kind: 'door', name: 'door', debounceMs: 100 }],
    });
    start();
    await nth('door', 1);
    await gpio.waitForMonitor(CHIP, 17);
    // Opened 1.5 s ago for 500 ms, closed since: the agent was busy, both edges come at once.
    const sent = Date.now();
    gpio.burst(CHIP, 17, [1, 0], { spacingMs: 500, agoMs: 1000 });
    const [opened, closed] = [await nth('door', 2), await nth('door', 3)];
    assert.equal(opened.state, 'open');
    assert.equal(closed.state, 'closed');
    assert.ok(Math.abs(opened.at - (sent - 1500)) < 20, `opened ${sent - opened.at} ms before`);
    assert.ok(Math.abs(closed.at - (sent - 1000)) < 20, `closed ${sent - closed.at} ms before`);
  });

  test(`libgpiod ${version}: a button press is a pressed reading and the line pressed:<name> (not at start, not on release); active-low inverts`, async (t) => {
    const { gpio, driver, readings, texts, unsubscribe, nth, states, start } = await rig(t, version, {
      chip: '0',
      lines: [
        // Both switch to ground with the pull-up on: active when low.
        { line: 22, kind: 'button', activeLow: true, bias: 'pull-up', name: 'porch-button' },
        { line: 5, kind: 'door', activeLow: true, bias: 'pull-up', name: 'garage' },
        { line: 23, kind: 'button', activeLow: true, bias: 'pull-up', name: 'doorbell' },
      ],
    });
    gpio.set(CHIP, 22, 1); // released
    gpio.set(CHIP, 5, 1); // closed (the contact open, so pulled high)
    gpio.set(CHIP, 23, 0); // held down as the agent starts: not a press
    start();
    assert.equal((await nth('garage', 1)).state, 'closed');
    assert.deepEqual(
      readings.map((r) => r.sensor),
      ['garage'],
    );
    await gpio.waitForMonitor(CHIP, 22);
    await healthy(driver);
    // Same settings: one gpiomon for the three lines.
    assert.deepEqual(
      gpio.monitors().map((r) => [r.offsets, r.activeLow, r.bias]),
      [[[22, 5, 23], true, 'pull-up']],
    );

    gpio.set(CHIP, 22, 0); // pressed
    const pressed = await nth('porch-button', 1);
    assert.deepEqual([pressed.kind, pressed.state], ['button', 'pressed']);
    assert.deepEqual(texts, ['pressed:porch-button']);
    gpio.set(CHIP, 22, 1); // released: nothing (held 50 ms before the garage door's change is reported)
    gpio.set(CHIP, 5, 0); // the garage door opens
    assert.equal((await nth('garage', 2)).state, 'open');
    gpio.set(CHIP, 22, 0);
    await nth('porch-button', 2);
    assert.deepEqual(texts, ['pressed:porch-button', 'pressed:porch-button']);

    unsubscribe();
    gpio.set(CHIP, 22, 1);
    gpio.set(CHIP, 5, 1);
    assert.equal((await nth('garage', 3)).state, 'closed');
    gpio.set(CHIP, 22, 0);
    await nth('porch-button', 3);
    assert.equal(texts.length, 2);
    assert.deepEqual(states('porch-button'), ['pressed', 'pressed', 'pressed']);
    assert.equal(readings.filter((r) => r.kind === 'button').length, 3);
    // The doorbell let go, then pressed: its first press.
    gpio.set(CHIP, 23, 1);
    gpio.set(CHIP, 5, 0);
    await nth('garage', 4);
    gpio.set(CHIP, 23, 0);
    assert.equal((await nth('doorbell', 1)).state, 'pressed');
    assert.equal(readings.filter((r) => r.sensor === 'doorbell').length, 1);
  });

  test(`libgpiod ${version}: garbage on gpiomon's output is counted and ignored`, async (t) => {
    const { gpio, driver, nth, start } = await rig(t, version, {
      chip: CHIP,
      lines: [{ line: 17, kind: 'door', name: 'door' }],
    });
    start();
    await nth('door', 1);
    await gpio.waitForMonitor(CHIP, 17);
    await healthy(driver);
    const v1 = version.startsWith('1.');
    gpio.noise(
      CHIP,
      [
        'hello',
        '\u0000\u00ff\u0013',
        v1 ? '17 2 100 5' : '17 0 100.000000005 GPIO17', // no such event type
        v1 ? '5 1 100 5' : '5 1 100.000000005 GPIO5', // not a line of ours
        v1 ? '17 1 100.000000005 GPIO17' : '17 1 100 5', // the other version's format
        '#'.repeat(200),
        '',
      ].join('\n'),
    );
    gpio.set(CHIP, 17, 1);
    assert.equal((await nth('door', 2)).state, 'open');
    assert.equal(driver.health().healthy, true);
    assert.match(driver.health().detail ?? '', /; 6 lines not understood$/);
  });

  test(`libgpiod ${version}: gpiomon killed: unhealthy saying so, started again, a change while it was down reported, readings continue`, async (t) => {
    const { gpio, driver, nth, states, start } = await rig(
      t,
      version,
      { chip: CHIP, lines: [{ line: 17, kind: 'door', name: 'door' }] },
      { restartMinMs: 300 },
    );
    start();
    await nth('door', 1);
    const first = await gpio.waitForMonitor(CHIP, 17);
    await healthy(driver);
    // A garbage line, then one the kill will cut off: the first counted once it is read, so is the second.
    gpio.noise(CHIP, `garbage\n${cutOff(version)}`);
    await waitFor('the garbage read', () =>
      /; 1 lines/.test(driver.health().detail ?? '') ? true : undefined,
    );

    process.kill(first.pid, 'SIGKILL');
    await waitFor('the driver to notice', () => (driver.health().healthy ? undefined : true));
    assert.equal(driver.health().detail, 'gpiomon was killed (SIGKILL)');
    gpio.set(CHIP, 17, 1); // opened while nobody watched

    const second = await gpio.waitForMonitor(CHIP, 17, first.pid);
    assert.notEqual(second.pid, first.pid);
    assert.equal((await nth('door', 2)).state, 'open'); // from gpioget at the restart
    await healthy(driver);
    gpio.set(CHIP, 17, 0);
    assert.equal((await nth('door', 3)).state, 'closed');
    assert.match(driver.health().detail ?? '', /; 2 lines not understood$/);

    // Killed again with nothing changed: the restart's gpioget reports nothing.
    process.kill(second.pid, 'SIGKILL');
    await gpio.waitForMonitor(CHIP, 17, second.pid);
    gpio.set(CHIP, 17, 1);
    await nth('door', 4);
    assert.deepEqual(states('door'), ['closed', 'open', 'closed', 'open']);
  });

  test(`libgpiod ${version}: a chip that is not there: unhealthy with the tool's words, tried again`, async (t) => {
    const { gpio, driver, start } = await rig(t, version, {
      chip: 'gpiochip9',
      lines: [{ line: 17, kind: 'door' }],
    });
    start();
    const expected = version.startsWith('1.')
      ? 'gpioget: error reading GPIO values: No such file or directory'
      : "gpioget: cannot find GPIO chip character device 'gpiochip9'";
    await waitFor('the failure', () => (driver.health().detail === expected ? true : undefined));
    assert.equal(driver.health().healthy, false);
    // Tried again and again (100 ms, doubling to 400): each gpioget looked for the chip, none asked for a line.
    await waitFor('three tries', () => (gpio.runs() >= 3 ? true : undefined));
    assert.equal(gpio.requests.length, 0);
    assert.equal(driver.health().detail, expected);
  });

  test(`libgpiod ${version}: the chip unplugged while watched: gpiomon's own error, then gpioget's until it is back`, async (t) => {
    const expander: FakeGpioChip = { name: 'gpiochip2', label: 'mcp23017', lines: 16, names: [] };
    const { gpio, driver, nth, start } = await rig(
      t,
      version,
      { chip: '/dev/gpiochip2', lines: [{ line: 3, kind: 'door', name: 'shed' }] },
      { chips: [raspberryPiChip(), expander], restartMinMs: 300 },
    );
    start();
    await nth('shed', 1);
    const first = await gpio.waitForMonitor('gpiochip2', 3);
    await healthy(driver);

    gpio.unplug('gpiochip2');
    const v1 = version.startsWith('1.');
    const died = v1
      ? 'gpiomon: error waiting for events: No such device'
      : 'gpiomon: error reading line events: No such device';
    await waitFor('gpiomon to die', () => (driver.health().detail === died ? true : undefined));
    assert.equal(driver.health().healthy, false);
    const missing = v1
      ? 'gpioget: error reading GPIO values: No such file or directory'
      : "gpioget: cannot find GPIO chip character device 'gpiochip2'";
    await waitFor('the restart to fail', () => (driver.health().detail === missing ? true : undefined));

    gpio.plugIn('gpiochip2');
    await gpio.waitForMonitor('gpiochip2', 3, first.pid);
    await healthy(driver);
    gpio.set('gpiochip2', 3, 1);
    assert.equal((await nth('shed', 2)).state, 'open');
  });
}

/** A line cut off by the kill: the start of a valid event, no newline. */
function cutOff(version: string) {
  return version.startsWith('1.') ? '17 1 123' : '17 1 123.000';
}

test('gpiomon not installed: unhealthy, saying how to install it', async (t) => {
  const config = gpioSensorSchema.parse({
    type: 'gpio',
    name: 'hallway',
    lines: [{ line: 17, kind: 'door' }],
    gpiomon: '/nonexistent/gpiomon',
  });
  const driver = gpioSensor(config, { restartMinMs: 50 });
  t.after(() => driver.stop());
  assert.deepEqual(driver.health(), { name: 'hallway', kind: 'gpio', healthy: false, detail: 'not started' });
  driver.start(() => assert.fail('no readings without gpiomon'));
  await waitFor('the failure', () =>
    driver.health().detail === '/nonexistent/gpiomon not found (apt install gpiod)' ? true : undefined,
  );
  assert.equal(driver.health().healthy, false);
});

test('libgpiod 1.6.3: a line name no chip has is said so (gpiofind finds nothing)', async (t) => {
  const { driver, start } = await rig(t, '1.6.3', { lines: [{ line: 'GPIO99', kind: 'door' }] });
  start();
  await waitFor('the failure', () =>
    driver.health().detail === 'no GPIO line is named GPIO99 (gpiofind)' ? true : undefined,
  );
});

/** Runs a stand-in to its end (or until `until` says so, then SIGTERM); stdout's chunks as they came. */
function runTool(
  gpio: FakeGpio,
  tool: 'gpiomon' | 'gpioget',
  args: string[],
  until?: (stdout: string) => boolean,
) {
  return new Promise<{ code: number | null; stdout: string; chunks: string[]; stderr: string }>((resolve) => {
    const child = spawn(gpio.tool(tool), args);
    const chunks: string[] = [];
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      chunks.push(chunk);
      if (until?.(chunks.join(''))) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout: chunks.join(''), chunks, stderr }));
  });
}

test("the stand-ins take only their version's command lines, with the real tools' errors; 1.x gpiomon buffers without --line-buffered", async (t) => {
  const v1 = await startFakeGpio({ version: '1.6.3' });
  const v2 = await startFakeGpio({ version: '2.1.3' });
  t.after(async () => {
    await v1.stop();
    await v2.stop();
  });
  const v2Monitor = ['--banner', '--chip=gpiochip0', '--format=%o %e %S %l', '17'];
  const v1Monitor = ['--line-buffered', '--format=%o %e %s %n', 'gpiochip0', '17'];

  let result = await runTool(v1, 'gpiomon', v2Monitor);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `${v1.tool('gpiomon')}: unrecognized option '--banner'\n${v1.tool('gpiomon')}: try ${v1.tool('gpiomon')} --help\n`,
  );
  result = await runTool(v2, 'gpiomon', v1Monitor);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /: unrecognized option '--line-buffered'\n/);
  // Without the option, 1.x's positional chip is a line name to 2.x.
  result = await runTool(v2, 'gpiomon', ['gpiochip0', '17']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /: cannot find line 'gpiochip0'\n.*: cannot find line '17'\n$/);
  result = await runTool(v1, 'gpioget', ['--numeric', '--chip=gpiochip0', '17']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /unrecognized option '--numeric'/);
  result = await runTool(v2, 'gpioget', ['--bias=disable', '-c', 'gpiochip0', '17']); // 1.x's spelling
  assert.equal(result.code, 1);
  assert.match(result.stderr, /: invalid bias: disable\n$/);
  result = await runTool(v2, 'gpioget', ['-c', 'gpiochip0', '17', 'GPIO27']);
  assert.equal(result.stdout, '"17"=inactive "GPIO27"=inactive\n');
  result = await runTool(v1, 'gpiomon', ['--version']);
  assert.match(result.stdout, /^gpiomon \(libgpiod\) v1\.6\.3\n/);

  // 2.x flushes before each wait: an edge is out at once.
  let monitor = runTool(v2, 'gpiomon', v2Monitor.slice(1), (out) => out.includes('\n'));
  await v2.waitForMonitor(CHIP, 17);
  v2.set(CHIP, 17, 1);
  result = await monitor;
  assert.match(result.stdout, /^17 1 \d+\.\d{9} GPIO17\n$/);

  // 1.x with --line-buffered: the same.
  const released = (gpio: FakeGpio) =>
    waitFor('the lines released', () => (gpio.monitors().length === 0 ? true : undefined));
  monitor = runTool(v1, 'gpiomon', v1Monitor, (out) => out.includes('\n'));
  await v1.waitForMonitor(CHIP, 17);
  v1.set(CHIP, 17, 1);
  result = await monitor;
  assert.match(result.stdout, /^17 1 \d+ \d{1,9}\n$/);
  await released(v1);

  // Without it: nothing until 4096 bytes wait (a full stdio buffer on a pipe); the rest at its clean exit on
  // SIGTERM (1.x ends its loop on a signalfd).
  monitor = runTool(v1, 'gpiomon', ['--format=%o %e %s %n', 'gpiochip0', '17'], (out) => out.length > 0);
  await v1.waitForMonitor(CHIP, 17);
  for (let edge = 0; edge < 400; edge++) v1.set(CHIP, 17, edge % 2 === 0 ? 0 : 1); // ~21 bytes each
  result = await monitor;
  assert.equal(result.code, 0);
  assert.equal(result.chunks[0]!.length % 4096, 0, `first output ${result.chunks[0]!.length} bytes`);
  assert.equal(result.stdout.split('\n').length, 401);
});

test('the config: defaults, and what is refused', () => {
  const parsed = gpioSensorSchema.parse({
    type: 'gpio',
    name: 'hallway',
    lines: [{ line: 17, kind: 'door' }],
  });
  assert.deepEqual(parsed, {
    type: 'gpio',
    name: 'hallway',
    chip: 'gpiochip0',
    lines: [{ line: 17, kind: 'door', activeLow: false, bias: 'as-is' }],
    gpiomon: 'gpiomon',
    gpioget: 'gpioget',
    gpiofind: 'gpiofind',
  });
  const line = { line: 17, kind: 'door' };
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['no lines', { lines: [] }, /lines/],
    ['an unknown kind', { lines: [{ line: 17, kind: 'window' }] }, /kind/],
    ['an unknown key', { lines: [line], pin: 17 }, /pin/],
    ['an unknown line key', { lines: [{ ...line, pullUp: true }] }, /pullUp/],
    ['an offset as a string', { lines: [{ line: '17', kind: 'door' }] }, /an offset is a number/],
    ['a negative offset', { lines: [{ line: -1, kind: 'door' }] }, /line/],
    ['libgpiod 2 spelling of the bias', { lines: [{ ...line, bias: 'disabled' }] }, /bias/],
    ['too long a debounce', { lines: [{ ...line, debounceMs: 10_001 }] }, /debounceMs/],
    ['a chip by label', { chip: 'pinctrl-bcm2711', lines: [line] }, /gpiochipN/],
    ['a sysfs path', { chip: '/sys/class/gpio/gpiochip0', lines: [line] }, /gpiochipN/],
    ['the same line twice', { lines: [line, { line: 17, kind: 'motion', name: 'm' }] }, /already lines\[0\]/],
    ['two lines named alike', { lines: [line, { line: 18, kind: 'door', name: 'hallway:17' }] }, /already/],
    ['a sensor name over 64', { name: 'h'.repeat(62), lines: [line] }, /over 64/],
  ];
  for (const [what, fields, message] of refused) {
    const result = gpioSensorSchema.safeParse({ type: 'gpio', name: 'hallway', ...fields });
    assert.equal(result.success, false, what);
    assert.match(JSON.stringify(result.error?.issues), message, what);
  }
});
