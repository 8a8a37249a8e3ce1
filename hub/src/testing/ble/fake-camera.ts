/**
 * A battery ESP32-CAM as the fake radio sees it: Improv Wi-Fi and the Hearth camera service, parsed
 * and answered with the same codecs the shared vectors check (docs/protocol-vectors.json), and told
 * to misbehave the ways real cameras and radios do. After enrolment it can start a virtual camera that
 * uploads to the hub with the token it was given over BLE, as the firmware would.
 */
import { ChunkError, ChunkJoiner, chunk } from '../../protocol/ble-chunks.js';
import {
  type CameraSettings,
  type CameraStatusReport,
  CompactError,
  decodeCommands,
  decodeEnrolment,
  decodeSettings,
  type Enrolment,
  encodeSettings,
  encodeStatus,
} from '../../protocol/compact.js';
import { HEARTH_CHARACTERISTICS, HEARTH_SERVICE } from '../../protocol/hearth-gatt.js';
import {
  decodeImprovRequest,
  encodeImprovResult,
  IMPROV_CHARACTERISTICS,
  IMPROV_SERVICE,
  ImprovFrameError,
  ImprovReassembler,
  type ImprovRequest,
  splitWrites,
} from '../../protocol/improv.js';
import { BluezError, type FakePeripheral, type PeripheralLink } from './fake-bluez.js';

export interface Misbehaviour {
  /** Connects but never reports its services resolved (node-ble's gatt() would wait forever). */
  neverResolveServices?: boolean;
  /** The link drops in the middle of the Nth write to any characteristic (1-based). */
  dropOnWrite?: number;
  /** RPC results carry a wrong checksum. */
  badChecksum?: boolean;
  /** Refuses connections with BlueZ's `le-connection-abort-by-local` this many times first. */
  abortConnects?: number;
}

export interface FakeCameraOptions {
  address: string;
  name?: string;
  rssi?: number;
  /** The household network it can join: a wrong password gets Improv error 03. */
  network: { ssid: string; password: string };
  /** Improv starts in "authorization required" until `pressButton()`. */
  requireAuthorization?: boolean;
  misbehave?: Misbehaviour;
  /** Milliseconds between receiving Wi-Fi settings and being provisioned (or failing). */
  joinDelayMs?: number;
  /** Called when the hub has enrolled it (hub URL and token over the Hearth service). */
  onEnrolled?: (enrolment: Enrolment) => void;
}

const STATE = { authorization_required: 1, authorized: 2, provisioning: 3, provisioned: 4 } as const;
const ERROR = { none: 0, invalid_rpc: 1, unknown_rpc: 2, unable_to_connect: 3, not_authorized: 4 } as const;

export class FakeCamera {
  readonly peripheral: FakePeripheral;
  improvState: number;
  improvError: number = ERROR.none;
  identifies = 0;
  enrolment: Enrolment | null = null;
  settings: CameraSettings = { settingsVersion: 0, frameSize: 'VGA', jpegQuality: 12, burstLength: 3 };
  commands: number[] = [];
  writes = 0;
  private link: PeripheralLink | undefined;
  private lastResult: Uint8Array = new Uint8Array(0);
  private readonly improvIn = new ImprovReassembler();
  private readonly hearthIn = new Map<string, ChunkJoiner>();
  private aborts: number;

  constructor(private readonly options: FakeCameraOptions) {
    this.improvState = options.requireAuthorization ? STATE.authorization_required : STATE.authorized;
    this.aborts = options.misbehave?.abortConnects ?? 0;
    this.peripheral = {
      address: options.address,
      name: options.name ?? 'Hearth Camera',
      rssi: options.rssi ?? -60,
      uuids: [IMPROV_SERVICE, HEARTH_SERVICE],
      serviceData: {
        '00004677-0000-1000-8000-00805f9b34fb': Uint8Array.from([this.improvState, 1, 0, 0, 0, 0]),
      },
      services: [
        {
          uuid: IMPROV_SERVICE,
          characteristics: [
            {
              uuid: IMPROV_CHARACTERISTICS.state,
              flags: ['read', 'notify'],
              read: () => Uint8Array.of(this.improvState),
            },
            {
              uuid: IMPROV_CHARACTERISTICS.error,
              flags: ['read', 'notify'],
              read: () => Uint8Array.of(this.improvError),
            },
            {
              uuid: IMPROV_CHARACTERISTICS.rpcCommand,
              flags: ['write'],
              write: (value) => this.onWrite(() => this.onImprovWrite(value)),
            },
            {
              uuid: IMPROV_CHARACTERISTICS.rpcResult,
              flags: ['read', 'notify'],
              read: () => this.lastResult,
            },
            { uuid: IMPROV_CHARACTERISTICS.capabilities, flags: ['read'], read: () => Uint8Array.of(1) },
          ],
        },
        {
          uuid: HEARTH_SERVICE,
          characteristics: [
            {
              uuid: HEARTH_CHARACTERISTICS.enrolment,
              flags: ['encrypt-write'],
              write: (value) =>
                this.onWrite(() => this.onHearthWrite(HEARTH_CHARACTERISTICS.enrolment, value)),
            },
            {
              uuid: HEARTH_CHARACTERISTICS.command,
              flags: ['write'],
              write: (value) => this.onWrite(() => this.onHearthWrite(HEARTH_CHARACTERISTICS.command, value)),
            },
            {
              uuid: HEARTH_CHARACTERISTICS.settings,
              flags: ['read', 'write'],
              read: () => encodeSettings(this.settings),
              write: (value) =>
                this.onWrite(() => this.onHearthWrite(HEARTH_CHARACTERISTICS.settings, value)),
            },
            {
              uuid: HEARTH_CHARACTERISTICS.status,
              flags: ['read', 'notify'],
              read: () => encodeStatus(this.status()),
            },
          ],
        },
      ],
      onConnect: () => {
        if (this.aborts > 0) {
          this.aborts -= 1;
          throw new BluezError('Failed', 'le-connection-abort-by-local');
        }
        return { resolve: !options.misbehave?.neverResolveServices };
      },
      onDisconnect: () => {
        this.improvIn.reset();
        for (const joiner of this.hearthIn.values()) joiner.reset();
      },
      attach: (link) => {
        this.link = link;
      },
    };
  }

  /** The person at the camera presses its button: Improv authorizes the next Wi-Fi settings. */
  pressButton(): void {
    if (this.improvState !== STATE.authorization_required) return;
    this.setImprovState(STATE.authorized);
  }

  status(): CameraStatusReport {
    return {
      settingsVersion: this.settings.settingsVersion ?? 0,
      batteryMv: 3950,
      rssi: -58,
      firmware: '0.3.1',
      wifiState: this.improvState === STATE.provisioned ? 'connected' : 'unprovisioned',
      lastUpload: 0,
      freeHeap: 180_000,
      lastCommandId: this.commands.at(-1) ?? 0,
      enrolled: this.enrolment !== null,
    };
  }

  private onWrite(handle: () => void): void {
    this.writes += 1;
    if (this.options.misbehave?.dropOnWrite === this.writes) {
      this.link?.drop();
      throw new BluezError('Failed', 'Not connected');
    }
    handle();
  }

  private setImprovState(state: number): void {
    this.improvState = state;
    this.link?.notify(IMPROV_CHARACTERISTICS.state, Uint8Array.of(state));
  }

  private setImprovError(error: number): void {
    this.improvError = error;
    this.link?.notify(IMPROV_CHARACTERISTICS.error, Uint8Array.of(error));
  }

  private sendResult(command: ImprovRequest['command'], strings: string[]): void {
    const frame = encodeImprovResult({ command, strings });
    if (this.options.misbehave?.badChecksum) frame[frame.length - 1] = (frame[frame.length - 1]! + 1) & 0xff;
    this.lastResult = frame;
    // A result longer than one notification goes out in pieces, as the firmware sends it.
    for (const piece of splitWrites(frame)) this.link?.notify(IMPROV_CHARACTERISTICS.rpcResult, piece);
  }

  private onImprovWrite(value: Uint8Array): void {
    let frame: Uint8Array | null;
    let request: ImprovRequest;
    try {
      frame = this.improvIn.push(value);
      if (!frame) return;
      request = decodeImprovRequest(frame);
    } catch (error) {
      const unknown = error instanceof ImprovFrameError && error.message.startsWith('unknown RPC');
      this.setImprovError(unknown ? ERROR.unknown_rpc : ERROR.invalid_rpc);
      return;
    }
    this.setImprovError(ERROR.none);
    switch (request.command) {
      case 'identify':
        this.identifies += 1;
        return;
      case 'device_info':
        this.sendResult('device_info', ['Hearth Camera', '0.3.1', 'ESP32', this.peripheral.name]);
        return;
      case 'scan_networks':
        this.sendResult('scan_networks', [this.options.network.ssid, '-52', 'YES']);
        this.sendResult('scan_networks', []);
        return;
      case 'wifi_settings': {
        if (this.improvState === STATE.authorization_required) {
          this.setImprovError(ERROR.not_authorized);
          return;
        }
        this.setImprovState(STATE.provisioning);
        const { ssid, password } = request;
        setTimeout(() => {
          const { network } = this.options;
          if (ssid === network.ssid && password === network.password) {
            this.setImprovState(STATE.provisioned);
            this.sendResult('wifi_settings', ['http://192.168.1.50']);
          } else {
            this.setImprovError(ERROR.unable_to_connect);
            this.setImprovState(STATE.authorized);
          }
        }, this.options.joinDelayMs ?? 50);
      }
    }
  }

  private onHearthWrite(uuid: string, value: Uint8Array): void {
    const joiner = this.hearthIn.get(uuid) ?? new ChunkJoiner();
    this.hearthIn.set(uuid, joiner);
    let message: Uint8Array | null;
    try {
      message = joiner.push(value);
    } catch (error) {
      if (error instanceof ChunkError)
        throw new BluezError('Failed', `Application error 0x80: ${error.message}`);
      throw error;
    }
    if (!message) return;
    try {
      if (uuid === HEARTH_CHARACTERISTICS.enrolment) {
        this.enrolment = decodeEnrolment(message);
        this.options.onEnrolled?.(this.enrolment);
      } else if (uuid === HEARTH_CHARACTERISTICS.command) {
        for (const command of decodeCommands(message)) {
          if (this.commands.includes(command.id)) continue;
          this.commands.push(command.id);
          if (command.kind === 'factory_reset') {
            this.enrolment = null;
            this.improvState = this.options.requireAuthorization
              ? STATE.authorization_required
              : STATE.authorized;
          }
        }
      } else if (uuid === HEARTH_CHARACTERISTICS.settings) {
        this.settings = { ...this.settings, ...decodeSettings(message) };
      }
    } catch (error) {
      if (error instanceof CompactError)
        throw new BluezError('Failed', `Application error 0x82: ${error.message}`);
      throw error;
    }
    this.notifyStatus();
  }

  notifyStatus(): void {
    for (const piece of chunk(encodeStatus(this.status())))
      this.link?.notify(HEARTH_CHARACTERISTICS.status, piece);
  }
}
