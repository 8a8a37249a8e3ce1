/**
 * Improv Wi-Fi over BLE, as the public standard defines it (https://www.improv-wifi.com/ble/): the
 * frames the hub writes to the RPC command characteristic and the ones it reads back from the RPC
 * result characteristic. Byte layout: docs/protocols.md, "Improv Wi-Fi"; vectors shared with the
 * firmware's host tests: docs/protocol-vectors.json, `improv`.
 */

export const IMPROV_SERVICE = '00467768-6228-2272-4663-277478268000';
export const IMPROV_CHARACTERISTICS = {
  state: '00467768-6228-2272-4663-277478268001',
  error: '00467768-6228-2272-4663-277478268002',
  rpcCommand: '00467768-6228-2272-4663-277478268003',
  rpcResult: '00467768-6228-2272-4663-277478268004',
  capabilities: '00467768-6228-2272-4663-277478268005',
} as const;
/** 16-bit UUID of the service data in an Improv advertisement: `[state, capabilities, 0, 0, 0, 0]`. */
export const IMPROV_SERVICE_DATA_UUID = 0x4677;

export const IMPROV_STATES = {
  1: 'authorization_required',
  2: 'authorized',
  3: 'provisioning',
  4: 'provisioned',
} as const;
export type ImprovState = (typeof IMPROV_STATES)[keyof typeof IMPROV_STATES];

export const IMPROV_ERRORS = {
  0: 'none',
  1: 'invalid_rpc',
  2: 'unknown_rpc',
  3: 'unable_to_connect',
  4: 'not_authorized',
  5: 'bad_hostname',
  255: 'unknown',
} as const;
export type ImprovErrorCode = (typeof IMPROV_ERRORS)[keyof typeof IMPROV_ERRORS];

export const IMPROV_RPC = {
  wifi_settings: 0x01,
  identify: 0x02,
  device_info: 0x03,
  scan_networks: 0x04,
} as const;
export type ImprovRpcName = keyof typeof IMPROV_RPC;

/** Wi-Fi limits of 802.11 (SSID) and WPA2-PSK (passphrase). */
export const SSID_MAX = 32;
export const PASSWORD_MAX = 64;

export class ImprovFrameError extends Error {
  override name = 'ImprovFrameError';
}

export type ImprovRequest =
  | { command: 'wifi_settings'; ssid: string; password: string }
  | { command: 'identify' }
  | { command: 'device_info' }
  | { command: 'scan_networks' };

export interface ImprovResult {
  command: ImprovRpcName;
  /** The strings of the result, in order (for Wi-Fi settings: the device's URL). */
  strings: string[];
}

export const stateName = (byte: number): ImprovState | null =>
  IMPROV_STATES[byte as keyof typeof IMPROV_STATES] ?? null;
export const errorName = (byte: number): ImprovErrorCode =>
  IMPROV_ERRORS[byte as keyof typeof IMPROV_ERRORS] ?? 'unknown';

const checksum = (bytes: ArrayLike<number>, length: number) => {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += bytes[i]!;
  return sum & 0xff;
};

function frame(command: number, data: number[]): Uint8Array {
  if (data.length > 255) throw new ImprovFrameError(`data of ${data.length} bytes does not fit one frame`);
  const bytes = [command, data.length, ...data];
  bytes.push(checksum(bytes, bytes.length));
  return Uint8Array.from(bytes);
}

function lengthPrefixed(value: string, max: number, what: string): number[] {
  const bytes = [...new TextEncoder().encode(value)];
  if (bytes.length > max) throw new ImprovFrameError(`${what} is ${bytes.length} bytes; at most ${max}`);
  return [bytes.length, ...bytes];
}

export function encodeImprovRequest(request: ImprovRequest): Uint8Array {
  switch (request.command) {
    case 'wifi_settings':
      if (request.ssid.length === 0) throw new ImprovFrameError('the SSID is empty');
      return frame(IMPROV_RPC.wifi_settings, [
        ...lengthPrefixed(request.ssid, SSID_MAX, 'the SSID'),
        ...lengthPrefixed(request.password, PASSWORD_MAX, 'the password'),
      ]);
    default:
      return frame(IMPROV_RPC[request.command], []);
  }
}

export function encodeImprovResult(result: ImprovResult): Uint8Array {
  return frame(
    IMPROV_RPC[result.command],
    result.strings.flatMap((s) => lengthPrefixed(s, 255, 'a result string')),
  );
}

/** Checks the envelope `[command][length][data…][checksum]`; returns command and data. */
function openFrame(bytes: Uint8Array): { command: number; data: Uint8Array } {
  if (bytes.length < 3) throw new ImprovFrameError(`frame of ${bytes.length} bytes is shorter than 3`);
  const declared = bytes[1]!;
  if (bytes.length !== declared + 3)
    throw new ImprovFrameError(`length byte says ${declared} data bytes, the frame has ${bytes.length - 3}`);
  const expected = checksum(bytes, bytes.length - 1);
  if (bytes[bytes.length - 1] !== expected)
    throw new ImprovFrameError(
      `bad checksum 0x${bytes[bytes.length - 1]!.toString(16).padStart(2, '0')}, expected 0x${expected.toString(16).padStart(2, '0')}`,
    );
  return { command: bytes[0]!, data: bytes.subarray(2, 2 + declared) };
}

function readStrings(data: Uint8Array): string[] {
  const strings: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  while (at < data.length) {
    const length = data[at]!;
    if (at + 1 + length > data.length)
      throw new ImprovFrameError(`a string of ${length} bytes at data byte ${at} runs past the data`);
    try {
      strings.push(decoder.decode(data.subarray(at + 1, at + 1 + length)));
    } catch {
      throw new ImprovFrameError(`the string at data byte ${at} is not UTF-8`);
    }
    at += 1 + length;
  }
  return strings;
}

function rpcName(command: number): ImprovRpcName {
  const name = (Object.keys(IMPROV_RPC) as ImprovRpcName[]).find((key) => IMPROV_RPC[key] === command);
  if (!name) throw new ImprovFrameError(`unknown RPC 0x${command.toString(16).padStart(2, '0')}`);
  return name;
}

/** What the device side reads from the RPC command characteristic (the firmware's parser). */
export function decodeImprovRequest(bytes: Uint8Array): ImprovRequest {
  const { command, data } = openFrame(bytes);
  const name = rpcName(command);
  if (name !== 'wifi_settings') {
    if (data.length !== 0) throw new ImprovFrameError(`${name} takes no data, got ${data.length} bytes`);
    return { command: name };
  }
  const strings = readStrings(data);
  if (strings.length !== 2)
    throw new ImprovFrameError(`Wi-Fi settings carry 2 strings, got ${strings.length}`);
  const [ssid, password] = strings as [string, string];
  if (ssid.length === 0) throw new ImprovFrameError('the SSID is empty');
  if (new TextEncoder().encode(ssid).length > SSID_MAX)
    throw new ImprovFrameError(`the SSID is longer than ${SSID_MAX} bytes`);
  if (new TextEncoder().encode(password).length > PASSWORD_MAX)
    throw new ImprovFrameError(`the password is longer than ${PASSWORD_MAX} bytes`);
  return { command: name, ssid, password };
}

/** What the hub reads from the RPC result characteristic. */
export function decodeImprovResult(bytes: Uint8Array): ImprovResult {
  const { command, data } = openFrame(bytes);
  return { command: rpcName(command), strings: readStrings(data) };
}

/**
 * Joins the writes of one frame, as the device receives them: a frame longer than one ATT write
 * arrives in several, and is complete when the buffer holds its declared length plus 3.
 */
export class ImprovReassembler {
  private buffer: number[] = [];

  /** The complete frame when this write finishes one, else null; throws (and starts over) on overflow. */
  push(write: Uint8Array): Uint8Array | null {
    this.buffer.push(...write);
    if (this.buffer.length < 2) return null;
    const total = this.buffer[1]! + 3;
    if (this.buffer.length < total) return null;
    const bytes = Uint8Array.from(this.buffer);
    this.buffer = [];
    if (bytes.length > total)
      throw new ImprovFrameError(`writes carried ${bytes.length} bytes for a frame of ${total}`);
    return bytes;
  }

  reset(): void {
    this.buffer = [];
  }
}

/** Splits a frame into writes of at most `size` bytes (20: the payload of the smallest ATT MTU). */
export function splitWrites(bytes: Uint8Array, size = 20): Uint8Array[] {
  const writes: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) writes.push(bytes.subarray(at, at + size));
  return writes;
}
