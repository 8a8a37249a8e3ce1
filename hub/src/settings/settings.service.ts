import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { settings } from './settings.schema.js';

const knownZones = new Map<string, boolean>();

/** Remembered per name: building a formatter costs ~0.1 ms, and every settings read checks the zone. */
export function isTimeZone(name: string): boolean {
  let known = knownZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: name });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 1000) knownZones.set(name, known);
  }
  return known;
}

/** Household settings people change in the UI. Days, quiet hours and schedules use `timeZone`; storage stays UTC. */
export const householdSettingsSchema = z
  .object({
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'not an IANA time zone, e.g. Asia/Seoul'),
    householdName: z.string().trim().min(1).max(64),
    /** Browsers' page loads on plain HTTP go to HTTPS (`hub/src/tls/redirect.ts`); unset: `https.redirectHttp`. */
    httpsRedirect: z.boolean().optional(),
  })
  .strict();
export type HouseholdSettings = z.infer<typeof householdSettingsSchema>;

function defaultTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && isTimeZone(zone) ? zone : 'UTC';
}

export function createSettingsService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  const keys = Object.keys(householdSettingsSchema.shape) as (keyof HouseholdSettings)[];
  // Computed on first read: asking Intl for the zone maps ~8 MB of ICU data a fresh hub does not need yet.
  let defaults: HouseholdSettings | undefined;

  function read(): HouseholdSettings {
    defaults ??= { timeZone: defaultTimeZone(), householdName: 'Hearth' };
    const rows = db.select().from(settings).where(inArray(settings.key, keys)).all();
    const stored = Object.fromEntries(rows.map((row) => [row.key, row.value]));
    const merged = householdSettingsSchema.safeParse({ ...defaults, ...stored });
    return merged.success ? merged.data : defaults;
  }

  return {
    read,
    update(patch: Partial<HouseholdSettings>): HouseholdSettings {
      const now = new Date(clock.now());
      db.transaction((tx) => {
        for (const [key, value] of Object.entries(patch)) {
          if (value === undefined) continue;
          tx.insert(settings)
            .values({ key, value, updatedAt: now })
            .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: now } })
            .run();
        }
      });
      return read();
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
