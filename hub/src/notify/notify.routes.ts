import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { validate } from '../http/validate.js';
import { channelIdSchema, channelListSchema } from './channels.js';
import type { NotifyService } from './notify.service.js';

export function notifyRoutes(deps: { allow: AllowFn; notify: NotifyService }) {
  const { allow, notify } = deps;
  return new Hono<AppEnv>()
    .get(
      '/channels',
      allow('owner', 'Outbound alert channels (secrets shown as ***) and how each is delivering'),
      (c) => c.json(notify.list()),
    )
    .put(
      '/channels',
      allow(
        'owner',
        'Replaces the alert channels: webhook, ntfy, MQTT, LAN hosts only; a secret sent back as *** is kept',
      ),
      validate('json', z.object({ channels: channelListSchema }).strict()),
      (c) => c.json(notify.replace(c.req.valid('json').channels)),
    )
    .post(
      '/channels/:id/test',
      allow('owner', 'Sends a test notice on one alert channel now → {ok, error?}'),
      validate('param', z.object({ id: channelIdSchema })),
      async (c) => c.json(await notify.test(c.req.valid('param').id)),
    );
}
