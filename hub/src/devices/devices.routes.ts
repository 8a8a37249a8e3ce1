import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { type DeviceService, newDeviceSchema } from './devices.service.js';

const idParam = z.object({ id: z.coerce.number().int().positive() });
const tokenParam = z.object({
  id: z.coerce.number().int().positive(),
  tokenId: z.coerce.number().int().positive(),
});

/** People managing devices (session auth). */
export function deviceRoutes(deps: { allow: AllowFn; devices: DeviceService }) {
  const { allow, devices } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'List cameras and edge nodes'), (c) => c.json({ devices: devices.list() }))
    .post(
      '/',
      allow('owner', 'Add a device; its token is in this answer only'),
      validate('json', newDeviceSchema),
      (c) => c.json(devices.create(c.req.valid('json')), 201),
    )
    .delete('/:id', allow('owner', 'Remove a device and its tokens'), validate('param', idParam), (c) => {
      devices.remove(c.req.valid('param').id);
      return c.body(null, 204);
    })
    .get(
      '/:id/tokens',
      allow('owner', "List a device's tokens (never the secrets)"),
      validate('param', idParam),
      (c) => c.json({ tokens: devices.listTokens(c.req.valid('param').id) }),
    )
    .post(
      '/:id/tokens',
      allow('owner', 'Issue another token for a device'),
      validate('param', idParam),
      (c) => c.json(devices.createToken(c.req.valid('param').id), 201),
    )
    .delete(
      '/:id/tokens/:tokenId',
      allow('owner', 'Revoke a device token'),
      validate('param', tokenParam),
      (c) => {
        const { id, tokenId } = c.req.valid('param');
        return c.json({ token: devices.revokeToken(id, tokenId) });
      },
    );
}

/** Devices calling the hub with their bearer token: `/api/device/...` only. */
export function deviceSelfRoutes(deps: { allow: AllowFn; devices: DeviceService }) {
  const { allow, devices } = deps;
  return new Hono<AppEnv>().get(
    '/me',
    allow('device', 'The calling device; records that it was heard from'),
    (c) => {
      const device = devices.get(c.get('device').id);
      return c.json({
        device: {
          id: device.id,
          name: device.name,
          kind: device.kind,
          status: device.status,
          lastSeenAt: device.lastSeenAt,
        },
      });
    },
  );
}
