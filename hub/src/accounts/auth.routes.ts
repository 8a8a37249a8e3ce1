import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { AllowFn } from '../http/access.js';
import { SESSION_COOKIE } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import type { LoginLimiter } from './login-limiter.js';
import type { SessionService } from './sessions.service.js';
import type { SetupService } from './setup.service.js';
import { localeSchema, type UserService, usernameSchema } from './users.service.js';

const loginBody = z
  .object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) })
  .strict();
const setupBody = z
  .object({
    code: z.string().min(1).max(32),
    username: usernameSchema,
    password: z.string().min(1).max(256),
    locale: localeSchema.optional(),
  })
  .strict();
const mePatch = z
  .object({ locale: localeSchema.optional(), displayName: z.string().trim().min(1).max(64).optional() })
  .strict();
const passwordBody = z
  .object({ currentPassword: z.string().min(1).max(256), newPassword: z.string().min(1).max(256) })
  .strict();

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function authRoutes(deps: {
  allow: AllowFn;
  users: UserService;
  sessions: SessionService;
  setup: SetupService;
  limiter: LoginLimiter;
  config: Config['auth'];
}) {
  const { allow, users, sessions, setup, limiter } = deps;

  function startSession(c: Context<AppEnv>, userId: number) {
    const { token, maxAgeSeconds } = sessions.create(userId, {
      userAgent: c.req.header('user-agent'),
      ip: clientAddress(c),
    });
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: maxAgeSeconds,
      secure: deps.config.secureCookies,
    });
  }

  return new Hono<AppEnv>()
    .get('/setup', allow('public', 'Whether first-run setup is still open'), (c) =>
      c.json({ needed: setup.isNeeded() }),
    )
    .post(
      '/setup',
      allow('public', 'Create the first owner with the one-time setup code'),
      validate('json', setupBody),
      async (c) => {
        const body = c.req.valid('json');
        const ip = clientAddress(c);
        await limiter.assertAllowed(ip, '');
        let owner: Awaited<ReturnType<SetupService['complete']>>;
        try {
          owner = await setup.complete(body);
        } catch (error) {
          if (error instanceof AppError && error.code === 'bad_setup_code')
            await limiter.recordFailure(ip, '');
          throw error;
        }
        c.get('log').info({ user: owner.username }, 'first owner created');
        startSession(c, owner.id);
        return c.json({ user: owner }, 201);
      },
    )
    .post(
      '/auth/login',
      allow('public', 'Sign in; sets the session cookie'),
      validate('json', loginBody),
      async (c) => {
        const { username, password } = c.req.valid('json');
        const ip = clientAddress(c);
        const account = username.trim().toLowerCase();
        await limiter.assertAllowed(ip, account);
        const user = await users.verifyCredentials(account, password);
        if (!user) {
          await limiter.recordFailure(ip, account);
          c.get('log').warn({ account, ip }, 'failed sign-in');
          throw new AppError(401, 'invalid_credentials', 'Wrong name or password.');
        }
        await limiter.recordSuccess(account);
        startSession(c, user.id);
        return c.json({ user: users.get(user.id) }, 200);
      },
    )
    .post('/auth/logout', allow('viewer', 'Sign out; ends the session on the hub'), (c) => {
      sessions.revoke(c.get('sessionHash'));
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    })
    .get('/auth/me', allow('viewer', 'The signed-in user'), (c) =>
      c.json({ user: users.get(c.get('user').id) }),
    )
    .patch(
      '/auth/me',
      allow('viewer', 'Change your own language or display name'),
      validate('json', mePatch),
      (c) => c.json({ user: users.update(c.get('user').id, c.req.valid('json')) }),
    )
    .post(
      '/auth/password',
      allow('viewer', 'Change your own password (ends your other sessions)'),
      validate('json', passwordBody),
      async (c) => {
        const { currentPassword, newPassword } = c.req.valid('json');
        const me = c.get('user');
        if (!(await users.verifyCredentials(me.username, currentPassword)))
          throw new AppError(403, 'invalid_credentials', 'The current password is wrong.');
        await users.setPassword(me.id, newPassword, 'newPassword');
        startSession(c, me.id);
        return c.body(null, 204);
      },
    );
}
