import { desc, eq, inArray } from 'drizzle-orm';
import type { CameraService } from '../cameras/cameras.service.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { DeviceService } from '../devices/devices.service.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import { type AdoptionState, bleAdoptions } from './ble.schema.js';
import { BleError, type BleManager } from './ble-manager.js';
import { bleHardwareId } from './hardware-id.js';
import { hearthClient } from './hearth-client.js';
import { openImprov, ProvisioningError } from './improv-client.js';
import type { WifiCredentials } from './wifi-credentials.js';

export type AdoptionRow = typeof bleAdoptions.$inferSelect;

/** States in which the hub itself is talking to the camera; a restart cannot pick those up mid-step. */
const IN_FLIGHT: AdoptionState[] = ['connecting', 'waiting_for_button', 'provisioning', 'enrolling'];

export interface AdoptionTimeouts {
  /** How long the person has to press the camera's button. */
  buttonMs: number;
  /** From sending Wi-Fi settings to the camera being on the network. */
  provisionMs: number;
  /** From the enrolment to the camera's first authenticated request. */
  contactMs: number;
}

const DEFAULT_TIMEOUTS: AdoptionTimeouts = { buttonMs: 60_000, provisionMs: 30_000, contactMs: 120_000 };

export const adoptionView = (row: AdoptionRow) => ({
  id: row.id,
  address: row.address,
  name: row.name,
  cameraId: row.cameraId,
  state: row.state,
  errorCode: row.errorCode,
  error: row.error,
  deviceId: row.deviceId,
  firmware: row.firmware,
  cameraUrl: row.cameraUrl,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
export type AdoptionView = ReturnType<typeof adoptionView>;

/**
 * "Add camera" over Bluetooth: Improv to put the camera on the household Wi-Fi (asking for its button
 * when it wants one), then the Hearth service to give it the hub's address and a fresh device token,
 * then waiting for its first upload with that token. Every step is written down, so a hub restart
 * neither loses an adoption nor leaves a half-adopted device behind.
 */
export function createAdoptionService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  ble: BleManager;
  wifi: WifiCredentials;
  devices: DeviceService;
  cameras: CameraService;
  systemEvents: SystemEventService;
  /** The hub's addresses as the camera should use them (by mDNS name, and by IP). */
  hubUrls: () => { hubUrl: string; hubAddressUrl?: string };
  /** The hub's firmware-signing public key (hex): the camera installs only images it verifies. */
  signingKey: () => string;
  timeouts?: Partial<AdoptionTimeouts>;
}) {
  const { db, clock } = deps;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const running = new Set<Promise<void>>();

  function update(id: number, change: Partial<AdoptionRow>): AdoptionRow {
    const row = db
      .update(bleAdoptions)
      .set({ ...change, updatedAt: clock.now() })
      .where(eq(bleAdoptions.id, id))
      .returning()
      .get()!;
    deps.bus.publish('ble', { change: 'adoption', adoption: adoptionView(row) });
    return row;
  }

  /** Ends an adoption; a device made for it goes again (its token with it), so nothing is half-adopted. */
  function fail(row: AdoptionRow, code: string, message: string): void {
    const current = db.select().from(bleAdoptions).where(eq(bleAdoptions.id, row.id)).get() ?? row;
    const deviceId = current.deviceId ?? orphanDevice(current);
    if (deviceId !== null) {
      // The camera made with it goes too; one the household had already is never touched.
      if (deps.cameras.exists(row.cameraId) && deps.cameras.get(row.cameraId).deviceId === deviceId)
        deps.cameras.remove(row.cameraId);
      try {
        deps.devices.remove(deviceId);
      } catch {
        // Already gone.
      }
    }
    update(row.id, { state: 'failed', errorCode: code, error: message, deviceId: null });
    deps.systemEvents.record({
      kind: 'ble.adoption_failed',
      severity: 'warning',
      subject: `ble:${row.address}`,
      message: `Adding camera "${row.name}" failed: ${message}`,
      details: { name: row.name, code },
    });
  }

  /** A device created for this adoption whose id a crash kept us from writing down. */
  function orphanDevice(row: AdoptionRow): number | null {
    const device = db
      .select({ id: devices.id, createdAt: devices.createdAt })
      .from(devices)
      .where(eq(devices.hardwareId, bleHardwareId(row.address)))
      .get();
    return device && device.createdAt.getTime() >= row.createdAt ? device.id : null;
  }

  function classify(error: unknown): { code: string; message: string } {
    if (error instanceof ProvisioningError) {
      const messages: Record<string, string> = {
        unable_to_connect:
          'The camera could not join the Wi-Fi: check the password, or move it closer to the router.',
        not_authorized: 'Nobody pressed the button on the camera in time.',
        timeout: error.message,
        bad_result: error.message,
      };
      return { code: error.code, message: messages[error.code] ?? error.message };
    }
    if (error instanceof BleError) return { code: error.code, message: error.message };
    if (error instanceof AppError) return { code: error.code, message: error.message };
    return { code: 'failed', message: (error as Error).message };
  }

  async function run(row: AdoptionRow): Promise<void> {
    try {
      await deps.ble.withLink(row.address, async (link) => {
        const improv = await openImprov(link);
        const info = await improv.deviceInfo().catch(() => null);
        if (info) row = update(row.id, { firmware: `${info.firmware} ${info.version}`.trim() });
        if (improv.state() === 'authorization_required') {
          row = update(row.id, { state: 'waiting_for_button' });
          await improv.identify();
          await improv.authorized(timeouts.buttonMs);
        }
        if (improv.state() !== 'provisioned') {
          const wifi = deps.wifi.reveal();
          if (!wifi) throw new AppError(409, 'no_wifi', 'Enter the household Wi-Fi first.');
          row = update(row.id, { state: 'provisioning' });
          const urls = await improv.provision(wifi.ssid, wifi.password, timeouts.provisionMs);
          row = update(row.id, { cameraUrl: urls[0] ?? null });
        }
        row = update(row.id, { state: 'enrolling' });
        const { device, token } = deps.devices.create({
          name: row.name,
          kind: 'camera',
          hardwareId: bleHardwareId(row.address),
        });
        row = update(row.id, { deviceId: device.id });
        // The camera exists before the device calls in, so its very first upload is taken.
        deps.cameras.create({
          id: row.cameraId,
          name: row.name,
          kind: 'esp32',
          deviceId: device.id,
          powerProfile: 'battery',
          record: false,
        });
        await hearthClient.enrol(link, {
          ...deps.hubUrls(),
          deviceToken: token,
          signingKey: deps.signingKey(),
        });
        db.update(devices).set({ bleSeenAt: clock.now() }).where(eq(devices.id, device.id)).run();
        row = update(row.id, { state: 'waiting_for_contact', contactBy: clock.now() + timeouts.contactMs });
      });
      checkContact();
    } catch (error) {
      const { code, message } = classify(error);
      deps.log.info({ adoption: row.id, address: row.address, code }, 'camera adoption failed');
      try {
        fail(row, code, message);
      } catch (failure) {
        // The hub is stopping (database closed): the next start's recover() fails it cleanly.
        deps.log.warn({ adoption: row.id, err: failure }, 'could not record the failed adoption');
      }
    }
  }

  function adopted(row: AdoptionRow): void {
    update(row.id, { state: 'adopted', contactBy: null });
    deps.systemEvents.record({
      kind: 'ble.adopted',
      severity: 'info',
      subject: `camera:${row.cameraId}`,
      message: `Camera "${row.name}" added over Bluetooth.`,
      details: { name: row.name, address: row.address },
    });
  }

  /** The camera's first authenticated request ends the adoption; no request in time fails it. */
  function checkContact(): void {
    const waiting = db.select().from(bleAdoptions).where(eq(bleAdoptions.state, 'waiting_for_contact')).all();
    for (const row of waiting) {
      const device = row.deviceId
        ? db
            .select({ lastSeenAt: devices.lastSeenAt })
            .from(devices)
            .where(eq(devices.id, row.deviceId))
            .get()
        : undefined;
      if (device?.lastSeenAt) adopted(row);
      else if (!device || clock.now() > (row.contactBy ?? 0)) {
        fail(
          row,
          'no_contact',
          'The camera took its Wi-Fi and the hub address but never called in: is the hub reachable from its network?',
        );
      }
    }
  }

  return {
    /** Starts adding the camera at `address`; answers at once, the adoption goes on in the background. */
    start(input: { address: string; name: string; cameraId: string }): AdoptionView {
      if (deps.cameras.exists(input.cameraId)) throw conflict(`A camera "${input.cameraId}" exists already.`);
      if (!deps.wifi.describe().passwordSet)
        throw new AppError(409, 'no_wifi', 'Enter the household Wi-Fi first.');
      const busy = db.select().from(bleAdoptions).where(inArray(bleAdoptions.state, IN_FLIGHT)).all();
      if (busy.some((row) => row.address.toUpperCase() === input.address.toUpperCase()))
        throw conflict('That camera is being added already.');
      const now = clock.now();
      const row = db
        .insert(bleAdoptions)
        .values({
          ...input,
          address: input.address.toUpperCase(),
          state: 'connecting',
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      deps.bus.publish('ble', { change: 'adoption', adoption: adoptionView(row) });
      const work = run(row).finally(() => running.delete(work));
      running.add(work);
      return adoptionView(row);
    },
    get(id: number): AdoptionView {
      const row = db.select().from(bleAdoptions).where(eq(bleAdoptions.id, id)).get();
      if (!row) throw notFound('Adoption');
      return adoptionView(row);
    },
    list(limit = 20): AdoptionView[] {
      return db
        .select()
        .from(bleAdoptions)
        .orderBy(desc(bleAdoptions.id))
        .limit(limit)
        .all()
        .map(adoptionView);
    },
    checkContact,
    /**
     * At start-up: adoptions a stop cut off mid-conversation fail cleanly (with any device made for
     * them); those waiting for the camera's first call keep waiting.
     */
    recover(): void {
      for (const row of db.select().from(bleAdoptions).where(inArray(bleAdoptions.state, IN_FLIGHT)).all())
        fail(row, 'interrupted', 'The hub restarted while adding this camera; start again.');
      checkContact();
    },
    /** For shutdown: lets adoptions in progress end (each step has its timeout). */
    async settle(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}

export type AdoptionService = ReturnType<typeof createAdoptionService>;
