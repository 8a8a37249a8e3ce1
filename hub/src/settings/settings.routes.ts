import { Hono } from 'hono';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { householdSettingsSchema, type SettingsService } from './settings.service.js';

export function settingsRoutes(deps: { allow: AllowFn; settings: SettingsService }) {
  const { allow, settings } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'Household settings (time zone, name)'), (c) =>
      c.json({ settings: settings.read() }),
    )
    .patch(
      '/',
      allow('owner', 'Change household settings'),
      validate('json', householdSettingsSchema.partial()),
      (c) => c.json({ settings: settings.update(c.req.valid('json')) }),
    );
}
