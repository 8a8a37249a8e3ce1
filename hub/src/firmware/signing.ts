import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readOrCreateSecret } from '../config/secret-file.js';
import { firmwareManifest } from '../protocol/compact.js';

export const SIGNING_KEY_FILE = 'firmware-signing.key';

/**
 * The hub's Ed25519 firmware-signing key: made at first start (PKCS#8 in `<secrets>/firmware-signing.key`,
 * 0600, outside the database and its backups). Cameras receive the public half at enrolment and install
 * only images whose manifest it verifies.
 */
export function loadSigningKey(secretsDir: string) {
  const der = readOrCreateSecret(secretsDir, SIGNING_KEY_FILE, () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
  );
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(`${SIGNING_KEY_FILE} is not an Ed25519 key`);
  // The raw 32-byte key is the last 32 bytes of its SPKI encoding.
  const publicKeyHex = createPublicKey(privateKey)
    .export({ format: 'der', type: 'spki' })
    .subarray(-32)
    .toString('hex');
  return {
    publicKeyHex,
    signImage(image: { version: string; size: number; sha256: string }): string {
      return sign(null, firmwareManifest(image), privateKey).toString('hex');
    },
  };
}

export type SigningKey = ReturnType<typeof loadSigningKey>;
