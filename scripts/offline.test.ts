import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { test } from 'node:test';

/**
 * `npm test` runs every test in a network namespace of its own (scripts/test.mjs): loopback and a
 * stand-in LAN with nothing behind it, no route out. A test or a hub that tried to fetch a model, a font
 * or an update from outside fails there rather than passing by reaching the internet. This checks that
 * the namespace is really there.
 */
const network = process.env.HEARTH_TEST_NETWORK;

const connectError = (host: string, port: number) =>
  new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', resolve);
  });

test('the tests have no route beyond this machine', {
  skip:
    network !== 'isolated' &&
    `npm test could not make a network namespace here (HEARTH_TEST_NETWORK=${network ?? 'unset'}: not root, or run outside npm test)`,
}, async () => {
  const outward = Object.entries(os.networkInterfaces())
    .filter(([, addresses]) => addresses?.some((address) => !address.internal))
    .map(([name]) => name);
  assert.ok(
    outward.every((name) => name === 'lan0' || name === 'lan1'),
    `only loopback and the stand-in LAN, found ${outward.join(', ')}`,
  );
  const defaults = readFileSync('/proc/net/route', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.split(/\s+/)[1] === '00000000');
  assert.deepEqual(defaults, [], 'no default route');

  // An address outside this machine (TEST-NET-1): the kernel has no route, so it fails at once.
  assert.equal((await connectError('192.0.2.1', 80))?.code, 'ENETUNREACH');

  const server = net.createServer((socket) => socket.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    net
      .connect({ host: '127.0.0.1', port })
      .on('data', (chunk) => {
        text += chunk;
      })
      .on('end', () => resolve(text))
      .on('error', reject);
  });
  server.close();
  assert.equal(reply, 'ok', 'loopback still works');
});
