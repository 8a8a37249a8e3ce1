import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  type Endpoint,
  endpointText,
  intToIpv4,
  ipv4ToInt,
  isCidr,
  type Subnet,
  subnetOf,
  subnetText,
} from './addresses.js';
import { generateKeyPair, generatePresharedKey, publicKeyOf, WG_KEY } from './keys.js';
import {
  interfaceOf,
  keyValue,
  parseConf,
  peerName,
  peersOf,
  renderConf,
  section,
  type WgConf,
} from './wg-conf.js';

/** Something about the files or the tunnel the owner must fix: exit 1 with the message, no usage text. */
export class RemoteError extends Error {}

export const DEFAULT_SUBNET = '10.87.0.0/24';
export const DEFAULT_PORT = 51820;
/** Phones behind NAT must keep the mapping open for the hub to reach them; 25 s is WireGuard's advice. */
const KEEPALIVE_SECONDS = 25;

export interface RemotePaths {
  interfaceName: string;
  /** wg-quick reads `/etc/wireguard/<interface>.conf`. */
  conf: string;
  /** What the phones are told that the hub's file does not hold: the public endpoint, extra ranges. */
  state: string;
}

export function remotePaths(root: string, interfaceName: string): RemotePaths {
  const dir = path.join(root, 'etc', 'wireguard');
  return {
    interfaceName,
    conf: path.join(dir, `${interfaceName}.conf`),
    state: path.join(dir, `${interfaceName}.json`),
  };
}

const stateSchema = z
  .object({
    endpoint: z.string().min(1),
    /** Added to the tunnel subnet in each new phone's AllowedIPs (household LAN ranges). */
    allowedIps: z.array(z.string().refine(isCidr, 'not an address range')),
  })
  .strict();
type State = z.infer<typeof stateSchema>;

export interface Phone {
  name: string | null;
  publicKey: string;
  address: string | null;
}

export interface Remote {
  conf: WgConf;
  state: State;
  hubAddress: number;
  subnet: Subnet;
  listenPort: number;
  publicKey: string;
  phones: Phone[];
}

function fsFailure(error: unknown, file: string, verb: string): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    throw new RemoteError(
      `cannot ${verb} ${file} (${code}): WireGuard's files belong to root; run it with sudo (sudo hearth remote …)`,
    );
  throw error;
}

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return fsFailure(error, file, 'read');
  }
}

/** 0600 from the first byte, then renamed into place: never a half-written key file under the name. */
function writePrivate(file: string, text: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const partial = `${file}.partial`;
    rmSync(partial, { force: true });
    const fd = openSync(partial, 'wx', 0o600);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
    const dir = openSync(path.dirname(file), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch (error) {
    fsFailure(error, file, 'write');
  }
}

function hostAddress(allowedIps: string | undefined): string | null {
  const first = allowedIps?.split(',')[0]?.trim() ?? '';
  return /^[0-9.]+\/32$/.test(first) ? first.slice(0, -3) : null;
}

/** The hub's tunnel as its files describe it; null while remote access is off. */
export function loadRemote(paths: RemotePaths): Remote | null {
  const text = readIfExists(paths.conf);
  if (text === null) return null;
  const stateText = readIfExists(paths.state);
  if (stateText === null)
    throw new RemoteError(`${paths.conf} exists but was not made by hearth remote (no ${paths.state})`);
  let state: State;
  try {
    state = stateSchema.parse(JSON.parse(stateText));
  } catch (error) {
    throw new RemoteError(`${paths.state} is not valid: ${(error as Error).message}`);
  }
  const conf = parseConf(text);
  const hub = interfaceOf(conf);
  const [address, prefix] = (hub && keyValue(hub, 'Address')?.split(',')[0]?.trim().split('/')) ?? [];
  const hubAddress = ipv4ToInt(address ?? '');
  const privateKey = hub && keyValue(hub, 'PrivateKey');
  const listenPort = Number(hub && keyValue(hub, 'ListenPort'));
  if (hubAddress === null || !prefix || !privateKey || !WG_KEY.test(privateKey) || !listenPort)
    throw new RemoteError(`${paths.conf} lacks the [Interface] Address, PrivateKey or ListenPort it needs`);
  return {
    conf,
    state,
    hubAddress,
    subnet: subnetOf(hubAddress, Number(prefix)),
    listenPort,
    publicKey: publicKeyOf(privateKey),
    phones: peersOf(conf).map((peer) => ({
      name: peerName(peer),
      publicKey: keyValue(peer, 'PublicKey') ?? '',
      address: hostAddress(keyValue(peer, 'AllowedIPs')),
    })),
  };
}

function requireRemote(paths: RemotePaths): Remote {
  const remote = loadRemote(paths);
  if (!remote)
    throw new RemoteError(
      `remote access is not enabled (no ${paths.conf}); first: sudo hearth remote enable --endpoint <public name or address>`,
    );
  return remote;
}

/**
 * Creates the hub's interface (fresh key, first address of the subnet). Run again on an enabled hub it
 * changes only what new phones are told (endpoint host, extra ranges); the tunnel itself stays.
 */
export function enableRemote(
  paths: RemotePaths,
  options: { endpoint: Endpoint; subnet: Subnet; allowedIps: string[] },
): { remote: Remote; created: boolean } {
  const existing = loadRemote(paths);
  const state: State = { endpoint: endpointText(options.endpoint), allowedIps: options.allowedIps };
  if (existing) {
    if (
      subnetText(existing.subnet) !== subnetText(options.subnet) ||
      existing.listenPort !== options.endpoint.port
    )
      throw new RemoteError(
        `remote access is enabled already with ${subnetText(existing.subnet)} on UDP ${existing.listenPort}; ` +
          'to change those, `hearth remote disable` and enable again (every phone must then be added again)',
      );
    writePrivate(paths.state, `${JSON.stringify(state, null, 2)}\n`);
    return { remote: { ...existing, state }, created: false };
  }
  const keys = generateKeyPair();
  const hubAddress = options.subnet.network + 1;
  const conf: WgConf = {
    head: [
      "# The Hearth hub's WireGuard tunnel for phones away from home (`hearth remote`).",
      '# Peers are added and removed with `sudo hearth remote add-phone|remove-phone <name>`.',
    ],
    sections: [
      section('Interface', null, [
        ['PrivateKey', keys.privateKey],
        ['Address', `${intToIpv4(hubAddress)}/${options.subnet.prefix}`],
        ['ListenPort', String(options.endpoint.port)],
      ]),
    ],
  };
  // The state first: a config without it is refused as foreign, a state without a config is ignored.
  writePrivate(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  writePrivate(paths.conf, renderConf(conf));
  return { remote: requireRemote(paths), created: true };
}

export function addPhone(
  paths: RemotePaths,
  name: string,
): { address: string; hub: string; phoneConf: string } {
  const remote = requireRemote(paths);
  if (remote.phones.some((phone) => phone.name?.toLowerCase() === name.toLowerCase()))
    throw new RemoteError(`a phone named "${name}" exists already; remove it first or choose another name`);
  const used = new Set([remote.hubAddress, ...remote.phones.map((phone) => ipv4ToInt(phone.address ?? ''))]);
  const last = remote.subnet.network + 2 ** (32 - remote.subnet.prefix) - 2;
  let address = remote.subnet.network + 1;
  while (address <= last && used.has(address)) address++;
  if (address > last)
    throw new RemoteError(`no free address left in ${subnetText(remote.subnet)}; remove a phone first`);
  const phone = generateKeyPair();
  const presharedKey = generatePresharedKey();
  const ip = intToIpv4(address);
  remote.conf.sections.push(
    section('Peer', name, [
      ['PublicKey', phone.publicKey],
      ['PresharedKey', presharedKey],
      ['AllowedIPs', `${ip}/32`],
    ]),
  );
  writePrivate(paths.conf, renderConf(remote.conf));
  // The phone's half is printed once and kept nowhere: whoever holds it is that phone.
  const phoneConf = renderConf({
    head: [],
    sections: [
      section('Interface', null, [
        ['PrivateKey', phone.privateKey],
        ['Address', `${ip}/32`],
      ]),
      section('Peer', null, [
        ['PublicKey', remote.publicKey],
        ['PresharedKey', presharedKey],
        ['Endpoint', remote.state.endpoint],
        ['AllowedIPs', [subnetText(remote.subnet), ...remote.state.allowedIps].join(', ')],
        ['PersistentKeepalive', String(KEEPALIVE_SECONDS)],
      ]),
    ],
  });
  return { address: ip, hub: intToIpv4(remote.hubAddress), phoneConf };
}

export function removePhone(paths: RemotePaths, name: string): Phone {
  const remote = requireRemote(paths);
  const index = remote.conf.sections.findIndex(
    (entry) => entry.kind.toLowerCase() === 'peer' && peerName(entry)?.toLowerCase() === name.toLowerCase(),
  );
  if (index < 0) throw new RemoteError(`no phone named "${name}" (see hearth remote list)`);
  const [removed] = remote.conf.sections.splice(index, 1);
  writePrivate(paths.conf, renderConf(remote.conf));
  return {
    name: peerName(removed!),
    publicKey: keyValue(removed!, 'PublicKey') ?? '',
    address: hostAddress(keyValue(removed!, 'AllowedIPs')),
  };
}

/** Deletes the hub's key and every peer: the phones' configurations can never connect again. */
export function disableRemote(paths: RemotePaths): number {
  const remote = requireRemote(paths);
  try {
    rmSync(paths.conf);
    rmSync(paths.state);
  } catch (error) {
    fsFailure(error, paths.conf, 'remove');
  }
  return remote.phones.length;
}
