import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { SessionUser } from '../http/env.js';
import { sessions, users } from './accounts.schema.js';
import { newSecret, sha256 } from './tokens.js';
import { toSessionUser } from './users.service.js';

const TOUCH_EVERY_MS = 60_000;

/**
 * Server-side sessions: the cookie holds a random secret, the table holds its hash.
 * A session ends at its absolute expiry, after an idle period, or when revoked (logout,
 * password change, role change, user removal).
 */
export function createSessionService(deps: { db: Db; clock: Clock; maxAgeMs: number; idleMs: number }) {
  const { db, clock } = deps;
  return {
    create(userId: number, context: { userAgent?: string | undefined; ip?: string | undefined }) {
      const token = newSecret('hs_');
      const now = clock.now();
      db.insert(sessions)
        .values({
          idHash: sha256(token),
          userId,
          createdAt: new Date(now),
          lastSeenAt: new Date(now),
          expiresAt: new Date(now + deps.maxAgeMs),
          userAgent: context.userAgent?.slice(0, 200) ?? null,
          ip: context.ip ?? null,
        })
        .run();
      return { token, maxAgeSeconds: Math.floor(deps.maxAgeMs / 1000) };
    },

    authenticate(token: string): { idHash: string; user: SessionUser } | null {
      const idHash = sha256(token);
      const row = db
        .select()
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.idHash, idHash))
        .get();
      if (!row) return null;
      const now = clock.now();
      const session = row.sessions;
      if (
        session.revokedAt ||
        session.expiresAt.getTime() <= now ||
        session.lastSeenAt.getTime() + deps.idleMs <= now
      )
        return null;
      if (now - session.lastSeenAt.getTime() > TOUCH_EVERY_MS)
        db.update(sessions)
          .set({ lastSeenAt: new Date(now) })
          .where(eq(sessions.idHash, idHash))
          .run();
      return { idHash, user: toSessionUser(row.users) };
    },

    revoke(idHash: string): void {
      db.update(sessions)
        .set({ revokedAt: new Date(clock.now()) })
        .where(and(eq(sessions.idHash, idHash), isNull(sessions.revokedAt)))
        .run();
    },

    /** Drops rows that can never authenticate again. */
    purgeDead(): number {
      const now = clock.now();
      return db
        .delete(sessions)
        .where(
          or(
            lt(sessions.expiresAt, new Date(now)),
            lt(sessions.lastSeenAt, new Date(now - deps.idleMs)),
            lt(sessions.revokedAt, new Date(now - 24 * 3600_000)),
          ),
        )
        .run().changes;
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
