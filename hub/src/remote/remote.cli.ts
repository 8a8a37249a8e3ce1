import os from 'node:os';
import { parseArgs } from 'node:util';
import QRCode from 'qrcode';
import { type Command, table, UsageError } from '../cli/command.js';
import { loadConfig } from '../config/load.js';
import {
  type Endpoint,
  intToIpv4,
  ipv4ToInt,
  isCidr,
  isPrivateSubnet,
  isUnreachableFromOutside,
  overlaps,
  parseEndpoint,
  parseSubnet,
  type Subnet,
  subnetOf,
  subnetText,
} from './addresses.js';
import {
  addPhone,
  DEFAULT_PORT,
  DEFAULT_SUBNET,
  disableRemote,
  enableRemote,
  loadRemote,
  RemoteError,
  type RemotePaths,
  remotePaths,
  removePhone,
} from './remote.service.js';
import { applyLive, interfaceUp, latestHandshakes } from './wg-tool.js';

const PHONE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const INTERFACE_NAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/**
 * The options of the terminal QR code: half-height blocks in explicit black on white (a dark terminal
 * theme would otherwise invert it), low error correction so a full phone configuration stays under 80
 * columns; a screen is not a damaged label. Exported for the test, which renders the same text again.
 */
export const QR_OPTIONS = { type: 'terminal', small: true, errorCorrectionLevel: 'L' } as const;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        endpoint: { type: 'string' },
        subnet: { type: 'string' },
        'allowed-ips': { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((error as Error).message.split('. ')[0]!);
    throw error;
  }
}

/** The machine's own IPv4 networks (not the tunnel): where the port forward points, what must not clash. */
function lanNetworks(tunnel: string): { name: string; address: string; subnet: Subnet }[] {
  const found: { name: string; address: string; subnet: Subnet }[] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    if (name === tunnel) continue;
    for (const info of list ?? []) {
      const address = ipv4ToInt(info.address);
      if (info.family !== 'IPv4' || info.internal || address === null) continue;
      found.push({
        name,
        address: info.address,
        subnet: subnetOf(address, Number(info.cidr?.split('/')[1])),
      });
    }
  }
  return found;
}

function hubUrl(address: string): string {
  const config = loadConfig();
  return config.https.enabled
    ? `https://${address}:${config.https.port}`
    : `http://${address}:${config.server.port}`;
}

/** After the file changed: the running tunnel takes it at once, a stopped one at its next start. */
function apply(paths: RemotePaths): number {
  if (!interfaceUp(paths.interfaceName)) {
    console.log(
      `The tunnel is not running; this takes effect when it starts (sudo systemctl enable --now wg-quick@${paths.interfaceName}).`,
    );
    return 0;
  }
  try {
    applyLive(paths.interfaceName, paths.conf);
    console.log(`Applied to the running tunnel ${paths.interfaceName}.`);
    return 0;
  } catch (error) {
    console.error(
      `hearth: saved, but the running tunnel did not take it (${(error as Error).message}); ` +
        `sudo systemctl restart wg-quick@${paths.interfaceName} applies it`,
    );
    return 1;
  }
}

function enable(paths: RemotePaths, values: ReturnType<typeof parse>['values']): number {
  if (!values.endpoint)
    throw new UsageError('remote enable needs --endpoint HOST[:PORT], the name or address phones dial');
  const endpoint: Endpoint | null = parseEndpoint(values.endpoint, DEFAULT_PORT);
  if (!endpoint)
    throw new UsageError(`--endpoint "${values.endpoint}" is not HOST, HOST:PORT or [IPv6]:PORT`);
  const subnet = parseSubnet(values.subnet ?? DEFAULT_SUBNET);
  if (!subnet || !isPrivateSubnet(subnet) || subnet.prefix < 16 || subnet.prefix > 29)
    throw new UsageError(
      `--subnet must be a private IPv4 network from /16 to /29 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (e.g. ${DEFAULT_SUBNET})`,
    );
  const allowedIps = (values['allowed-ips'] ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter(Boolean);
  const bad = allowedIps.find((text) => !isCidr(text));
  if (bad) throw new UsageError(`--allowed-ips: "${bad}" is not an address range like 192.168.1.0/24`);
  const lans = lanNetworks(paths.interfaceName);
  const clash = lans.find((lan) => overlaps(lan.subnet, subnet));
  if (clash)
    throw new RemoteError(
      `the tunnel subnet ${subnetText(subnet)} overlaps this machine's network ${subnetText(clash.subnet)} on ${clash.name}; choose another --subnet`,
    );

  if (isUnreachableFromOutside(endpoint.host))
    console.error(
      `warning: ${endpoint.host} cannot be dialled from outside the house (a private or carrier-grade NAT address); ` +
        "give the router's public address or a (dynamic) DNS name for it, then run enable again",
    );
  const { remote, created } = enableRemote(paths, { endpoint, subnet, allowedIps });
  const hub = intToIpv4(remote.hubAddress);
  if (!created) {
    console.log(
      `Remote access was enabled already; phones added from now on dial ${remote.state.endpoint}` +
        `${allowedIps.length ? ` and reach ${allowedIps.join(', ')}` : ''}. Phones added before keep their configuration.`,
    );
    return 0;
  }
  const lan =
    (lans.find((entry) => isPrivateSubnet(entry.subnet)) ?? lans[0])?.address ?? "<this hub's LAN address>";
  console.log(`Remote access is set up in ${paths.conf} (not started yet).
  tunnel ${subnetText(remote.subnet)}, the hub is ${hub} in it; UDP port ${remote.listenPort}
  hub public key ${remote.publicKey}

Next:
  1. On the router, forward UDP port ${endpoint.port} to ${lan} port ${remote.listenPort} (and give the hub a fixed
     address in the router's DHCP settings). Phones dial ${remote.state.endpoint}.
  2. Start the tunnel now and at every boot: sudo systemctl enable --now wg-quick@${paths.interfaceName}
  3. For each phone: sudo hearth remote add-phone <name>
Phones with the tunnel on open ${hubUrl(hub)}.`);
  return 0;
}

async function addPhoneCommand(paths: RemotePaths, name: string | undefined): Promise<number> {
  if (!name || !PHONE_NAME.test(name))
    throw new UsageError(
      'remote add-phone needs a name: letters, digits, ".", "_" or "-", up to 32, e.g. anna-phone',
    );
  const { address, hub, phoneConf } = addPhone(paths, name);
  const qr = await QRCode.toString(phoneConf, QR_OPTIONS);
  console.log(`Added phone "${name}" as ${address}. Its configuration is shown only now: the hub keeps no copy
of its private key (lost phone or configuration: remove-phone, then add-phone again).

----- BEGIN ${name}.conf -----
${phoneConf}----- END ${name}.conf -----

In the WireGuard app: + → Scan from QR code (or import the text above as a file named ${name}.conf):
${qr}
Then, with the tunnel on, open ${hubUrl(hub)}.`);
  return apply(paths);
}

function list(paths: RemotePaths): number {
  const remote = loadRemote(paths);
  if (!remote) {
    console.log(`remote access: off (no ${paths.conf})`);
    return 0;
  }
  const up = interfaceUp(paths.interfaceName);
  const handshakes = up ? latestHandshakes(paths.interfaceName) : new Map<string, number>();
  console.log(
    `remote access: ${up ? 'running' : 'not running'}; tunnel ${subnetText(remote.subnet)}, hub ${intToIpv4(remote.hubAddress)}, ` +
      `UDP ${remote.listenPort}, phones dial ${remote.state.endpoint}`,
  );
  console.log(
    table(
      remote.phones.map((phone) => {
        const seconds = handshakes.get(phone.publicKey);
        return {
          name: phone.name ?? '(not added by hearth)',
          address: phone.address,
          publicKey: `${phone.publicKey.slice(0, 10)}…`,
          lastHandshake: !up ? '-' : seconds ? new Date(seconds * 1000) : 'never',
        };
      }),
    ),
  );
  return 0;
}

/** `hearth remote …`: the WireGuard tunnel that lets household phones reach the hub from outside. */
export const remoteCommand: Command = async (argv) => {
  const { positionals, values } = parse(argv);
  const [action, name, ...extra] = positionals;
  if (values.help || !action) {
    console.log(REMOTE_USAGE);
    return action || values.help ? 0 : 64;
  }
  if (extra.length) throw new UsageError(`unexpected "${extra.join(' ')}"`);
  const interfaceName = process.env.HEARTH_WG_INTERFACE || 'hearth';
  if (!INTERFACE_NAME.test(interfaceName))
    throw new UsageError(`HEARTH_WG_INTERFACE "${interfaceName}" is not an interface name`);
  const paths = remotePaths(values.root ?? '/', interfaceName);
  try {
    switch (action) {
      case 'enable':
        return enable(paths, values);
      case 'add-phone':
        return await addPhoneCommand(paths, name);
      case 'remove-phone': {
        if (!name) throw new UsageError("remote remove-phone needs the phone's name");
        const removed = removePhone(paths, name);
        console.log(
          `Removed phone "${removed.name}" (${removed.address}); its configuration no longer connects.`,
        );
        return apply(paths);
      }
      case 'list':
        return list(paths);
      case 'disable': {
        if (interfaceUp(paths.interfaceName))
          throw new RemoteError(
            `the tunnel is running; stop it first: sudo systemctl disable --now wg-quick@${paths.interfaceName}`,
          );
        const phones = disableRemote(paths);
        console.log(
          `Remote access removed: the hub's key and ${phones} phone(s) are deleted; their configurations never connect again. ` +
            'Remove the port forward on the router too.',
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown remote command "${action}"`);
    }
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.error(`hearth: ${error.message}`);
    return 1;
  }
};

export const REMOTE_USAGE = `hearth remote: WireGuard access for household phones away from home (off until enabled; run with sudo)

  hearth remote enable --endpoint HOST[:PORT] [--subnet ${DEFAULT_SUBNET}] [--allowed-ips CIDR,...]
                                    the hub's tunnel in /etc/wireguard/hearth.conf; PORT defaults to ${DEFAULT_PORT}
  hearth remote add-phone <name>    a new phone: prints its configuration and a QR code for the WireGuard app
  hearth remote remove-phone <name> revokes that phone at once (live when the tunnel runs)
  hearth remote list                phones, their addresses and latest handshakes
  hearth remote disable             deletes the tunnel's key and every phone (stop the tunnel first)

  --root DIR writes under DIR/etc/wireguard instead; HEARTH_WG_INTERFACE names the interface (default hearth).`;
