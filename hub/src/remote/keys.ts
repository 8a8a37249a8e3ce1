import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

/** WireGuard keys are raw 32-byte Curve25519 values in standard base64 (44 characters ending in `=`). */
export const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Clamped as `wg genkey` does (RFC 7748): X25519 clamps on use anyway, so the public key is the same,
 * but the kernel stores the clamped form and `wg showconf` then prints exactly the key in the file.
 */
function clamp(key: Buffer): Buffer {
  key[0]! &= 248;
  key[31] = (key[31]! & 127) | 64;
  return key;
}

export function generateKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const clamped = clamp(d).toString('base64');
  return { privateKey: clamped, publicKey: publicKeyOf(clamped) };
}

/** What `wg pubkey` prints for this private key. */
export function publicKeyOf(privateKey: string): string {
  // JWK import wants the public half too; a PKCS#8 wrapper of the raw scalar needs nothing else.
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b656e04220420', 'hex'),
    Buffer.from(privateKey, 'base64'),
  ]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url').toString('base64');
}

/** `wg genpsk`: 32 random bytes, an extra symmetric layer on top of the Curve25519 handshake. */
export function generatePresharedKey(): string {
  return randomBytes(32).toString('base64');
}
