import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../testing/spawn-hub.js';
import {
  CompactError,
  decodeCommands,
  decodeSettings,
  decodeUploadReply,
  encodeCommands,
  encodeSettings,
  encodeUploadReply,
  firmwareManifest,
  fromHex,
  toHex,
} from './compact.js';

interface Vector {
  name: string;
  hex: string;
  valid: boolean;
  decoded?: unknown;
  error?: string;
}
const vectors = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs', 'protocol-vectors.json'), 'utf8')) as {
  version: number;
  settings: Vector[];
  commands: Vector[];
  uploadReply: Vector[];
  firmwareManifest: {
    name: string;
    version: string;
    size: number;
    sha256: string;
    imageHex: string;
    manifestHex: string;
    publicKey: string;
    signature: string;
    verifies: boolean;
  }[];
};

const cases = [
  ['settings', vectors.settings, decodeSettings, encodeSettings],
  ['commands', vectors.commands, decodeCommands, encodeCommands],
  ['uploadReply', vectors.uploadReply, decodeUploadReply, encodeUploadReply],
] as const;

test('the shared vectors file has the agreed shape', () => {
  assert.equal(vectors.version, 1);
  for (const [, list] of cases) {
    assert.ok(list.length >= 3);
    for (const vector of list) {
      assert.equal(typeof vector.name, 'string');
      assert.match(vector.hex, /^(?:[0-9a-f]{2})*$/);
      assert.equal(vector.valid ? 'decoded' in vector : typeof vector.error, vector.valid ? true : 'string');
    }
  }
});

for (const [kind, list, decode, encode] of cases) {
  test(`${kind} vectors: valid ones decode to the documented value and re-encode to the same bytes (minus skipped records); invalid ones are refused with the documented reason`, () => {
    for (const vector of list) {
      const bytes = fromHex(vector.hex);
      if (!vector.valid) {
        assert.throws(
          () => decode(bytes),
          (error: unknown) => error instanceof CompactError && error.message.includes(vector.error!),
          vector.name,
        );
        continue;
      }
      const decoded = decode(bytes);
      assert.deepEqual(decoded, vector.decoded, vector.name);
      // Canonical frames (no unknown records, no unknown commands) round-trip byte for byte.
      const canonical = !/unknown|skipped/.test(vector.name);
      if (canonical)
        assert.equal(toHex((encode as (value: unknown) => Uint8Array)(decoded)), vector.hex, vector.name);
    }
  });
}

test('firmware manifest vectors: the bytes the hub signs, and which signatures verify', () => {
  assert.ok(vectors.firmwareManifest.length >= 4);
  for (const vector of vectors.firmwareManifest) {
    const image = fromHex(vector.imageHex);
    assert.equal(createHash('sha256').update(image).digest('hex'), vector.sha256, vector.name);
    assert.equal(image.length, vector.size, vector.name);
    const manifest = firmwareManifest(vector);
    assert.equal(toHex(manifest), vector.manifestHex, vector.name);
    const key = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), fromHex(vector.publicKey)]),
      format: 'der',
      type: 'spki',
    });
    assert.equal(verify(null, manifest, key, fromHex(vector.signature)), vector.verifies, vector.name);
  }
  assert.throws(() => firmwareManifest({ version: '1 0', size: 1, sha256: '00'.repeat(32) }), /printable/);
  assert.throws(() => firmwareManifest({ version: '1.0', size: 0, sha256: '00'.repeat(32) }), /positive/);
});

test('the encoder refuses what no device could apply', () => {
  assert.throws(() => encodeSettings({ jpegQuality: 9 }), /outside/);
  assert.throws(() => encodeSettings({ frameSize: 'HUGE' as never }), /unknown frame size/);
  assert.throws(() => encodeCommands([{ id: 0, kind: 'reboot' }]), /positive u32/);
  assert.throws(() => encodeCommands([{ id: 1, kind: 'sleep', seconds: 0 }]), /outside/);
  // 102 commands of 7 bytes do not fit one 512-byte BLE attribute.
  const many = Array.from({ length: 102 }, (_, i) => ({ id: i + 1, kind: 'capture_now' as const }));
  assert.throws(() => encodeCommands(many), /exceeds 512/);
  assert.throws(() => fromHex('abc'), /even-length/);
});
