import assert from 'node:assert/strict';
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
