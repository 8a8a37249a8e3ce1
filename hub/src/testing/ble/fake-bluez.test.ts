/**
 * The harness itself: node-ble, unmodified, against a real private dbus-daemon and the fake BlueZ —
 * discovery, connect, services resolved, read, write (refused past the MTU), notifications, disconnect.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBluetooth } from 'node-ble';
import { type PrivateBus, startPrivateBus } from './dbus-daemon.js';
import { type FakeBluez, type PeripheralLink, startFakeBluez } from './fake-bluez.js';

const SERVICE = '0000feed-0000-1000-8000-00805f9b34fb';
const CHAR = '0000beef-0000-1000-8000-00805f9b34fb';

let bus: PrivateBus;
let bluez: FakeBluez;
before(async () => {
  bus = await startPrivateBus();
  bluez = await startFakeBluez(bus.address);
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
});
after(async () => {
  await bluez.stop();
  await bus.stop();
});

test('node-ble discovers, connects, reads, writes and gets notifications through the fake BlueZ', async () => {
  const written: string[] = [];
  let link: PeripheralLink | undefined;
  bluez.add({
    address: 'AA:BB:CC:00:00:01',
    name: 'Echo',
    rssi: -48,
    uuids: [SERVICE],
    serviceData: {},
    services: [
      {
        uuid: SERVICE,
        characteristics: [
          {
            uuid: CHAR,
            flags: ['read', 'write', 'notify'],
            read: () => Uint8Array.from([1, 2, 3]),
            write: (value) => {
              written.push(Buffer.from(value).toString('hex'));
              link!.notify(CHAR, value.slice().reverse());
            },
          },
        ],
      },
    ],
    attach: (l) => {
      link = l;
    },
  });
  const { bluetooth, destroy } = createBluetooth();
  try {
    const adapter = await bluetooth.defaultAdapter();
    await adapter.startDiscovery();
    const device = await adapter.waitDevice('AA:BB:CC:00:00:01', 5000, 50);
    assert.equal(await device.getName(), 'Echo');
    assert.equal(await device.getRSSI(), -48);
    await adapter.stopDiscovery();
    await device.connect();
    const server = await device.gatt();
    const characteristic = await (await server.getPrimaryService(SERVICE)).getCharacteristic(CHAR);
    assert.deepEqual([...(await characteristic.readValue())], [1, 2, 3]);
    await characteristic.startNotifications();
    const notified = new Promise<Buffer>((resolve) => characteristic.once('valuechanged', resolve));
    await characteristic.writeValue(Buffer.from([9, 8, 7]));
    assert.deepEqual([...(await notified)], [7, 8, 9]);
    assert.deepEqual(written, ['090807']);
    await assert.rejects(characteristic.writeValue(Buffer.alloc(21)), /Invalid Length/);
    await characteristic.stopNotifications();
    await device.disconnect();
    assert.equal(await device.isConnected(), false);
  } finally {
    destroy();
  }
});
