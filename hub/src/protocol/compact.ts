/**
 * The compact encoding microcontrollers read: camera settings and commands as tag-length-value records,
 * little-endian. The same bytes travel in photo-upload replies (`Accept: application/x-hearth-tlv`) and
 * over the BLE settings characteristic. Byte layout: docs/protocols.md, "Compact encoding"; test
 * vectors shared with the firmware's host tests: docs/protocol-vectors.json.
 */

export const COMPACT_MAGIC = 0x48; // 'H'
export const COMPACT_VERSION = 1;
export const COMPACT_MEDIA_TYPE = 'application/x-hearth-tlv';
/** One BLE attribute value at most (ATT caps it at 512 bytes). */
export const COMPACT_MAX_BYTES = 512;

export const FRAME_KINDS = {
  settings: 0x01,
  commands: 0x02,
  uploadReply: 0x03,
  /** BLE only: the hub enrols a camera (written once, never read back). */
  enrolment: 0x04,
  /** BLE only: what the camera reports (read and notified). */
  status: 0x05,
} as const;
export type FrameKind = keyof typeof FRAME_KINDS;

/** Frame sizes by the names esp32-camera uses; the wire carries the index in this list. */
export const FRAME_SIZES = ['QVGA', 'VGA', 'SVGA', 'XGA', 'HD', 'SXGA', 'UXGA'] as const;
export type FrameSize = (typeof FRAME_SIZES)[number];

export interface CameraSettings {
  /** Increases with every change the hub makes; the device reports the last one it applied. */
  settingsVersion?: number;
  frameSize?: FrameSize;
  /** esp32-camera's scale: lower is better, 10–63. */
  jpegQuality?: number;
  wakeIntervalSeconds?: number;
  pirEnabled?: boolean;
  burstLength?: number;
}

export const COMMAND_KINDS = [
  'capture_now',
  'start_stream',
  'stop_stream',
  'sleep',
  'reboot',
  'factory_reset',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface DeviceCommand {
  id: number;
  kind: CommandKind;
  /** start_stream: seconds to stream (u16); sleep: seconds to sleep (u32). */
  seconds?: number;
}

/** A command of a kind this side does not know: skipped, but its id can still be acknowledged. */
export interface UnknownCommand {
  id: number;
  kind: null;
  code: number;
}

export interface UploadReply {
  stored: number;
  duplicates: number;
  /** The hub's clock, ms since the epoch: lets a device without RTC set its own. */
  hubTime: number;
  settings?: CameraSettings;
  commands: (DeviceCommand | UnknownCommand)[];
  /** A signed firmware image for this camera (docs/protocols.md, "Firmware updates"). */
  update?: FirmwareOffer;
}

/** What the hub offers a camera: the image's identity, its signature, and where to fetch it. */
export interface FirmwareOffer {
  version: string;
  size: number;
  /** Of the whole image, hex. */
  sha256: string;
  /** Ed25519 over the manifest (`firmwareManifest`), hex. */
  signature: string;
  /** A path on the hub, fetched with the device token. */
  url: string;
}

/** What the hub writes to a camera's enrolment characteristic. */
export interface Enrolment {
  /** By name, so DHCP changes do not matter: `http://<hub>.local:<port>`. */
  hubUrl: string;
  /** The same hub by its current IP address, for networks without mDNS. */
  hubAddressUrl?: string;
  deviceToken: string;
  /** The hub's Ed25519 firmware-signing public key, 32 bytes as hex. */
  signingKey?: string;
}

export const WIFI_STATES = ['unprovisioned', 'connecting', 'connected', 'failed'] as const;
export type WifiState = (typeof WIFI_STATES)[number];

/** What a camera notifies on its status characteristic; every field optional (a newer firmware adds more). */
export interface CameraStatusReport {
  settingsVersion?: number;
  batteryMv?: number;
  rssi?: number;
  firmware?: string;
  wifiState?: WifiState;
  /** HTTP status of the last upload; 0 none yet, 1 no answer (network). */
  lastUpload?: number;
  freeHeap?: number;
  /** The newest command id the camera carried out (or skipped, for an unknown kind). */
  lastCommandId?: number;
  enrolled?: boolean;
}

export class CompactError extends Error {
  override name = 'CompactError';
}

const TAG = {
  settingsVersion: 0x01,
  frameSize: 0x02,
  jpegQuality: 0x03,
  wakeIntervalSeconds: 0x04,
  pirEnabled: 0x05,
  burstLength: 0x06,
  command: 0x10,
  stored: 0x20,
  duplicates: 0x21,
  hubTime: 0x22,
  hubUrl: 0x30,
  hubAddressUrl: 0x31,
  deviceToken: 0x32,
  signingKey: 0x33,
  batteryMv: 0x40,
  rssi: 0x41,
  firmware: 0x42,
  wifiState: 0x43,
  lastUpload: 0x44,
  freeHeap: 0x45,
  lastCommandId: 0x46,
  enrolled: 0x47,
  updateVersion: 0x50,
  updateSize: 0x51,
  updateSha256: 0x52,
  updateSignature: 0x53,
  updateUrl: 0x54,
} as const;

const UPDATE_TAGS = [TAG.updateVersion, TAG.updateSize, TAG.updateSha256, TAG.updateSignature, TAG.updateUrl];

const COMMAND_CODE: Record<CommandKind, number> = {
  capture_now: 0x01,
  start_stream: 0x02,
  stop_stream: 0x03,
  sleep: 0x04,
  reboot: 0x05,
  factory_reset: 0x06,
};

/** Valid ranges; the hub's settings API enforces the same ones. */
export const SETTING_LIMITS = {
  jpegQuality: [10, 63],
  wakeIntervalSeconds: [10, 86_400],
  burstLength: [1, 10],
  streamSeconds: [1, 3600],
  sleepSeconds: [1, 604_800],
} as const;

function inRange(name: keyof typeof SETTING_LIMITS, value: number): number {
  const [min, max] = SETTING_LIMITS[name];
  if (!Number.isInteger(value) || value < min || value > max)
    throw new CompactError(`${name} ${value} is outside ${min}–${max}`);
  return value;
}

class Writer {
  private readonly bytes: number[] = [];
  constructor(kind: FrameKind) {
    this.bytes.push(COMPACT_MAGIC, COMPACT_VERSION, FRAME_KINDS[kind]);
  }
  record(tag: number, value: number[]): void {
    if (value.length > 255) throw new CompactError(`record 0x${tag.toString(16)} is longer than 255 bytes`);
    this.bytes.push(tag, value.length, ...value);
  }
  done(): Uint8Array {
    if (this.bytes.length > COMPACT_MAX_BYTES)
      throw new CompactError(`frame of ${this.bytes.length} bytes exceeds ${COMPACT_MAX_BYTES}`);
    return Uint8Array.from(this.bytes);
  }
}

const u8 = (n: number) => [n & 0xff];
const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
function u64(n: number): number[] {
  const low = n % 2 ** 32;
  return [...u32(low), ...u32(Math.floor(n / 2 ** 32))];
}

function writeSettings(writer: Writer, settings: CameraSettings): void {
  if (settings.settingsVersion !== undefined) {
    if (
      !Number.isInteger(settings.settingsVersion) ||
      settings.settingsVersion < 0 ||
      settings.settingsVersion > 0xffffffff
    )
      throw new CompactError(`settingsVersion ${settings.settingsVersion} is not a u32`);
    writer.record(TAG.settingsVersion, u32(settings.settingsVersion));
  }
  if (settings.frameSize !== undefined) {
    const index = FRAME_SIZES.indexOf(settings.frameSize);
    if (index < 0) throw new CompactError(`unknown frame size ${settings.frameSize}`);
    writer.record(TAG.frameSize, u8(index));
  }
  if (settings.jpegQuality !== undefined)
    writer.record(TAG.jpegQuality, u8(inRange('jpegQuality', settings.jpegQuality)));
  if (settings.wakeIntervalSeconds !== undefined)
    writer.record(TAG.wakeIntervalSeconds, u32(inRange('wakeIntervalSeconds', settings.wakeIntervalSeconds)));
  if (settings.pirEnabled !== undefined) writer.record(TAG.pirEnabled, u8(settings.pirEnabled ? 1 : 0));
  if (settings.burstLength !== undefined)
    writer.record(TAG.burstLength, u8(inRange('burstLength', settings.burstLength)));
}

function writeCommand(writer: Writer, command: DeviceCommand): void {
  if (!Number.isInteger(command.id) || command.id < 1 || command.id > 0xffffffff)
    throw new CompactError(`command id ${command.id} is not a positive u32`);
  const code = COMMAND_CODE[command.kind];
  if (code === undefined) throw new CompactError(`unknown command ${command.kind}`);
  const args =
    command.kind === 'start_stream'
      ? u16(inRange('streamSeconds', command.seconds ?? 60))
      : command.kind === 'sleep'
        ? u32(inRange('sleepSeconds', command.seconds ?? 0))
        : [];
  writer.record(TAG.command, [...u32(command.id), code, ...args]);
}

export function encodeSettings(settings: CameraSettings): Uint8Array {
  const writer = new Writer('settings');
  writeSettings(writer, settings);
  return writer.done();
}

export function encodeCommands(commands: DeviceCommand[]): Uint8Array {
  const writer = new Writer('commands');
  for (const command of commands) writeCommand(writer, command);
  return writer.done();
}

function writeUpdate(writer: Writer, offer: FirmwareOffer): void {
  textRecord(writer, TAG.updateVersion, offer.version, 'update version');
  if (!Number.isInteger(offer.size) || offer.size < 1 || offer.size > 0xffffffff)
    throw new CompactError(`update size ${offer.size} is not a positive u32`);
  writer.record(TAG.updateSize, u32(offer.size));
  const sha = fromHex(offer.sha256);
  if (sha.length !== 32) throw new CompactError(`update sha256 is ${sha.length} bytes, not 32`);
  writer.record(TAG.updateSha256, [...sha]);
  const signature = fromHex(offer.signature);
  if (signature.length !== 64)
    throw new CompactError(`update signature is ${signature.length} bytes, not 64`);
  writer.record(TAG.updateSignature, [...signature]);
  textRecord(writer, TAG.updateUrl, offer.url, 'update url');
  if (!offer.url.startsWith('/')) throw new CompactError('update url must be a path starting with /');
}

export function encodeUploadReply(reply: UploadReply): Uint8Array {
  const writer = new Writer('uploadReply');
  writer.record(TAG.stored, u8(Math.min(reply.stored, 255)));
  writer.record(TAG.duplicates, u8(Math.min(reply.duplicates, 255)));
  writer.record(TAG.hubTime, u64(reply.hubTime));
  if (reply.settings) writeSettings(writer, reply.settings);
  for (const command of reply.commands) if (command.kind !== null) writeCommand(writer, command);
  if (reply.update) writeUpdate(writer, reply.update);
  return writer.done();
}

interface Decoded {
  kind: FrameKind;
  settings: CameraSettings;
  commands: (DeviceCommand | UnknownCommand)[];
  enrolment: Partial<Enrolment>;
  status: Omit<CameraStatusReport, 'settingsVersion'>;
  stored?: number;
  duplicates?: number;
  hubTime?: number;
  update: Partial<FirmwareOffer>;
}

const FIXED_LENGTH: Partial<Record<number, number>> = {
  [TAG.settingsVersion]: 4,
  [TAG.frameSize]: 1,
  [TAG.jpegQuality]: 1,
  [TAG.wakeIntervalSeconds]: 4,
  [TAG.pirEnabled]: 1,
  [TAG.burstLength]: 1,
  [TAG.stored]: 1,
  [TAG.duplicates]: 1,
  [TAG.hubTime]: 8,
  [TAG.signingKey]: 32,
  [TAG.batteryMv]: 2,
  [TAG.rssi]: 1,
  [TAG.wifiState]: 1,
  [TAG.lastUpload]: 2,
  [TAG.freeHeap]: 4,
  [TAG.lastCommandId]: 4,
  [TAG.enrolled]: 1,
  [TAG.updateSize]: 4,
  [TAG.updateSha256]: 32,
  [TAG.updateSignature]: 64,
};

/** Byte lengths of the text records: [min, max]. */
const TEXT_LENGTH: Partial<Record<number, readonly [number, number]>> = {
  [TAG.hubUrl]: [8, 128],
  [TAG.hubAddressUrl]: [8, 64],
  [TAG.deviceToken]: [8, 64],
  [TAG.firmware]: [1, 32],
  [TAG.updateVersion]: [1, 32],
  [TAG.updateUrl]: [2, 128],
};

/** Tags each frame kind may carry; any other tag is skipped, as tags from a newer hub would be. */
const ALLOWED: Record<FrameKind, Set<number>> = {
  settings: new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]),
  commands: new Set([TAG.command]),
  uploadReply: new Set([
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    TAG.command,
    TAG.stored,
    TAG.duplicates,
    TAG.hubTime,
    ...UPDATE_TAGS,
  ]),
  enrolment: new Set([TAG.hubUrl, TAG.hubAddressUrl, TAG.deviceToken, TAG.signingKey]),
  status: new Set([
    TAG.settingsVersion,
    TAG.batteryMv,
    TAG.rssi,
    TAG.firmware,
    TAG.wifiState,
    TAG.lastUpload,
    TAG.freeHeap,
    TAG.lastCommandId,
    TAG.enrolled,
  ]),
};

/** Decodes any frame; throws CompactError naming what is wrong. */
export function decodeCompact(bytes: Uint8Array): Decoded {
  if (bytes.length > COMPACT_MAX_BYTES)
    throw new CompactError(`frame longer than ${COMPACT_MAX_BYTES} bytes`);
  if (bytes.length < 3) throw new CompactError('frame shorter than its 3-byte header');
  if (bytes[0] !== COMPACT_MAGIC) throw new CompactError('bad magic (expected 0x48)');
  if (bytes[1] !== COMPACT_VERSION) throw new CompactError(`unsupported version ${bytes[1]}`);
  const kind = (Object.keys(FRAME_KINDS) as FrameKind[]).find((name) => FRAME_KINDS[name] === bytes[2]);
  if (!kind) throw new CompactError(`unknown frame kind 0x${bytes[2]!.toString(16).padStart(2, '0')}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Decoded = { kind, settings: {}, commands: [], enrolment: {}, status: {}, update: {} };
  const seen = new Set<number>();
  let at = 3;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new CompactError(`truncated record header at byte ${at}`);
    const tag = bytes[at]!;
    const length = bytes[at + 1]!;
    const value = at + 2;
    if (value + length > bytes.length)
      throw new CompactError(`record 0x${tag.toString(16).padStart(2, '0')} at byte ${at} runs past the end`);
    at = value + length;
    if (!ALLOWED[kind].has(tag)) continue;
    const name = `record 0x${tag.toString(16).padStart(2, '0')}`;
    const fixed = FIXED_LENGTH[tag];
    if (fixed !== undefined && length !== fixed)
      throw new CompactError(`${name} has length ${length}, expected ${fixed}`);
    const text = TEXT_LENGTH[tag];
    if (text && (length < text[0] || length > text[1]))
      throw new CompactError(`${name} has length ${length}, expected ${text[0]}–${text[1]}`);
    if (tag !== TAG.command) {
      if (seen.has(tag)) throw new CompactError(`${name} appears twice`);
      seen.add(tag);
    }
    switch (tag) {
      case TAG.settingsVersion:
        out.settings.settingsVersion = view.getUint32(value, true);
        break;
      case TAG.frameSize: {
        const size = FRAME_SIZES[bytes[value]!];
        if (!size) throw new CompactError(`frame size index ${bytes[value]} is unknown`);
        out.settings.frameSize = size;
        break;
      }
      case TAG.jpegQuality:
        out.settings.jpegQuality = inRange('jpegQuality', bytes[value]!);
        break;
      case TAG.wakeIntervalSeconds:
        out.settings.wakeIntervalSeconds = inRange('wakeIntervalSeconds', view.getUint32(value, true));
        break;
      case TAG.pirEnabled:
        if (bytes[value]! > 1) throw new CompactError(`pirEnabled must be 0 or 1, not ${bytes[value]}`);
        out.settings.pirEnabled = bytes[value] === 1;
        break;
      case TAG.burstLength:
        out.settings.burstLength = inRange('burstLength', bytes[value]!);
        break;
      case TAG.command: {
        if (length < 5) throw new CompactError(`command record of ${length} bytes is shorter than 5`);
        const id = view.getUint32(value, true);
        if (id === 0) throw new CompactError('command id 0 is reserved');
        const code = bytes[value + 4]!;
        const kind = (Object.keys(COMMAND_CODE) as CommandKind[]).find((name) => COMMAND_CODE[name] === code);
        const args = length - 5;
        if (!kind) out.commands.push({ id, kind: null, code });
        else if (kind === 'start_stream') {
          if (args !== 2) throw new CompactError(`start_stream takes 2 argument bytes, not ${args}`);
          out.commands.push({ id, kind, seconds: inRange('streamSeconds', view.getUint16(value + 5, true)) });
        } else if (kind === 'sleep') {
          if (args !== 4) throw new CompactError(`sleep takes 4 argument bytes, not ${args}`);
          out.commands.push({ id, kind, seconds: inRange('sleepSeconds', view.getUint32(value + 5, true)) });
        } else {
          if (args !== 0) throw new CompactError(`${kind} takes no arguments, not ${args} bytes`);
          out.commands.push({ id, kind });
        }
        break;
      }
      case TAG.stored:
        out.stored = bytes[value]!;
        break;
      case TAG.duplicates:
        out.duplicates = bytes[value]!;
        break;
      case TAG.hubTime:
        out.hubTime = view.getUint32(value, true) + view.getUint32(value + 4, true) * 2 ** 32;
        break;
      case TAG.hubUrl:
        out.enrolment.hubUrl = hubUrlText(bytes.subarray(value, value + length), name);
        break;
      case TAG.hubAddressUrl:
        out.enrolment.hubAddressUrl = hubUrlText(bytes.subarray(value, value + length), name);
        break;
      case TAG.deviceToken:
        out.enrolment.deviceToken = printable(bytes.subarray(value, value + length), name);
        break;
      case TAG.signingKey:
        out.enrolment.signingKey = toHex(bytes.subarray(value, value + length));
        break;
      case TAG.batteryMv:
        out.status.batteryMv = view.getUint16(value, true);
        break;
      case TAG.rssi:
        out.status.rssi = view.getInt8(value);
        break;
      case TAG.firmware:
        out.status.firmware = printable(bytes.subarray(value, value + length), name);
        break;
      case TAG.wifiState: {
        const state = WIFI_STATES[bytes[value]!];
        if (!state) throw new CompactError(`Wi-Fi state ${bytes[value]} is unknown`);
        out.status.wifiState = state;
        break;
      }
      case TAG.lastUpload:
        out.status.lastUpload = view.getUint16(value, true);
        break;
      case TAG.freeHeap:
        out.status.freeHeap = view.getUint32(value, true);
        break;
      case TAG.lastCommandId:
        out.status.lastCommandId = view.getUint32(value, true);
        break;
      case TAG.enrolled:
        if (bytes[value]! > 1) throw new CompactError(`enrolled must be 0 or 1, not ${bytes[value]}`);
        out.status.enrolled = bytes[value] === 1;
        break;
      case TAG.updateVersion:
        out.update.version = printable(bytes.subarray(value, value + length), name);
        break;
      case TAG.updateSize:
        out.update.size = view.getUint32(value, true);
        if (out.update.size === 0) throw new CompactError('update size 0');
        break;
      case TAG.updateSha256:
        out.update.sha256 = toHex(bytes.subarray(value, value + length));
        break;
      case TAG.updateSignature:
        out.update.signature = toHex(bytes.subarray(value, value + length));
        break;
      case TAG.updateUrl:
        out.update.url = printable(bytes.subarray(value, value + length), name);
        if (!out.update.url.startsWith('/')) throw new CompactError(`${name} is not a path starting with /`);
        break;
    }
  }
  const updateFields = Object.keys(out.update).length;
  if (updateFields > 0 && updateFields < UPDATE_TAGS.length)
    throw new CompactError('a firmware offer needs all of 0x50–0x54');
  return out;
}

export function decodeSettings(bytes: Uint8Array): CameraSettings {
  const frame = decodeCompact(bytes);
  if (frame.kind !== 'settings') throw new CompactError(`expected a settings frame, got ${frame.kind}`);
  return frame.settings;
}

export function decodeCommands(bytes: Uint8Array): (DeviceCommand | UnknownCommand)[] {
  const frame = decodeCompact(bytes);
  if (frame.kind !== 'commands') throw new CompactError(`expected a commands frame, got ${frame.kind}`);
  return frame.commands;
}

export function decodeUploadReply(bytes: Uint8Array): UploadReply {
  const frame = decodeCompact(bytes);
  if (frame.kind !== 'uploadReply') throw new CompactError(`expected an upload reply, got ${frame.kind}`);
  if (frame.stored === undefined || frame.duplicates === undefined || frame.hubTime === undefined)
    throw new CompactError('an upload reply needs stored, duplicates and hubTime');
  return {
    stored: frame.stored,
    duplicates: frame.duplicates,
    hubTime: frame.hubTime,
    ...(Object.keys(frame.settings).length > 0 ? { settings: frame.settings } : {}),
    commands: frame.commands,
    ...(frame.update.version !== undefined ? { update: frame.update as FirmwareOffer } : {}),
  };
}

/** Printable ASCII only: tokens and versions, never control characters a log or a UI would mangle. */
function printable(bytes: Uint8Array, name: string): string {
  if (!bytes.every((byte) => byte >= 0x21 && byte <= 0x7e))
    throw new CompactError(`${name} is not printable ASCII`);
  return String.fromCharCode(...bytes);
}

function hubUrlText(bytes: Uint8Array, name: string): string {
  const text = printable(bytes, name);
  if (!/^https?:\/\/[^/?#]+(:\d{1,5})?\/?$/.test(text))
    throw new CompactError(`${name} is not an http(s) base URL`);
  return text;
}

function textRecord(writer: Writer, tag: number, value: string, name: string): void {
  const bytes = [...new TextEncoder().encode(value)];
  const [min, max] = TEXT_LENGTH[tag]!;
  if (bytes.length < min || bytes.length > max)
    throw new CompactError(`${name} is ${bytes.length} bytes; ${min}–${max} allowed`);
  printable(Uint8Array.from(bytes), name);
  writer.record(tag, bytes);
}

export function encodeEnrolment(enrolment: Enrolment): Uint8Array {
  const writer = new Writer('enrolment');
  textRecord(writer, TAG.hubUrl, enrolment.hubUrl, 'hubUrl');
  if (enrolment.hubAddressUrl !== undefined)
    textRecord(writer, TAG.hubAddressUrl, enrolment.hubAddressUrl, 'hubAddressUrl');
  textRecord(writer, TAG.deviceToken, enrolment.deviceToken, 'deviceToken');
  if (enrolment.signingKey !== undefined) {
    const key = fromHex(enrolment.signingKey);
    if (key.length !== 32) throw new CompactError(`signingKey is ${key.length} bytes, not 32`);
    writer.record(TAG.signingKey, [...key]);
  }
  const frame = writer.done();
  decodeEnrolment(frame); // the same checks the camera makes (URL shape), before it is sent
  return frame;
}

export function decodeEnrolment(bytes: Uint8Array): Enrolment {
  const frame = decodeCompact(bytes);
  if (frame.kind !== 'enrolment') throw new CompactError(`expected an enrolment frame, got ${frame.kind}`);
  const { hubUrl, deviceToken } = frame.enrolment;
  if (!hubUrl || !deviceToken) throw new CompactError('an enrolment needs hubUrl and deviceToken');
  return { ...frame.enrolment, hubUrl, deviceToken };
}

export function encodeStatus(status: CameraStatusReport): Uint8Array {
  const writer = new Writer('status');
  const integer = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new CompactError(`${name} ${value} is outside ${min}–${max}`);
    return value;
  };
  if (status.settingsVersion !== undefined)
    writer.record(
      TAG.settingsVersion,
      u32(integer('settingsVersion', status.settingsVersion, 0, 0xffffffff)),
    );
  if (status.batteryMv !== undefined)
    writer.record(TAG.batteryMv, u16(integer('batteryMv', status.batteryMv, 0, 0xffff)));
  if (status.rssi !== undefined) writer.record(TAG.rssi, u8(integer('rssi', status.rssi, -128, 127)));
  if (status.firmware !== undefined) textRecord(writer, TAG.firmware, status.firmware, 'firmware');
  if (status.wifiState !== undefined) writer.record(TAG.wifiState, u8(WIFI_STATES.indexOf(status.wifiState)));
  if (status.lastUpload !== undefined)
    writer.record(TAG.lastUpload, u16(integer('lastUpload', status.lastUpload, 0, 999)));
  if (status.freeHeap !== undefined)
    writer.record(TAG.freeHeap, u32(integer('freeHeap', status.freeHeap, 0, 0xffffffff)));
  if (status.lastCommandId !== undefined)
    writer.record(TAG.lastCommandId, u32(integer('lastCommandId', status.lastCommandId, 0, 0xffffffff)));
  if (status.enrolled !== undefined) writer.record(TAG.enrolled, u8(status.enrolled ? 1 : 0));
  return writer.done();
}

export function decodeStatus(bytes: Uint8Array): CameraStatusReport {
  const frame = decodeCompact(bytes);
  if (frame.kind !== 'status') throw new CompactError(`expected a status frame, got ${frame.kind}`);
  return {
    ...(frame.settings.settingsVersion !== undefined
      ? { settingsVersion: frame.settings.settingsVersion }
      : {}),
    ...frame.status,
  };
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new CompactError('not an even-length hex string');
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

const MANIFEST_MAGIC = 'HEARTH-FW';
const MANIFEST_FORMAT = 1;

/**
 * The bytes the hub signs for a firmware image and the camera verifies: the signature covers the
 * version and size as well as the digest, so an old image cannot be replayed under a newer version.
 */
export function firmwareManifest(image: { version: string; size: number; sha256: string }): Uint8Array {
  const version = new TextEncoder().encode(image.version);
  if (version.length < 1 || version.length > 32) throw new CompactError('version must be 1–32 bytes');
  printable(version, 'version');
  const sha = fromHex(image.sha256);
  if (sha.length !== 32) throw new CompactError('sha256 must be 32 bytes');
  if (!Number.isInteger(image.size) || image.size < 1 || image.size > 0xffffffff)
    throw new CompactError(`size ${image.size} is not a positive u32`);
  return Uint8Array.from([
    ...new TextEncoder().encode(MANIFEST_MAGIC),
    MANIFEST_FORMAT,
    version.length,
    ...version,
    ...u32(image.size),
    ...sha,
  ]);
}
