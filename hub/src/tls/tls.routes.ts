import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { TlsService } from './tls.service.js';

/** Whether plain-HTTP page loads go to HTTPS: the owner's setting, else the config's default. */
export function redirectEnabled(settings: SettingsService, byDefault: boolean): boolean {
  return settings.read().httpsRedirect ?? byDefault;
}

const httpsOff = () =>
  new AppError(404, 'https_disabled', 'HTTPS is turned off in this hub’s configuration (https.enabled).');

export function tlsRoutes(deps: {
  allow: AllowFn;
  /** Null when `https.enabled` is false. */
  tls: TlsService | null;
  /** The port HTTPS listens on; null before it listens or when it is off. */
  httpsPort: () => number | null;
  /** The plain-HTTP port (phones without the CA yet fetch it there: the QR code on /secure). */
  httpPort: () => number;
  settings: SettingsService;
  redirectByDefault: boolean;
}) {
  const { allow, settings } = deps;
  const ready = () => {
    if (!deps.tls?.ready()) throw httpsOff();
    return deps.tls;
  };
  return new Hono<AppEnv>()
    .get(
      '/',
      allow(
        'public',
        'The hub’s local CA (SHA-256 fingerprint to compare on a phone) and HTTPS certificate: names, addresses, ports, redirect',
      ),
      (c) =>
        c.json({
          ...ready().status(),
          httpsPort: deps.httpsPort(),
          httpPort: deps.httpPort(),
          redirect: redirectEnabled(settings, deps.redirectByDefault),
        }),
    )
    .get(
      '/ca.crt',
      allow('public', 'The hub’s CA certificate (DER) to install on phones and computers'),
      (c) =>
        c.body(new Uint8Array(ready().caDer()), 200, {
          'Content-Type': 'application/x-x509-ca-cert',
          'Content-Disposition': 'attachment; filename="hearth-ca.crt"',
          'Cache-Control': 'no-cache',
        }),
    )
    .get('/ca.pem', allow('public', 'The hub’s CA certificate (PEM)'), (c) =>
      c.body(ready().caPem(), 200, {
        'Content-Type': 'application/x-pem-file',
        'Content-Disposition': 'attachment; filename="hearth-ca.pem"',
        'Cache-Control': 'no-cache',
      }),
    )
    .put(
      '/redirect',
      allow('owner', 'Send browsers’ page loads on plain HTTP to HTTPS (devices and the API never are)'),
      validate('json', z.object({ enabled: z.boolean() }).strict()),
      (c) => {
        const { enabled } = c.req.valid('json');
        if (enabled && deps.httpsPort() === null)
          throw new AppError(
            409,
            'https_disabled',
            'HTTPS is not running on this hub, so nothing to redirect to.',
          );
        const updated = settings.update({ httpsRedirect: enabled });
        return c.json({ redirect: updated.httpsRedirect ?? deps.redirectByDefault });
      },
    );
}
