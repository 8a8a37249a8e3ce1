/**
 * A camera whose BLE protocol engine is the firmware's own C++ core (firmware/lib/hearth_core, built
 * for the host as firmware/test/host/build/ble-engine): the fake radio forwards every GATT write and
 * read to that process, one line each, and turns its notifications into PropertiesChanged signals. So
 * the hub and the firmware core are tested against each other end to end, without a radio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Enrolment } from '../../protocol/compact.js';
import { fromHex, toHex } from '../../protocol/compact.js';
import { HEARTH_CHARACTERISTICS, HEARTH_SERVICE } from '../../protocol/hearth-gatt.js';
import { IMPROV_CHARACTERISTICS, IMPROV_SERVICE } from '../../protocol/improv.js';
import { FIRMWARE_HOST_DIR, firmwareHostProgram } from '../firmware-host.js';
import { BluezError, type FakePeripheral, type PeripheralLink } from './fake-bluez.js';

export const ENGINE = path.join(FIRMWARE_HOST_DIR, 'build', 'ble-engine');

/** Builds the engine (make keeps it when it is up to date). */
export function buildFirmwareEngine(): void {
  firmwareHostProgram('ble-engine');
}

const NAMES: Record<string, string> = {
  [IMPROV_CHARACTERISTICS.state]: 'improv-state',
  [IMPROV_CHARACTERISTICS.error]: 'improv-error',
  [IMPROV_CHARACTERISTICS.rpcCommand]: 'improv-rpc',
  [IMPROV_CHARACTERISTICS.rpcResult]: 'improv-result',
  [IMPROV_CHARACTERISTICS.capabilities]: 'improv-capabilities',
  [HEARTH_CHARACTERISTICS.enrolment]: 'enrolment',
  [HEARTH_CHARACTERISTICS.command]: 'command',
  [HEARTH_CHARACTERISTICS.settings]: 'settings',
  [HEARTH_CHARACTERISTICS.status]: 'status',
};
const UUIDS = Object.fromEntries(Object.entries(NAMES).map(([uuid, name]) => [name, uuid]));

export class FirmwareCamera {
  readonly peripheral: FakePeripheral;
  readonly enrolments: Enrolment[] = [];
  private readonly engine: ChildProcess;
  private link: PeripheralLink | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: { lines: string[]; resolve: (lines: string[]) => void } | undefined;

  constructor(options: {
    address: string;
    network: { ssid: string; password: string };
    requireAuthorization?: boolean;
    onEnrolled?: (enrolment: Enrolment) => void;
  }) {
    this.engine = spawn(
      ENGINE,
      [
        '--ssid',
        options.network.ssid,
        '--password',
        options.network.password,
        ...(options.requireAuthorization ? ['--require-authorization'] : []),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    createInterface({ input: this.engine.stdout! }).on('line', (line) => {
      if (!this.pending) return;
      if (line !== 'end') {
        this.pending.lines.push(line);
        return;
      }
      const { lines, resolve } = this.pending;
      this.pending = undefined;
      for (const entry of lines) {
        const [kind, a, b, c, d] = entry.split(' ');
        if (kind === 'notify' && a && b)
          this.link?.notify(UUIDS[a]!, b === '-' ? new Uint8Array(0) : fromHex(b));
        if (kind === 'enrolled' && a && b && c) {
          const enrolment: Enrolment = {
            hubUrl: a,
            deviceToken: c,
            ...(b !== '-' ? { hubAddressUrl: b } : {}),
            ...(d && d !== '-' ? { signingKey: d } : {}),
          };
          this.enrolments.push(enrolment);
          options.onEnrolled?.(enrolment);
        }
      }
      resolve(lines);
    });
    const characteristic = (uuid: string, flags: string[]) => ({
      uuid,
      flags,
      ...(flags.includes('read') ? { read: () => this.read(uuid) } : {}),
      ...(flags.some((f) => f.endsWith('write'))
        ? { write: (value: Uint8Array) => this.write(uuid, value) }
        : {}),
    });
    this.peripheral = {
      address: options.address,
      name: 'ESP32-CAM',
      rssi: -55,
      uuids: [IMPROV_SERVICE, HEARTH_SERVICE],
      serviceData: {},
      services: [
        {
          uuid: IMPROV_SERVICE,
          characteristics: [
            characteristic(IMPROV_CHARACTERISTICS.state, ['read', 'notify']),
            characteristic(IMPROV_CHARACTERISTICS.error, ['read', 'notify']),
            characteristic(IMPROV_CHARACTERISTICS.rpcCommand, ['write']),
            characteristic(IMPROV_CHARACTERISTICS.rpcResult, ['read', 'notify']),
            characteristic(IMPROV_CHARACTERISTICS.capabilities, ['read']),
          ],
        },
        {
          uuid: HEARTH_SERVICE,
          characteristics: [
            characteristic(HEARTH_CHARACTERISTICS.enrolment, ['encrypt-write']),
            characteristic(HEARTH_CHARACTERISTICS.command, ['write']),
            characteristic(HEARTH_CHARACTERISTICS.settings, ['read', 'write']),
            characteristic(HEARTH_CHARACTERISTICS.status, ['read', 'notify']),
          ],
        },
      ],
      attach: (link) => {
        this.link = link;
      },
    };
  }

  /** One request at a time, as GATT operations on one link are. */
  private request(line: string): Promise<string[]> {
    const run = this.queue.then(
      () =>
        new Promise<string[]>((resolve) => {
          this.pending = { lines: [], resolve };
          this.engine.stdin!.write(`${line}\n`);
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(uuid: string, value: Uint8Array): Promise<void> {
    const [ack] = await this.request(`write ${NAMES[uuid]} ${value.length ? toHex(value) : '-'}`);
    const code = Number(ack?.split(' ')[1]);
    if (code !== 0)
      throw new BluezError('Failed', `Application error 0x${code.toString(16).padStart(2, '0')}`);
  }

  private async read(uuid: string): Promise<Uint8Array> {
    const [answer] = await this.request(`read ${NAMES[uuid]}`);
    const [, code, hex] = answer?.split(' ') ?? [];
    if (code !== '0') throw new BluezError('NotPermitted', `Read refused (0x${Number(code).toString(16)})`);
    return hex === '-' || !hex ? new Uint8Array(0) : fromHex(hex);
  }

  async pressButton(): Promise<void> {
    await this.request('button');
  }

  async stop(): Promise<void> {
    if (this.engine.exitCode !== null) return;
    const exited = new Promise((resolve) => this.engine.once('exit', resolve));
    this.engine.stdin!.end();
    await exited;
  }
}
