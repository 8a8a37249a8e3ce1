import { isIP } from 'node:net';

/** An IPv4 block, the network as a 32-bit number. */
export interface Subnet {
  network: number;
  prefix: number;
}

export function ipv4ToInt(text: string): number | null {
  if (isIP(text) !== 4) return null;
  return text.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/n`, the address part being the network itself (a host address with bits set is a typo). */
export function parseSubnet(text: string): Subnet | null {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!match) return null;
  const network = ipv4ToInt(match[1]!);
  const prefix = Number(match[2]);
  if (network === null || prefix > 32) return null;
  if ((network & mask(prefix)) >>> 0 !== network) return null;
  return { network, prefix };
}

export function subnetText(subnet: Subnet): string {
  return `${intToIpv4(subnet.network)}/${subnet.prefix}`;
}

export function subnetOf(address: number, prefix: number): Subnet {
  return { network: (address & mask(prefix)) >>> 0, prefix };
}

export function inSubnet(subnet: Subnet, address: number): boolean {
  return (address & mask(subnet.prefix)) >>> 0 === subnet.network;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.prefix <= b.prefix ? inSubnet(a, b.network) : inSubnet(b, a.network);
}

/**
 * The RFC 1918 ranges: the hub's unit only lets these through (`IPAddressAllow=`), so a tunnel elsewhere
 * would reach the machine and not the hub. 100.64.0.0/10 is left out on purpose: phones on mobile data
 * often have such an address themselves.
 */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(
  (text) => parseSubnet(text)!,
);

export function isPrivateSubnet(subnet: Subnet): boolean {
  return PRIVATE_RANGES.some((range) => range.prefix <= subnet.prefix && inSubnet(range, subnet.network));
}

/** Addresses a phone outside the house cannot dial: private, carrier-grade NAT, loopback, link-local. */
export function isUnreachableFromOutside(address: string): boolean {
  const value = ipv4ToInt(address);
  if (value === null) return /^(fc|fd|fe80:|::1$)/i.test(address);
  return ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16']
    .map((text) => parseSubnet(text)!)
    .some((range) => inSubnet(range, value));
}

/** An address block for WireGuard's AllowedIPs: IPv4 or IPv6, with its prefix length. */
export function isCidr(text: string): boolean {
  const [address, bits, ...rest] = text.split('/');
  if (rest.length || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(address!);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface Endpoint {
  host: string;
  port: number;
}

/** `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`: what phones dial, with WireGuard's bracket rule. */
export function parseEndpoint(text: string, defaultPort: number): Endpoint | null {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!match) return null;
  const host = match[1] ?? match[2]!;
  if (match[1] ? isIP(host) !== 6 : isIP(host) !== 4 && !DNS_NAME.test(host)) return null;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: host.toLowerCase(), port };
}

export function endpointText(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}
