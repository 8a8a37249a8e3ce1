import { and, desc, gt, inArray, lt, type SQL } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { EventBus } from './bus.js';
import { SEVERITIES, type Severity, systemEvents } from './events.schema.js';

export interface SystemEventInput {
  kind: string;
  severity: Severity;
  message: string;
  subject?: string | undefined;
  details?: unknown;
}

export type SystemEvent = typeof systemEvents.$inferSelect;

/**
 * The hub's own log for people. Rows are the truth; the live stream is fed from them, including
 * rows other processes (the `hearth` CLI) wrote, which `publishNewRows` picks up.
 */
export function createSystemEvents(deps: { db: Db; clock: Clock; bus: EventBus }) {
  const { db, clock, bus } = deps;
  let lastPublishedId =
    db.select({ id: systemEvents.id }).from(systemEvents).orderBy(desc(systemEvents.id)).limit(1).get()?.id ??
    0;

  function publishNewRows(): number {
    const rows = db
      .select()
      .from(systemEvents)
      .where(gt(systemEvents.id, lastPublishedId))
      .orderBy(systemEvents.id)
      .all();
    for (const row of rows) {
      bus.publish('system', row);
      lastPublishedId = row.id;
    }
    return rows.length;
  }

  return {
    record(input: SystemEventInput): SystemEvent {
      const row = db
        .insert(systemEvents)
        .values({
          at: new Date(clock.now()),
          kind: input.kind,
          severity: input.severity,
          subject: input.subject ?? null,
          message: input.message,
          details: input.details ?? null,
        })
        .returning()
        .get();
      publishNewRows();
      return row;
    },

    list(query: {
      before?: number | undefined;
      limit: number;
      minSeverity?: Severity | undefined;
    }): SystemEvent[] {
      const filters: SQL[] = [];
      if (query.before) filters.push(lt(systemEvents.id, query.before));
      if (query.minSeverity)
        filters.push(inArray(systemEvents.severity, SEVERITIES.slice(SEVERITIES.indexOf(query.minSeverity))));
      return db
        .select()
        .from(systemEvents)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(systemEvents.id))
        .limit(query.limit)
        .all();
    },

    publishNewRows,

    purgeOlderThan(cutoff: number): number {
      return db
        .delete(systemEvents)
        .where(lt(systemEvents.at, new Date(cutoff)))
        .run().changes;
    },
  };
}

export type SystemEventService = ReturnType<typeof createSystemEvents>;
