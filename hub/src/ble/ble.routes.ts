import { Hono } from 'hono';
import { z } from 'zod';
import { cameraIdSchema } from '../cameras/cameras.service.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { AdoptionService } from './adoption.service.js';
import { BleError, type BleManager } from './ble-manager.js';
import type { BleControl } from './camera-control.js';
import { ProvisioningError } from './improv-client.js';
import { type WifiCredentials, wifiInputSchema } from './wifi-credentials.js';

const addressSchema = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/, 'a Bluetooth address, AA:BB:CC:DD:EE:FF');

/** A camera id from its name: "Front door" → front-door (the owner may give one instead). */
export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return slug || `camera-${Date.now().toString(36)}`;
}

/** A camera out of range, asleep or failing over Bluetooth: the owner is told why, as a 4xx/5xx. */
function unreachable(error: unknown): never {
  if (error instanceof ProvisioningError) throw new AppError(409, error.code, error.message);
  if (error instanceof BleError) {
    if (error.code === 'unavailable') throw new AppError(503, 'ble_unavailable', error.message);
    throw new AppError(504, 'ble_unreachable', `${error.message} The camera must be awake and near the hub.`);
  }
  throw error;
}

function unavailable(error: unknown): never {
  if (error instanceof BleError && error.code === 'unavailable')
    throw new AppError(503, 'ble_unavailable', error.message);
  throw error;
}

export function bleRoutes(deps: {
  allow: AllowFn;
  ble: BleManager;
  wifi: WifiCredentials;
  adoptions: AdoptionService;
  control: BleControl;
}) {
  const { allow } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'Whether the hub has Bluetooth, and the adapter'), (c) =>
      c.json({ status: deps.ble.status() }),
    )
    .post(
      '/scan',
      allow('owner', 'Looks for cameras to add (Improv or Hearth service), strongest signal first'),
      validate('json', z.object({ seconds: z.number().min(1).max(20).optional() }).strict()),
      async (c) => {
        const { seconds } = c.req.valid('json');
        const cameras = await deps.ble.scan((seconds ?? 4) * 1000).catch(unavailable);
        return c.json({ cameras });
      },
    )
    .get('/wifi', allow('owner', 'The household Wi-Fi new cameras get: its name, never the password'), (c) =>
      c.json(deps.wifi.describe()),
    )
    .put(
      '/wifi',
      allow('owner', 'Sets the household Wi-Fi new cameras get (the password is sealed, never shown again)'),
      validate('json', wifiInputSchema),
      (c) => {
        deps.wifi.save(c.req.valid('json'));
        return c.json(deps.wifi.describe());
      },
    )
    .get('/adoptions', allow('owner', 'Recent "Add camera" runs, newest first'), (c) =>
      c.json({ adoptions: deps.adoptions.list() }),
    )
    .post(
      '/adoptions',
      allow('owner', 'Adds the camera at a Bluetooth address: Wi-Fi, hub address and token; answers at once'),
      validate(
        'json',
        z
          .object({
            address: addressSchema,
            name: z.string().trim().min(1).max(64),
            cameraId: cameraIdSchema.optional(),
          })
          .strict(),
      ),
      (c) => {
        const { address, name, cameraId } = c.req.valid('json');
        const status = deps.ble.status();
        if (status.state === 'unavailable')
          throw new AppError(503, 'ble_unavailable', `Bluetooth is not available: ${status.reason}`);
        return c.json(
          { adoption: deps.adoptions.start({ address, name, cameraId: cameraId ?? slugOf(name) }) },
          202,
        );
      },
    )
    .post(
      '/devices/:id/factory-reset',
      allow(
        'owner',
        'Erases a camera’s Wi-Fi and enrolment over Bluetooth and retires its device (photos stay)',
      ),
      validate('param', z.object({ id: z.coerce.number().int().positive() })),
      async (c) => {
        await deps.control.factoryReset(c.req.valid('param').id).catch(unreachable);
        return c.json({ reset: true });
      },
    )
    .post(
      '/devices/:id/wifi',
      allow(
        'owner',
        'Gives a camera the household Wi-Fi again over Bluetooth (Improv); may ask for its button',
      ),
      validate('param', z.object({ id: z.coerce.number().int().positive() })),
      async (c) => {
        const urls = await deps.control.reprovision(c.req.valid('param').id, 60_000).catch(unreachable);
        return c.json({ provisioned: true, cameraUrl: urls[0] ?? null });
      },
    )
    .get(
      '/adoptions/:id',
      allow('owner', 'One "Add camera" run and the step it is at'),
      validate('param', z.object({ id: z.coerce.number().int().positive() })),
      (c) => c.json({ adoption: deps.adoptions.get(c.req.valid('param').id) }),
    );
}
