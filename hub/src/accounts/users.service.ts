import { asc, count, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { SessionUser } from '../http/env.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import { ROLES, type Role, sessions, users } from './accounts.schema.js';
import { hashPassword, spendPasswordCheck, verifyPassword } from './password.js';

export const usernameSchema = z
  .string()
  .trim()
  .min(2)
  .max(32)
  .regex(/^[\p{L}\p{N}._-]+$/u, 'letters, digits, dot, dash and underscore only')
  .transform((name) => name.toLowerCase());

export function passwordSchema(minLength: number) {
  return z.string().min(minLength, `at least ${minLength} characters`).max(256);
}

export const roleSchema = z.enum(ROLES);
export const localeSchema = z.enum(['en', 'ko']);

/** What the API shows of a user: never the password hash. */
export interface PublicUser extends SessionUser {
  createdAt: Date;
}

export function toSessionUser(row: typeof users.$inferSelect): SessionUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    role: row.role,
    locale: row.locale,
  };
}

function toPublic(row: typeof users.$inferSelect): PublicUser {
  return { ...toSessionUser(row), createdAt: row.createdAt };
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  displayName?: string | undefined;
  locale?: 'en' | 'ko' | undefined;
}

export function createUserService(deps: { db: Db; clock: Clock; passwordMinLength: number }) {
  const { db, clock } = deps;
  const password = passwordSchema(deps.passwordMinLength);

  /** `field` names the request field the password came in, so the UI can mark it. */
  function checkPassword(value: string, field = 'password'): void {
    const parsed = password.safeParse(value);
    if (!parsed.success)
      throw new AppError(400, 'invalid_input', 'Password too weak.', {
        issues: [{ path: field, message: parsed.error.issues[0]?.message ?? 'invalid' }],
      });
  }

  function ownerCount(): number {
    return db.select({ n: count() }).from(users).where(eq(users.role, 'owner')).get()?.n ?? 0;
  }

  function getRow(id: number) {
    const row = db.select().from(users).where(eq(users.id, id)).get();
    if (!row) throw notFound('User');
    return row;
  }

  const service = {
    count(): number {
      return db.select({ n: count() }).from(users).get()?.n ?? 0;
    },

    list(): PublicUser[] {
      return db.select().from(users).orderBy(asc(users.id)).all().map(toPublic);
    },

    get(id: number): PublicUser {
      return toPublic(getRow(id));
    },

    findByUsername(username: string) {
      return db.select().from(users).where(eq(users.username, username.toLowerCase())).get();
    },

    async create(input: NewUser): Promise<PublicUser> {
      checkPassword(input.password);
      return service.insertHashed(input, await hashPassword(input.password));
    },

    /** Synchronous so callers can run it inside a transaction once the slow hash is done. */
    insertHashed(input: Omit<NewUser, 'password'>, passwordHash: string): PublicUser {
      const username = usernameSchema.parse(input.username);
      const now = new Date(clock.now());
      try {
        const row = db
          .insert(users)
          .values({
            username,
            displayName: input.displayName?.trim() || username,
            role: input.role,
            passwordHash,
            locale: input.locale ?? 'en',
            createdAt: now,
            updatedAt: now,
          })
          .returning()
          .get();
        return toPublic(row);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw conflict(`The name "${username}" is taken.`);
        throw error;
      }
    },

    checkPassword,

    /** Returns the user when the credentials match; spends the same time either way. */
    async verifyCredentials(username: string, candidate: string) {
      const row = db.select().from(users).where(eq(users.username, username.trim().toLowerCase())).get();
      if (!row) {
        await spendPasswordCheck(candidate);
        return null;
      }
      return (await verifyPassword(candidate, row.passwordHash)) ? row : null;
    },

    update(
      id: number,
      patch: { role?: Role | undefined; displayName?: string | undefined; locale?: 'en' | 'ko' | undefined },
    ): PublicUser {
      const row = getRow(id);
      if (patch.role && row.role === 'owner' && patch.role !== 'owner' && ownerCount() <= 1)
        throw conflict('The last owner cannot be demoted.');
      const updated = db
        .update(users)
        .set({
          ...(patch.role ? { role: patch.role } : {}),
          ...(patch.displayName ? { displayName: patch.displayName.trim() } : {}),
          ...(patch.locale ? { locale: patch.locale } : {}),
          updatedAt: new Date(clock.now()),
        })
        .where(eq(users.id, id))
        .returning()
        .get();
      if (patch.role && patch.role !== row.role) db.delete(sessions).where(eq(sessions.userId, id)).run();
      return toPublic(updated!);
    },

    /** A new password ends every session of that user. */
    async setPassword(id: number, newPassword: string, field = 'password'): Promise<void> {
      getRow(id);
      checkPassword(newPassword, field);
      const passwordHash = await hashPassword(newPassword);
      db.transaction((tx) => {
        tx.update(users)
          .set({ passwordHash, updatedAt: new Date(clock.now()) })
          .where(eq(users.id, id))
          .run();
        tx.delete(sessions).where(eq(sessions.userId, id)).run();
      });
    },

    remove(id: number): void {
      const row = getRow(id);
      if (row.role === 'owner' && ownerCount() <= 1) throw conflict('The last owner cannot be removed.');
      db.delete(users).where(eq(users.id, id)).run();
    },
  };
  return service;
}

export type UserService = ReturnType<typeof createUserService>;
