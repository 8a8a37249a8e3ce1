import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { createSealer } from '../config/sealed.js';
import type { Db } from '../db/client.js';
import { wifiCredentials } from './ble.schema.js';

/** What the owner enters once: 802.11 SSID (1–32 bytes) and WPA2 passphrase (0 for an open network, 8–63). */
export const wifiInputSchema = z
  .object({
    ssid: z
      .string()
      .min(1)
      .refine((s) => Buffer.byteLength(s) <= 32, 'at most 32 bytes'),
    password: z
      .string()
      .refine(
        (p) => p.length === 0 || (p.length >= 8 && Buffer.byteLength(p) <= 63),
        'empty (open network) or 8–63 characters',
      ),
  })
  .strict();

export function createWifiCredentials(deps: { db: Db; clock: Clock; secretsDir: string }) {
  const { db } = deps;
  const sealer = createSealer(deps.secretsDir, 'wifi.key');

  return {
    /** The SSID and whether a password is set; never the password. */
    describe(): { ssid: string | null; passwordSet: boolean } {
      const row = db.select().from(wifiCredentials).where(eq(wifiCredentials.id, 1)).get();
      return { ssid: row?.ssid ?? null, passwordSet: Boolean(row) };
    },
    save(input: z.infer<typeof wifiInputSchema>): void {
      const sealedPassword = sealer.seal(input.password);
      const row = { id: 1, ssid: input.ssid, sealedPassword, updatedAt: deps.clock.now() };
      db.insert(wifiCredentials)
        .values(row)
        .onConflictDoUpdate({ target: wifiCredentials.id, set: row })
        .run();
    },
    /** For the Improv frame only. */
    reveal(): { ssid: string; password: string } | null {
      const row = db.select().from(wifiCredentials).where(eq(wifiCredentials.id, 1)).get();
      if (!row) return null;
      const password = sealer.unseal(row.sealedPassword);
      return { ssid: row.ssid, password };
    },
  };
}

export type WifiCredentials = ReturnType<typeof createWifiCredentials>;
