import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Role } from '../accounts/accounts.schema.js';
import type { SessionService } from '../accounts/sessions.service.js';
import type { DeviceService } from '../devices/devices.service.js';
import type { AppEnv } from './env.js';
import { AppError, forbidden, unauthorized } from './errors.js';

/**
 * Who may call a route. Every route declares one with `allow(...)` as its first handler;
 * the route-table test reads it back from the router and proves it is enforced.
 */
export type Access = 'public' | Role | 'device';

export const ACCESS = Symbol('hearth.access');
export interface RouteDoc {
  access: Access;
  summary: string;
}
export type DocumentedMiddleware = MiddlewareHandler<AppEnv> & { [ACCESS]: RouteDoc };

export const SESSION_COOKIE = 'hearth_session';
const RANK: Record<Role, number> = { viewer: 0, member: 1, owner: 2 };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery guard for cookie-authenticated writes: the browser always sends
 * `Origin` (or at least `Sec-Fetch-Site`) on a cross-site POST, and a page on another site cannot
 * forge either. A write that carries neither is refused too: only browsers hold the cookie.
 */
export function isSameOrigin(headers: { origin?: string; host?: string; fetchSite?: string }): boolean {
  if (headers.origin) {
    try {
      return new URL(headers.origin).host === headers.host;
    } catch {
      return false;
    }
  }
  return headers.fetchSite === 'same-origin' || headers.fetchSite === 'none';
}

export function createAccess(deps: { sessions: SessionService; devices: DeviceService }) {
  function allow(access: Access, summary: string): DocumentedMiddleware {
    const handler = createMiddleware<AppEnv>(async (c, next) => {
      if (access === 'public') return next();
      if (access === 'device') {
        const header = c.req.header('authorization') ?? '';
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        const device = match ? deps.devices.authenticate(match[1]!) : null;
        if (!device) throw new AppError(401, 'unauthorized', 'A valid device token is required.');
        c.set('device', device);
        return next();
      }
      const token = getCookie(c, SESSION_COOKIE);
      const session = token ? deps.sessions.authenticate(token) : null;
      if (!session) throw unauthorized();
      if (!SAFE_METHODS.has(c.req.method)) {
        const sameOrigin = isSameOrigin({
          origin: c.req.header('origin'),
          host: c.req.header('host'),
          fetchSite: c.req.header('sec-fetch-site'),
        });
        if (!sameOrigin) throw new AppError(403, 'csrf', 'Cross-site request refused.');
      }
      if (RANK[session.user.role] < RANK[access]) throw forbidden();
      c.set('user', session.user);
      c.set('sessionHash', session.idHash);
      return next();
    });
    return Object.assign(handler, { [ACCESS]: { access, summary } });
  }
  return { allow };
}

export type AllowFn = ReturnType<typeof createAccess>['allow'];
