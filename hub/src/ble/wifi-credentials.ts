import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { readOrCreateSecret } from '../config/secret-file.js';
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

/** The sealing key: 32 random bytes in a 0600 file, created once, never in the database or its backups. */
function loadKey(secretsDir: string): Buffer {
  const key = readOrCreateSecret(secretsDir, 'wifi.key', () => randomBytes(32));
  if (key.length !== 32)
    throw new Error(`${path.join(secretsDir, 'wifi.key')} is ${key.length} bytes, not 32`);
  return key;
}

export function createWifiCredentials(deps: { db: Db; clock: Clock; secretsDir: string }) {
  const { db } = deps;
  let key: Buffer | undefined;
  const sealingKey = () => (key ??= loadKey(deps.secretsDir));

  return {
    /** The SSID and whether a password is set; never the password. */
    describe(): { ssid: string | null; passwordSet: boolean } {
      const row = db.select().from(wifiCredentials).where(eq(wifiCredentials.id, 1)).get();
      return { ssid: row?.ssid ?? null, passwordSet: Boolean(row) };
    },
    save(input: z.infer<typeof wifiInputSchema>): void {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey(), iv);
      const sealed = Buffer.concat([cipher.update(input.password, 'utf8'), cipher.final()]);
      const sealedPassword = Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
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
      const bytes = Buffer.from(row.sealedPassword, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', sealingKey(), bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      const password = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString(
        'utf8',
      );
      return { ssid: row.ssid, password };
    },
  };
}

export type WifiCredentials = ReturnType<typeof createWifiCredentials>;
