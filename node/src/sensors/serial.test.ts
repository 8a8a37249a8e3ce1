import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { tempDir, waitFor as waitUntil } from '@hearth/hub/testing';
import type { NewReading } from '../outbox.js';
import { startPty } from '../testing/pty.js';
import { numberInLine } from './lines.js';
import { serialSensor } from './serial.js';

/** Polls every 20 ms: the reconnect is timed against 5 s. */
const waitFor = <T>(what: string, probe: () => T | undefined, ms = 5000) => waitUntil(what, probe, ms, 20);

test('numbers in sensor lines: plain, Korean text, units; garbage and ambiguous lines give nothing', () => {
  assert.equal(numberInLine('36.5'), 36.5);
  assert.equal(numberInLine('아기 체온: 36.5°C'), 36.5);
  assert.equal(numberInLine('temp=37.25 C'), 37.25);
  assert.equal(numberInLine('-4'), -4);
  for (const line of ['', 'ready', '36.5 error', '12 36.5', '\u0000\u00ff\u0013', 'x'.repeat(200)])
    assert.equal(numberInLine(line), null, JSON.stringify(line));
});

const pty = await startPty(tempDir('hearth-pty-'));
after(() => pty.stop());

test('the serial driver on a pty: lines whole or in pieces, Korean text, garbage; the cable pulled and back within 5 s; motor lines written', async (t) => {
  const readings: NewReading[] = [];
  const driver = serialSensor({
    type: 'serial',
    name: 'cradle',
    path: pty.nodeEnd,
    baudRate: 9600,
    kind: 'temperature',
    min: 20,
    max: 45,
    motor: { rock: 'servo\n', stop: 'stop\n' },
  });
  driver.start((reading) => readings.push(reading));
  // On a failed assertion too: its reconnect timer would keep the test process alive.
  t.after(() => driver.stop());
  await waitFor('the port to open', () => (driver.health().healthy ? true : undefined));

  await pty.arduino.write('36.5\r\n아기 체온: 36.6°C\n');
  // A line split over writes, as a slow UART delivers it.
  await pty.arduino.write('아기 체');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await pty.arduino.write('온: 36.7°C\n');
  // Binary garbage, an overlong line without a newline, an implausible value, then a good one.
  await pty.arduino.write(Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x0a]));
  await pty.arduino.write(`${'#'.repeat(400)}\n`);
  await pty.arduino.write('99.9\nBOOT OK\n36.8\n');
  await waitFor('four readings', () => (readings.length >= 4 ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    readings.map((r) => [r.sensor, r.kind, r.value]),
    [
      ['cradle', 'temperature', 36.5],
      ['cradle', 'temperature', 36.6],
      ['cradle', 'temperature', 36.7],
      ['cradle', 'temperature', 36.8],
    ],
  );
  assert.match(driver.health().detail ?? '', /lines not understood/);

  await driver.write!('servo\n');
  await waitFor('the motor line at the Arduino', () =>
    pty.arduino.received().includes('servo\n') ? true : undefined,
  );

  // Unplugged: the driver says so; plugged in again: back within 5 s and reading.
  await pty.unplug();
  await waitFor('the driver to notice', () => (driver.health().healthy ? undefined : true));
  await assert.rejects(driver.write!('stop\n'), /not open/);
  const unpluggedAt = Date.now();
  await pty.plugIn();
  await waitFor('the port to reopen', () => (driver.health().healthy ? true : undefined), 5000);
  assert.ok(Date.now() - unpluggedAt < 5000);
  await pty.arduino.write('37.0\n');
  await waitFor('a reading after the reconnect', () => (readings.at(-1)?.value === 37 ? true : undefined));
  await driver.stop();
});
