import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecret } from './secret-file.js';

/**
 * Values the database must keep but its backups must not reveal (the Wi-Fi password, alert channels'
 * secrets): AES-256-GCM under a 32-byte key in `<secretsDir>/<keyName>` (0600, made once). A sealed value
 * is base64 of `iv (12) | tag (16) | ciphertext`; a copied database without the secrets folder is useless.
 */
export function createSealer(secretsDir: string, keyName: string) {
  let key: Buffer | undefined;
  function sealingKey(): Buffer {
    if (key) return key;
    const loaded = readOrCreateSecret(secretsDir, keyName, () => randomBytes(32));
    if (loaded.length !== 32)
      throw new Error(`${path.join(secretsDir, keyName)} is ${loaded.length} bytes, not 32`);
    key = loaded;
    return key;
  }
  return {
    seal(text: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey(), iv);
      const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
    },
    /** Throws when the value was sealed under another key (a database moved without its secrets). */
    unseal(value: string): string {
      const bytes = Buffer.from(value, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', sealingKey(), bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

export type Sealer = ReturnType<typeof createSealer>;
