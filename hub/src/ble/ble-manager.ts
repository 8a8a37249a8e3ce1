import { setTimeout as sleep } from 'node:timers/promises';
import { createBluetooth } from 'node-ble';
import { backoffDelay } from '../jobs/queue.js';
import type { Logger } from '../log/logger.js';
import { HEARTH_SERVICE } from '../protocol/hearth-gatt.js';
import { IMPROV_SERVICE, IMPROV_SERVICE_DATA_UUID, stateName } from '../protocol/improv.js';

type Bluetooth = ReturnType<typeof createBluetooth>['bluetooth'];
type Adapter = Awaited<ReturnType<Bluetooth['defaultAdapter']>>;
type Device = Awaited<ReturnType<Adapter['getDevice']>>;
type Characteristic = Awaited<
  ReturnType<
    Awaited<ReturnType<Awaited<ReturnType<Device['gatt']>>['getPrimaryService']>>['getCharacteristic']
  >
>;

export class BleError extends Error {
  override name = 'BleError';
  constructor(
    readonly code: 'unavailable' | 'timeout' | 'not_found' | 'disconnected' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

export interface BleTimeouts {
  connectMs: number;
  /** Services resolved after connecting (node-ble's gatt() has no timeout of its own). */
  servicesMs: number;
  /** One read, write or notification start. */
  operationMs: number;
  /** How long to look for a camera BlueZ does not know before saying it is not in range. */
  discoverMs: number;
}

const DEFAULT_TIMEOUTS: BleTimeouts = {
  connectMs: 10_000,
  servicesMs: 10_000,
  operationMs: 5_000,
  discoverMs: 8_000,
};
/** BlueZ's words for a connection attempt the radio gave up on; worth another try. */
const TRANSIENT =
  /le-connection-abort-by-local|Software caused connection abort|Operation already in progress|In Progress/i;

export interface ScannedCamera {
  address: string;
  name: string;
  rssi: number | null;
  /** Improv state from the advertisement, when it carries one. */
  improv: string | null;
  hearth: boolean;
}

export type BleStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: string }
  | { state: 'unavailable'; reason: string };

/** One connected camera, for the duration of a `withLink` call. */
export interface BleLink {
  address: string;
  read(service: string, characteristic: string): Promise<Uint8Array>;
  write(service: string, characteristic: string, value: Uint8Array): Promise<void>;
  /** Notifications until the link ends (listeners are removed then, and on `unsubscribe`). */
  subscribe(
    service: string,
    characteristic: string,
    listener: (value: Uint8Array) => void,
  ): Promise<() => Promise<void>>;
  /** Rejects when the camera drops the connection; for racing waits against. */
  readonly dropped: Promise<never>;
  isConnected(): boolean;
}

export async function withTimeout<T>(step: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BleError('timeout', `${step} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** node-ble keeps PropertiesChanged listeners on its internal helpers; this is the one way to drop them. */
function removeHelperListeners(object: unknown): void {
  (object as { helper?: { removeListeners?: () => void } }).helper?.removeListeners?.();
}

/**
 * gatt() reads the UUID of every characteristic, which subscribes each one to property changes on
 * the bus (node-ble #12, #29, #76): without this, every connection leaves one listener per
 * characteristic behind.
 */
function releaseGatt(server: unknown): void {
  const services = (server as { _services?: Record<string, unknown> })._services ?? {};
  for (const service of Object.values(services)) {
    const characteristics =
      (service as { _characteristics?: Record<string, unknown> })._characteristics ?? {};
    for (const characteristic of Object.values(characteristics)) {
      removeHelperListeners(characteristic);
      (characteristic as NodeJS.EventEmitter).removeAllListeners();
    }
    removeHelperListeners(service);
  }
  removeHelperListeners(server);
}

/**
 * The hub's one owner of the Bluetooth adapter. BlueZ misbehaves with concurrent connects, so every
 * operation (scan, a whole session with one camera) runs after the previous one; every step has a
 * timeout; connection aborts are retried with backoff; listeners are removed when a link ends. With
 * no D-Bus, no BlueZ or no adapter the manager says `unavailable` and the rest of the hub carries on.
 */
export function createBleManager(deps: {
  log: Logger;
  /** false: the owner turned Bluetooth off in the config; the manager says so and never opens D-Bus. */
  enabled?: boolean;
  timeouts?: Partial<BleTimeouts>;
  connectAttempts?: number;
}) {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const connectAttempts = deps.connectAttempts ?? 3;
  let status: BleStatus = { state: 'starting' };
  let session: { bluetooth: Bluetooth; destroy: () => void; adapter: Adapter } | null = null;
  let tail: Promise<unknown> = Promise.resolve();

  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  }

  async function adapter(): Promise<Adapter> {
    if (session) return session.adapter;
    if (deps.enabled === false) {
      status = { state: 'unavailable', reason: 'turned off in the configuration (ble.enabled)' };
      throw new BleError('unavailable', 'Bluetooth is turned off in the configuration (ble.enabled).');
    }
    let created: ReturnType<typeof createBluetooth> | undefined;
    try {
      created = createBluetooth();
      // A bus that cannot be reached reports through 'error' (unheard, that would end the process),
      // while the calls made on it just wait: the first error is the answer.
      const busFailed = new Promise<never>((_, reject) => {
        (created!.bluetooth as unknown as { dbus: NodeJS.EventEmitter }).dbus.on('error', (error: Error) => {
          deps.log.debug({ err: error }, 'D-Bus connection error');
          reject(error);
        });
      });
      busFailed.catch(() => undefined);
      const found = await withTimeout(
        'finding the Bluetooth adapter',
        3000,
        Promise.race([created.bluetooth.defaultAdapter(), busFailed]),
      );
      const name = await withTimeout('reading the adapter', 3000, found.getName());
      session = { ...created, adapter: found };
      status = { state: 'ready', adapter: name };
      return found;
    } catch (error) {
      created?.destroy();
      const reason = (error as Error).message;
      status = { state: 'unavailable', reason };
      throw new BleError('unavailable', `Bluetooth is not available: ${reason}`);
    }
  }

  async function scanOnce(durationMs: number): Promise<ScannedCamera[]> {
    const found = await adapter();
    if (!(await found.isDiscovering()))
      await withTimeout('starting discovery', timeouts.operationMs, found.startDiscovery());
    try {
      await sleep(durationMs);
      const cameras: ScannedCamera[] = [];
      for (const address of await found.devices()) {
        const device = await found.getDevice(address);
        try {
          const helper = (device as unknown as { helper: { props(): Promise<Record<string, unknown>> } })
            .helper;
          const props = await withTimeout('reading a device', timeouts.operationMs, helper.props());
          const uuids = ((props.UUIDs as string[] | undefined) ?? []).map((u) => u.toLowerCase());
          const improvData = Object.entries(
            (props.ServiceData as Record<string, { value: Buffer }>) ?? {},
          ).find(([uuid]) =>
            uuid.toLowerCase().startsWith(`0000${IMPROV_SERVICE_DATA_UUID.toString(16)}`),
          )?.[1]?.value;
          const improv = uuids.includes(IMPROV_SERVICE);
          const hearth = uuids.includes(HEARTH_SERVICE);
          if (!improv && !hearth && !improvData) continue;
          cameras.push({
            address,
            name: String(props.Alias ?? props.Name ?? address),
            rssi: typeof props.RSSI === 'number' ? props.RSSI : null,
            improv: improvData?.length ? stateName(improvData[0]!) : improv ? 'unknown' : null,
            hearth,
          });
        } finally {
          removeHelperListeners(device);
        }
      }
      return cameras.sort((a, b) => (b.rssi ?? -999) - (a.rssi ?? -999));
    } finally {
      await withTimeout('stopping discovery', timeouts.operationMs, found.stopDiscovery()).catch(
        () => undefined,
      );
    }
  }

  /** The device object, discovering for a while when BlueZ does not know it (yet, or any more). */
  async function findDevice(found: Adapter, address: string): Promise<Device> {
    const known = await found.getDevice(address).catch(() => null);
    if (known) return known;
    const discovering = await found.isDiscovering();
    if (!discovering) await withTimeout('starting discovery', timeouts.operationMs, found.startDiscovery());
    try {
      const deadline = Date.now() + timeouts.discoverMs;
      while (Date.now() < deadline) {
        await sleep(100);
        const device = await found.getDevice(address).catch(() => null);
        if (device) return device;
      }
      throw new BleError(
        'not_found',
        `No camera ${address} in range (bring it closer to the hub and scan again).`,
      );
    } finally {
      if (!discovering) await found.stopDiscovery().catch(() => undefined);
    }
  }

  async function connect(found: Adapter, address: string): Promise<Device> {
    for (let attempt = 1; ; attempt++) {
      const device = await findDevice(found, address);
      try {
        await withTimeout('connecting', timeouts.connectMs, device.connect());
        return device;
      } catch (error) {
        removeHelperListeners(device);
        device.removeAllListeners();
        const message = (error as Error).message;
        if (attempt >= connectAttempts || !TRANSIENT.test(message)) {
          if (error instanceof BleError) throw error;
          throw new BleError('failed', `Connecting to ${address} failed: ${message}`);
        }
        deps.log.info({ address, attempt, err: message }, 'BLE connect aborted; retrying');
        await sleep(backoffDelay(attempt, 250, 4000));
      }
    }
  }

  async function session_<T>(address: string, work: (link: BleLink) => Promise<T>): Promise<T> {
    const found = await adapter();
    const device = await connect(found, address);
    const characteristics = new Map<string, Characteristic>();
    const subscribed = new Set<Characteristic>();
    let connected = true;
    let rejectDropped: (error: Error) => void = () => {};
    const dropped = new Promise<never>((_, reject) => {
      rejectDropped = reject;
    });
    dropped.catch(() => undefined);
    device.on('disconnect', () => {
      connected = false;
      rejectDropped(new BleError('disconnected', `${address} dropped the connection`));
    });
    let server: Awaited<ReturnType<Device['gatt']>> | undefined;
    try {
      server = await withTimeout('resolving the camera’s services', timeouts.servicesMs, device.gatt());
      const gatt = server;
      const characteristic = async (service: string, uuid: string) => {
        const key = `${service}/${uuid}`;
        const known = characteristics.get(key);
        if (known) return known;
        const found = await (
          await gatt.getPrimaryService(service).catch(() => {
            throw new BleError('failed', `${address} has no service ${service}`);
          })
        )
          .getCharacteristic(uuid)
          .catch(() => {
            throw new BleError('failed', `${address} has no characteristic ${uuid}`);
          });
        characteristics.set(key, found);
        return found;
      };
      const guard = async <R>(step: string, work: Promise<R>): Promise<R> => {
        if (!connected) throw new BleError('disconnected', `${address} is not connected`);
        try {
          return await Promise.race([withTimeout(step, timeouts.operationMs, work), dropped]);
        } catch (error) {
          if (error instanceof BleError) throw error;
          if (!connected)
            throw new BleError('disconnected', `${address} dropped the connection during ${step}`);
          throw new BleError('failed', `${step} failed: ${(error as Error).message}`);
        }
      };
      const link: BleLink = {
        address,
        dropped,
        isConnected: () => connected,
        async read(service, uuid) {
          const c = await characteristic(service, uuid);
          return new Uint8Array(await guard(`reading ${uuid}`, c.readValue()));
        },
        async write(service, uuid, value) {
          const c = await characteristic(service, uuid);
          await guard(`writing ${uuid}`, c.writeValue(Buffer.from(value), { type: 'request' }));
        },
        async subscribe(service, uuid, listener) {
          const c = await characteristic(service, uuid);
          const forward = (value: Buffer) => listener(new Uint8Array(value));
          c.on('valuechanged', forward);
          if (!subscribed.has(c)) {
            await guard(`subscribing to ${uuid}`, c.startNotifications());
            subscribed.add(c);
          }
          return async () => {
            c.off('valuechanged', forward);
          };
        },
      };
      return await work(link);
    } finally {
      for (const c of subscribed) {
        if (connected)
          await withTimeout('stopping notifications', timeouts.operationMs, c.stopNotifications()).catch(
            () => undefined,
          );
        removeHelperListeners(c);
        c.removeAllListeners();
      }
      if (connected)
        await withTimeout('disconnecting', timeouts.operationMs, device.disconnect()).catch(() => undefined);
      if (server) releaseGatt(server);
      removeHelperListeners(device);
      device.removeAllListeners();
    }
  }

  return {
    status: (): BleStatus => status,
    /** Finds out whether there is an adapter (at start-up; never throws). */
    async probe(): Promise<BleStatus> {
      await exclusive(() => adapter()).catch(() => undefined);
      return status;
    },
    /** Cameras advertising Improv and/or the Hearth service, strongest signal first. */
    scan(durationMs = 4000): Promise<ScannedCamera[]> {
      return exclusive(() => scanOnce(durationMs));
    },
    /** Connects to one camera and runs `work` with the link; nothing else uses the adapter meanwhile. */
    withLink<T>(address: string, work: (link: BleLink) => Promise<T>): Promise<T> {
      return exclusive(() => session_(address, work));
    },
    /** Signal listeners the D-Bus connection holds (for leak checks). */
    signalListeners(): number {
      const signals = (session?.bluetooth as unknown as { dbus?: { _signals?: NodeJS.EventEmitter } })?.dbus
        ?._signals;
      if (!signals) return 0;
      return signals.eventNames().reduce((sum, name) => sum + signals.listenerCount(name), 0);
    },
    /** Closes the D-Bus connection; a link in progress fails at its next step (callers clean up). */
    async stop(): Promise<void> {
      session?.destroy();
      session = null;
      status = { state: 'unavailable', reason: 'stopped' };
    },
  };
}

export type BleManager = ReturnType<typeof createBleManager>;
