import { BlockList, isIP } from 'node:net';
import type os from 'node:os';

/** What the server certificate should name: DNS names and IP addresses, canonical and without duplicates. */
export interface CertNames {
  dns: string[];
  ips: string[];
}

/**
 * What the CA may vouch for (its nameConstraints extension). Everything a household reaches its hub by:
 * mDNS names, `localhost`, the special-use home domains, and private, loopback and link-local addresses.
 * A stolen CA key therefore cannot impersonate a bank on the household's phones. Names from the config
 * at the CA's first start are added; names added later outside these trees are left out of the server
 * certificate (with a warning) until the CA is rotated.
 */
export const PERMITTED_DNS = ['local', 'localhost', 'home.arpa', 'internal', 'lan'];
export const PERMITTED_IPS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '127.0.0.0/8',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
];

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `<hostname>.local`, the name the hub answers to over mDNS; null when the host name is not a DNS label. */
export function mdnsName(hostname: string): string | null {
  const label = hostname.split('.')[0]?.toLowerCase() ?? '';
  return LABEL.test(label) ? `${label}.local` : null;
}

/** One spelling per address (RFC 5952 for IPv6, through the URL parser), without a zone; null if not an IP. */
export function canonicalIp(address: string): string | null {
  const bare = address.split('%')[0] ?? '';
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return null;
}

/** Every non-internal address of the machine, plus the loopback ones. */
export function machineAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string[] {
  const found = ['127.0.0.1', '::1'];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) if (!info.internal) found.push(info.address);
  }
  return unique(found.map(canonicalIp).filter((ip): ip is string => ip !== null));
}

export function wantedNames(deps: {
  hostname: string;
  extraNames: readonly string[];
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}): CertNames {
  const mdns = mdnsName(deps.hostname);
  return {
    dns: unique([...(mdns ? [mdns] : []), 'localhost', ...deps.extraNames.map((name) => name.toLowerCase())]),
    ips: machineAddresses(deps.interfaces),
  };
}

/** RFC 5280 dNSName constraint: the name itself or any name under it. */
export function dnsWithin(name: string, base: string): boolean {
  return name === base || name.endsWith(`.${base}`);
}

export interface Permitted {
  dns: string[];
  /** CIDR blocks, e.g. `10.0.0.0/8`. */
  ips: string[];
}

/** The names a CA with these constraints may put in a certificate; null constraints permit everything. */
export function partitionByConstraints(
  names: CertNames,
  permitted: Permitted | null,
): { granted: CertNames; omitted: string[] } {
  if (!permitted) return { granted: names, omitted: [] };
  const blocks = new BlockList();
  for (const cidr of permitted.ips) {
    const [address, bits] = cidr.split('/');
    blocks.addSubnet(address!, Number(bits), isIP(address!) === 6 ? 'ipv6' : 'ipv4');
  }
  const dns = names.dns.filter((name) => permitted.dns.some((base) => dnsWithin(name, base)));
  const ips = names.ips.filter((ip) => blocks.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4'));
  const omitted = [
    ...names.dns.filter((name) => !dns.includes(name)),
    ...names.ips.filter((ip) => !ips.includes(ip)),
  ];
  return { granted: { dns, ips }, omitted };
}

/** The CA's permitted trees: the defaults plus configured names they do not already cover. */
export function permittedFor(extraNames: readonly string[]): Permitted {
  const dns = [...PERMITTED_DNS];
  for (const name of extraNames) if (!dns.some((base) => dnsWithin(name, base))) dns.push(name);
  return { dns, ips: [...PERMITTED_IPS] };
}

export function sameNames(a: CertNames, b: CertNames): boolean {
  const key = (names: CertNames) => JSON.stringify([[...names.dns].sort(), [...names.ips].sort()]);
  return key(a) === key(b);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
