import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir, waitFor } from '@hearth/hub/testing';
import type { NewReading } from '../outbox.js';
import { detectorSensor } from './detector.js';

/** A detector process's side: JSON lines in, one answer line per line out. */
async function talk(socketPath: string, lines: string[]): Promise<string[]> {
  const socket = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  socket.write(lines.map((line) => `${line}\n`).join(''));
  const answers = await waitFor(
    'an answer per line',
    () => {
      const got = received.split('\n').filter(Boolean);
      return got.length >= lines.length ? got : undefined;
    },
    5000,
    10,
  );
  socket.end();
  return answers;
}

test('detector outputs on a unix socket become readings with their confidence; bad lines are answered with the reason', async (t) => {
  const socket = path.join(tempDir('hearth-detector-'), 'cry.sock');
  const readings: NewReading[] = [];
  const driver = detectorSensor(
    { type: 'detector', name: 'cry-detector', socket, kinds: ['crying', 'direction'] },
    () => 1_000,
  );
  driver.start((reading) => readings.push(reading));
  t.after(() => driver.stop());
  await waitFor('the socket', () => (driver.health().healthy ? true : undefined), 5000, 10);
  assert.equal(statSync(socket).mode & 0o777, 0o660);

  const answers = await talk(socket, [
    '{"kind":"crying","state":"crying","confidence":0.91}',
    '{"kind":"direction","state":"left","value":-32.5,"confidence":0.8,"at":500}',
    'not json',
    '{"kind":"motion","state":"yes","confidence":0.5}',
    '{"kind":"crying","state":"crying","confidence":2}',
    '{"kind":"crying","confidence":0.5}',
  ]);
  assert.deepEqual(answers.slice(0, 2), ['{"ok":true}', '{"ok":true}']);
  assert.match(answers[2]!, /not JSON/);
  assert.match(answers[3]!, /kind motion is not one of crying, direction/);
  assert.match(answers[4]!, /error/);
  assert.match(answers[5]!, /a state or a value/);
  assert.deepEqual(readings, [
    { at: 1_000, sensor: 'cry-detector', kind: 'crying', state: 'crying', confidence: 0.91 },
    { at: 500, sensor: 'cry-detector', kind: 'direction', state: 'left', value: -32.5, confidence: 0.8 },
  ]);
  assert.match(driver.health().detail ?? '', /2 detections taken, 4 refused/);
  await driver.stop();
  assert.throws(() => statSync(socket), /ENOENT/);
});
