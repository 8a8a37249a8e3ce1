import { timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { AppError, conflict } from '../http/errors.js';
import { settings } from '../settings/settings.schema.js';
import { hashPassword } from './password.js';
import { newHumanCode } from './tokens.js';
import type { UserService } from './users.service.js';

const SETUP_KEY = 'setup_code';

/**
 * First run without a default password: while no user exists the hub keeps a one-time code
 * (in the database, so `hearth setup-code` in another process prints the same one), and the
 * first visitor who presents it becomes the owner.
 */
export function createSetupService(deps: { db: Db; clock: Clock; users: UserService }) {
  const { db, clock, users } = deps;

  function stored(): string | null {
    const row = db.select().from(settings).where(eq(settings.key, SETUP_KEY)).get();
    return row ? (row.value as { code: string }).code : null;
  }

  return {
    isNeeded(): boolean {
      return users.count() === 0;
    },

    /** The current code, created on first call; `null` once an owner exists. */
    currentCode(): string | null {
      if (users.count() > 0) return null;
      const existing = stored();
      if (existing) return existing;
      const code = newHumanCode();
      db.insert(settings)
        .values({ key: SETUP_KEY, value: { code }, updatedAt: new Date(clock.now()) })
        .onConflictDoNothing()
        .run();
      return stored();
    },

    async complete(input: {
      code: string;
      username: string;
      password: string;
      locale?: 'en' | 'ko' | undefined;
    }) {
      users.checkPassword(input.password);
      const passwordHash = await hashPassword(input.password);
      // One synchronous transaction: of two visitors racing with the right code, exactly one becomes owner.
      return db.transaction(() => {
        if (users.count() > 0) throw conflict('Hearth is already set up; sign in instead.');
        const expected = stored();
        const given = Buffer.from(input.code.trim().toUpperCase());
        if (!expected || given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected)))
          throw new AppError(
            403,
            'bad_setup_code',
            'The setup code is wrong. Run `hearth setup-code` on the hub.',
          );
        const owner = users.insertHashed({ ...input, role: 'owner' }, passwordHash);
        db.delete(settings).where(eq(settings.key, SETUP_KEY)).run();
        return owner;
      });
    },
  };
}

export type SetupService = ReturnType<typeof createSetupService>;
