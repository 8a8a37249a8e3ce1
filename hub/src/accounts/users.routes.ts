import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { conflict } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { localeSchema, roleSchema, type UserService, usernameSchema } from './users.service.js';

const idParam = z.object({ id: z.coerce.number().int().positive() });
const newUser = z
  .object({
    username: usernameSchema,
    password: z.string().min(1).max(256),
    role: roleSchema,
    displayName: z.string().trim().min(1).max(64).optional(),
    locale: localeSchema.optional(),
  })
  .strict();
const userPatch = z
  .object({ role: roleSchema.optional(), displayName: z.string().trim().min(1).max(64).optional() })
  .strict();
const passwordReset = z.object({ password: z.string().min(1).max(256) }).strict();

export function userRoutes(deps: { allow: AllowFn; users: UserService }) {
  const { allow, users } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('owner', 'List users'), (c) => c.json({ users: users.list() }))
    .post('/', allow('owner', 'Add a user'), validate('json', newUser), async (c) =>
      c.json({ user: await users.create(c.req.valid('json')) }, 201),
    )
    .patch(
      '/:id',
      allow('owner', "Change a user's role or name"),
      validate('param', idParam),
      validate('json', userPatch),
      (c) => c.json({ user: users.update(c.req.valid('param').id, c.req.valid('json')) }),
    )
    .post(
      '/:id/password',
      allow('owner', "Reset a user's password (ends their sessions)"),
      validate('param', idParam),
      validate('json', passwordReset),
      async (c) => {
        await users.setPassword(c.req.valid('param').id, c.req.valid('json').password);
        return c.body(null, 204);
      },
    )
    .delete('/:id', allow('owner', 'Remove a user'), validate('param', idParam), (c) => {
      const id = c.req.valid('param').id;
      if (id === c.get('user').id) throw conflict('You cannot remove yourself; ask another owner.');
      users.remove(id);
      return c.body(null, 204);
    });
}
