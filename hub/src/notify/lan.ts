import { isIPv4, isIPv6 } from 'node:net';

/**
 * A household hub never phones home: outbound channels may only name hosts on the LAN. A host is
 * accepted when it is a loopback, private (RFC 1918), link-local or unique-local (fc00::/7) IP
 * literal, or a name that cannot be a public DNS name: `*.local` (mDNS), `*.lan`, `*.home.arpa`
 * (RFC 8375), `*.internal`, or a single label (`homeassistant`, `localhost`).
 *
 * This checks what the owner typed. A LAN name the household's own DNS points outside is the
 * household's choice, not something the hub can see here.
 */
const LAN_SUFFIXES = ['.local', '.lan', '.home.arpa', '.internal'];

function ipv4Octets(address: string): number[] {
  return address.split('.').map(Number);
}

function isLanIPv4(address: string): boolean {
  const [a = -1, b = -1] = ipv4Octets(address);
  return (
    a === 127 || // loopback
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) // link-local
  );
}

/** The 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail turned into two groups). */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Octets(tail[1]);
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16));
}

function isLanIPv6(address: string): boolean {
  const groups = ipv6Groups(address.toLowerCase());
  if (groups?.length !== 8) return false;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0 && g6 === 0 && g7 === 1) return true; // ::1
  // IPv4-mapped (::ffff:a.b.c.d): judged by the IPv4 address inside.
  if (zeroPrefix && g5 === 0xffff) return isLanIPv4(`${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`);
  return (g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfe80; // fc00::/7 unique-local, fe80::/10 link-local
}

/** `hostname` as `URL.hostname` gives it: IPv6 in brackets, IPv4 already normalised. */
export function isLanHost(hostname: string): boolean {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host) return false;
  if (isIPv4(host)) return isLanIPv4(host);
  if (isIPv6(host)) return isLanIPv6(host.split('%')[0] ?? host);
  // A dotted name of digits only would be an IP address the URL parser did not normalise.
  if (/^[\d.]+$/.test(host)) return false;
  if (!host.includes('.')) return true;
  return LAN_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

export const LAN_ONLY_MESSAGE =
  'must be on the household LAN: a private, loopback or link-local IP address, or a name ending in .local, .lan, .home.arpa or .internal (or a single-label name); Hearth never sends alerts to the internet';
