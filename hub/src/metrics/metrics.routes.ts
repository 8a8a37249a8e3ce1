import { BlockList } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Config } from '../config/schema.js';
import { ACCESS, type AllowFn, type DocumentedMiddleware } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { forbidden } from '../http/errors.js';
import type { Metrics } from './metrics.js';

type Range = [network: string, prefix: number, family: 'ipv4' | 'ipv6'];

const LOOPBACK: Range[] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];
/** RFC 1918, link-local, and IPv6 unique-local and link-local: the household's own network (and its VPN). */
const LAN: Range[] = [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

const familyOf = (address: string) => (address.includes(':') ? 'ipv6' : 'ipv4');

/** An address or CIDR the config schema has validated; a bare address is a range of one. */
function rangeOf(entry: string): Range {
  const [network = '', prefix] = entry.split('/');
  const family = familyOf(network);
  return [network, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family];
}

/**
 * The peer addresses `metrics.allowFrom` lets in without a session. Node's BlockList matches IPv4-mapped
 * IPv6 peers (`::ffff:127.0.0.1`, a dual-stack listener) against IPv4 ranges too.
 */
export function addressRule(allowFrom: Config['metrics']['allowFrom']) {
  const list = new BlockList();
  for (const entry of allowFrom) {
    if (entry === 'owners') continue;
    const ranges = entry === 'localhost' ? LOOPBACK : entry === 'lan' ? LAN : [rangeOf(entry)];
    for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  }
  return (address: string | undefined): boolean =>
    address !== undefined && list.check(address, familyOf(address));
}

/**
 * `GET /metrics` for Prometheus. Outside `/api` because that is where scrapers look by default. Let in by
 * the TCP peer's address (never a forwarded header: the hub has no proxy in front of it) or, when
 * `allowFrom` names `owners`, by an owner's session through the same guard as every owner route.
 */
export function metricsRoutes(deps: {
  allow: AllowFn;
  metrics: Metrics;
  allowFrom: Config['metrics']['allowFrom'];
}) {
  const summary =
    'Prometheus metrics (text format): to peers metrics.allowFrom admits (default loopback) or owners';
  const fromAllowed = addressRule(deps.allowFrom);
  const asOwner = deps.allowFrom.includes('owners') ? deps.allow('owner', summary) : null;
  const guard: DocumentedMiddleware = Object.assign(
    createMiddleware<AppEnv>(async (c, next) => {
      if (fromAllowed(getConnInfo(c).remote.address)) return next();
      if (!asOwner) throw forbidden('Metrics are not served to this address (metrics.allowFrom).');
      return asOwner(c, next);
    }),
    { [ACCESS]: { access: 'owner' as const, summary } },
  );
  return new Hono<AppEnv>().get('/metrics', guard, async (c) =>
    c.body(await deps.metrics.scrape(), 200, {
      'Content-Type': deps.metrics.contentType,
      'Cache-Control': 'no-store',
    }),
  );
}
