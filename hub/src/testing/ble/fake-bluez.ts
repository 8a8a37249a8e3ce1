/**
 * A fake BlueZ on a private D-Bus: owns `org.bluez` and exports the objects node-ble walks (by
 * introspection) and calls — AgentManager1 on /org/bluez, Adapter1 on /org/bluez/hci0, Device1 per
 * peripheral, and GattService1 / GattCharacteristic1 below it once connected, with `Value` changes as
 * PropertiesChanged signals, as the real bluetoothd does. The radio is the only fake part: peripherals
 * are objects implementing `FakePeripheral`, which speak the real protocols (see fake-camera.ts).
 */
import dbus from 'dbus-next';

const { Interface } = dbus.interface;
const BLUEZ_ERROR = 'org.bluez.Error';

export interface FakeCharacteristic {
  uuid: string;
  flags: string[];
  read?: () => Uint8Array | Promise<Uint8Array>;
  /** Throw (or reject with) a `dbus.DBusError` to answer the write with an error, as BlueZ relays ATT errors. */
  write?: (value: Uint8Array) => void | Promise<void>;
}

export interface FakeService {
  uuid: string;
  characteristics: FakeCharacteristic[];
}

/** What the fake radio needs from a peripheral. */
export interface FakePeripheral {
  address: string;
  name: string;
  rssi: number;
  uuids: string[];
  /** Service data by 16- or 128-bit UUID string (BlueZ's `ServiceData` property). */
  serviceData: Record<string, Uint8Array>;
  services: FakeService[];
  /** Called when the hub connects; throw a DBusError to refuse. `resolve: false` never resolves services. */
  onConnect?: () => { resolve: boolean } | undefined;
  onDisconnect?: () => void;
  /** The radio to notify through; set by the fake BlueZ when the peripheral is added. */
  attach?: (link: PeripheralLink) => void;
}

export interface PeripheralLink {
  /** Sends a notification (a change of the characteristic's Value) if the hub subscribed to it. */
  notify(uuid: string, value: Uint8Array): void;
  /** The peripheral drops the connection (out of range, reset). */
  drop(): void;
  connected(): boolean;
}

export class BluezError extends dbus.DBusError {
  constructor(name: string, message: string) {
    super(`${BLUEZ_ERROR}.${name}`, message);
  }
}

class AgentManager extends Interface {
  RegisterAgent() {}
  UnregisterAgent() {}
  RequestDefaultAgent() {}
}
AgentManager.configureMembers({
  methods: {
    RegisterAgent: { inSignature: 'os' },
    UnregisterAgent: { inSignature: 'o' },
    RequestDefaultAgent: { inSignature: 'o' },
  },
});

class Adapter extends Interface {
  Address = '00:1A:7D:DA:71:13';
  AddressType = 'public';
  Name = 'hearth-hub';
  Alias = 'hearth-hub';
  Powered = true;
  Discovering = false;
  constructor(private readonly radio: FakeRadio) {
    super('org.bluez.Adapter1');
  }
  SetDiscoveryFilter() {}
  StartDiscovery() {
    if (this.Discovering) throw new BluezError('InProgress', 'Operation already in progress');
    this.Discovering = true;
    Interface.emitPropertiesChanged(this, { Discovering: true }, []);
    this.radio.discoveryChanged(true);
  }
  StopDiscovery() {
    if (!this.Discovering) throw new BluezError('Failed', 'No discovery started');
    this.Discovering = false;
    Interface.emitPropertiesChanged(this, { Discovering: false }, []);
    this.radio.discoveryChanged(false);
  }
  RemoveDevice(path: string) {
    this.radio.removeDevicePath(path);
  }
}
Adapter.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    Powered: { signature: 'b', access: 'read' },
    Discovering: { signature: 'b', access: 'read' },
  },
  methods: {
    SetDiscoveryFilter: { inSignature: 'a{sv}' },
    StartDiscovery: {},
    StopDiscovery: {},
    RemoveDevice: { inSignature: 'o' },
  },
});

class Device extends Interface {
  Address: string;
  AddressType = 'public';
  Name: string;
  Alias: string;
  RSSI: number;
  UUIDs: string[];
  ServiceData: Record<string, dbus.Variant>;
  Connected = false;
  ServicesResolved = false;
  Paired = false;
  constructor(
    private readonly entry: DeviceEntry,
    private readonly radio: FakeRadio,
  ) {
    super('org.bluez.Device1');
    const p = entry.peripheral;
    this.Address = p.address;
    this.Name = p.name;
    this.Alias = p.name;
    this.RSSI = p.rssi;
    this.UUIDs = p.uuids;
    this.ServiceData = Object.fromEntries(
      Object.entries(p.serviceData).map(([uuid, bytes]) => [
        uuid,
        new dbus.Variant('ay', Buffer.from(bytes)),
      ]),
    );
  }
  set(changes: Partial<Pick<Device, 'Connected' | 'ServicesResolved' | 'RSSI'>>) {
    Object.assign(this, changes);
    Interface.emitPropertiesChanged(this, changes, []);
  }
  async Connect() {
    await this.radio.connect(this.entry);
  }
  async Disconnect() {
    this.radio.disconnect(this.entry);
  }
  Pair() {
    this.Paired = true;
  }
  CancelPair() {}
}
Device.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's', access: 'read' },
    RSSI: { signature: 'n', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
    ServiceData: { signature: 'a{sv}', access: 'read' },
    Connected: { signature: 'b', access: 'read' },
    ServicesResolved: { signature: 'b', access: 'read' },
    Paired: { signature: 'b', access: 'read' },
  },
  methods: { Connect: {}, Disconnect: {}, Pair: {}, CancelPair: {} },
});

class GattService extends Interface {
  UUID: string;
  Primary = true;
  Device: string;
  constructor(uuid: string, devicePath: string) {
    super('org.bluez.GattService1');
    this.UUID = uuid;
    this.Device = devicePath;
  }
}
GattService.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Primary: { signature: 'b', access: 'read' },
    Device: { signature: 'o', access: 'read' },
  },
});

class GattCharacteristic extends Interface {
  UUID: string;
  Service: string;
  Flags: string[];
  Value: Buffer = Buffer.alloc(0);
  Notifying = false;
  constructor(
    private readonly spec: FakeCharacteristic,
    servicePath: string,
    private readonly entry: DeviceEntry,
  ) {
    super('org.bluez.GattCharacteristic1');
    this.UUID = spec.uuid;
    this.Service = servicePath;
    this.Flags = spec.flags;
  }
  async ReadValue(): Promise<Buffer> {
    if (!this.entry.device.Connected) throw new BluezError('Failed', 'Not connected');
    if (!this.spec.read) throw new BluezError('NotPermitted', 'Read not permitted');
    return Buffer.from(await this.spec.read());
  }
  async WriteValue(value: Buffer) {
    if (!this.entry.device.Connected) throw new BluezError('Failed', 'Not connected');
    if (!this.spec.write) throw new BluezError('NotPermitted', 'Write not permitted');
    // The default ATT MTU (23) leaves 20 bytes per write; a real link refuses more.
    if (value.length > this.entry.mtu - 3)
      throw new BluezError('InvalidValueLength', `Invalid Length: ${value.length} > ${this.entry.mtu - 3}`);
    await this.spec.write(new Uint8Array(value));
  }
  StartNotify() {
    if (!this.spec.flags.includes('notify')) throw new BluezError('NotSupported', 'Notify not supported');
    this.Notifying = true;
    Interface.emitPropertiesChanged(this, { Notifying: true }, []);
  }
  StopNotify() {
    this.Notifying = false;
    Interface.emitPropertiesChanged(this, { Notifying: false }, []);
  }
  notify(value: Uint8Array) {
    this.Value = Buffer.from(value);
    if (this.Notifying) Interface.emitPropertiesChanged(this, { Value: this.Value }, []);
  }
}
GattCharacteristic.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Service: { signature: 'o', access: 'read' },
    Flags: { signature: 'as', access: 'read' },
    Value: { signature: 'ay', access: 'read' },
    Notifying: { signature: 'b', access: 'read' },
  },
  methods: {
    ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
    WriteValue: { inSignature: 'aya{sv}' },
    StartNotify: {},
    StopNotify: {},
  },
});

interface DeviceEntry {
  peripheral: FakePeripheral;
  path: string;
  device: Device;
  mtu: number;
  gatt: { path: string; iface: InstanceType<typeof Interface> }[];
  characteristics: Map<string, GattCharacteristic>;
  exported: boolean;
}

export interface FakeRadio {
  discoveryChanged(on: boolean): void;
  connect(entry: DeviceEntry): Promise<void>;
  disconnect(entry: DeviceEntry): void;
  removeDevicePath(path: string): void;
}

export interface FakeBluez {
  /** A peripheral in range: BlueZ shows it while discovering (and keeps it until removed). */
  add(peripheral: FakePeripheral, options?: { mtu?: number }): void;
  /** Out of range: its connection drops and its object goes. */
  remove(address: string): void;
  /** How many connections were made so far (each Connect that succeeded). */
  connections(): number;
  stop(): Promise<void>;
}

const devicePath = (address: string) => `/org/bluez/hci0/dev_${address.replace(/:/g, '_').toUpperCase()}`;

export async function startFakeBluez(busAddress: string): Promise<FakeBluez> {
  const bus = dbus.sessionBus({ busAddress });
  await bus.requestName('org.bluez', 0);
  const entries = new Map<string, DeviceEntry>();
  let discovering = false;
  let connections = 0;

  const exportDevice = (entry: DeviceEntry) => {
    if (entry.exported) return;
    bus.export(entry.path, entry.device);
    entry.exported = true;
  };

  const unexportGatt = (entry: DeviceEntry) => {
    for (const { path, iface } of entry.gatt) bus.unexport(path, iface);
    entry.gatt = [];
    entry.characteristics.clear();
  };

  const radio: FakeRadio = {
    discoveryChanged(on) {
      discovering = on;
      if (on) for (const entry of entries.values()) exportDevice(entry);
    },
    async connect(entry) {
      if (entry.device.Connected) return;
      const outcome = entry.peripheral.onConnect?.();
      connections += 1;
      entry.device.set({ Connected: true });
      if (outcome?.resolve === false) return;
      entry.peripheral.services.forEach((service, s) => {
        const servicePath = `${entry.path}/service${(s + 1).toString(16).padStart(4, '0')}`;
        const serviceIface = new GattService(service.uuid, entry.path);
        bus.export(servicePath, serviceIface);
        entry.gatt.push({ path: servicePath, iface: serviceIface });
        service.characteristics.forEach((spec, c) => {
          const charPath = `${servicePath}/char${(c + 1).toString(16).padStart(4, '0')}`;
          const charIface = new GattCharacteristic(spec, servicePath, entry);
          bus.export(charPath, charIface);
          entry.gatt.push({ path: charPath, iface: charIface });
          entry.characteristics.set(spec.uuid, charIface);
        });
      });
      entry.device.set({ ServicesResolved: true });
    },
    disconnect(entry) {
      if (!entry.device.Connected) return;
      entry.device.set({ ServicesResolved: false, Connected: false });
      unexportGatt(entry);
      entry.peripheral.onDisconnect?.();
    },
    removeDevicePath(path) {
      const entry = [...entries.values()].find((e) => e.path === path);
      if (!entry) throw new BluezError('DoesNotExist', 'Does Not Exist');
      radio.disconnect(entry);
      bus.unexport(entry.path, entry.device);
      entry.exported = false;
    },
  };

  bus.export('/org/bluez', new AgentManager('org.bluez.AgentManager1'));
  bus.export('/org/bluez/hci0', new Adapter(radio));

  return {
    add(peripheral, options = {}) {
      const path = devicePath(peripheral.address);
      const entry: DeviceEntry = {
        peripheral,
        path,
        device: undefined as unknown as Device,
        mtu: options.mtu ?? 23,
        gatt: [],
        characteristics: new Map(),
        exported: false,
      };
      entry.device = new Device(entry, radio);
      entries.set(peripheral.address, entry);
      peripheral.attach?.({
        notify: (uuid, value) => entry.characteristics.get(uuid)?.notify(value),
        drop: () => radio.disconnect(entry),
        connected: () => entry.device.Connected,
      });
      if (discovering) exportDevice(entry);
    },
    remove(address) {
      const entry = entries.get(address);
      if (!entry) return;
      radio.disconnect(entry);
      if (entry.exported) bus.unexport(entry.path, entry.device);
      entries.delete(address);
    },
    connections: () => connections,
    async stop() {
      bus.disconnect();
    },
  };
}
