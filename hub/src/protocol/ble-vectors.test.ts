/**
 * The `improv` and `hearth` arrays of docs/protocol-vectors.json, which the firmware's host tests read
 * too: every valid entry decodes to `decoded` and encodes back to `hex` (whole, and from its separate
 * writes when it has them); every invalid one is refused with its `error`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../testing/spawn-hub.js';
import { ChunkError, ChunkJoiner, chunk } from './ble-chunks.js';
import {
  CompactError,
  decodeCommands,
  decodeEnrolment,
  decodeStatus,
  encodeCommands,
  encodeEnrolment,
  encodeStatus,
  fromHex,
  toHex,
} from './compact.js';
import {
  decodeImprovRequest,
  decodeImprovResult,
  encodeImprovRequest,
  encodeImprovResult,
  ImprovFrameError,
  ImprovReassembler,
  type ImprovRequest,
  type ImprovResult,
  splitWrites,
} from './improv.js';

interface Vector {
  name: string;
  hex: string;
  writes?: string[];
  valid: boolean;
  decoded?: unknown;
  error?: string;
}
const vectors = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs', 'protocol-vectors.json'), 'utf8')) as {
  improv: (Vector & { direction: 'request' | 'result' })[];
  hearth: (Vector & { characteristic: 'enrolment' | 'status' | 'commands' })[];
};

/** Feeds writes one by one; the frame is complete exactly at the last one. */
function joinImprov(writes: string[]): Uint8Array {
  const reassembler = new ImprovReassembler();
  let frame: Uint8Array | null = null;
  for (const [i, write] of writes.entries()) {
    frame = reassembler.push(fromHex(write));
    assert.equal(frame !== null, i === writes.length - 1, `complete only at the last write (${i})`);
  }
  return frame!;
}

test('the improv and hearth arrays have the agreed shape, valid and invalid, with split writes', () => {
  for (const list of [vectors.improv, vectors.hearth]) {
    assert.ok(list.some((v) => v.valid) && list.some((v) => !v.valid));
    assert.ok(list.some((v) => v.writes && v.writes.length > 1));
    for (const vector of list) {
      assert.match(vector.hex, /^(?:[0-9a-f]{2})*$/, vector.name);
      assert.equal(vector.valid ? 'decoded' in vector : typeof vector.error, vector.valid ? true : 'string');
    }
  }
  assert.ok(
    vectors.improv.some(
      (v) => v.hex === '011e0c4d79576972656c6573734150106d7973656375726570617373776f7264c0' && v.valid,
    ),
    "the public spec's example frame is there",
  );
});

for (const vector of vectors.improv) {
  test(`improv ${vector.direction}: ${vector.name}`, () => {
    const decode = vector.direction === 'request' ? decodeImprovRequest : decodeImprovResult;
    const bytes = vector.writes ? joinImprov(vector.writes) : fromHex(vector.hex);
    if (vector.valid) {
      assert.equal(toHex(bytes), vector.hex);
      assert.deepEqual(decode(bytes), vector.decoded);
      const encoded =
        vector.direction === 'request'
          ? encodeImprovRequest(vector.decoded as ImprovRequest)
          : encodeImprovResult(vector.decoded as ImprovResult);
      assert.equal(toHex(encoded), vector.hex);
      if (vector.writes) assert.deepEqual(splitWrites(encoded).map(toHex), vector.writes);
    } else {
      assert.throws(
        () => decode(bytes),
        (error: unknown) => error instanceof ImprovFrameError && error.message.includes(vector.error!),
      );
    }
  });
}

const hearthCodecs = {
  enrolment: [decodeEnrolment, encodeEnrolment],
  status: [decodeStatus, encodeStatus],
  commands: [decodeCommands, encodeCommands],
} as const;

for (const vector of vectors.hearth) {
  test(`hearth ${vector.characteristic}: ${vector.name}`, () => {
    const [decode, encode] = hearthCodecs[vector.characteristic];
    const run = () => {
      let bytes = fromHex(vector.hex);
      if (vector.writes) {
        const joiner = new ChunkJoiner();
        let value: Uint8Array | null = null;
        for (const [i, write] of vector.writes.entries()) {
          value = joiner.push(fromHex(write));
          assert.equal(
            value !== null,
            i === vector.writes.length - 1,
            `complete only at the last chunk (${i})`,
          );
        }
        bytes = value!;
      }
      return decode(bytes);
    };
    if (vector.valid) {
      assert.deepEqual(run(), vector.decoded);
      // Canonical values (no unknown records) round-trip byte for byte, as in compact.test.ts.
      if (/unknown|skipped/.test(vector.name)) return;
      const encoded = (encode as (value: unknown) => Uint8Array)(vector.decoded);
      assert.equal(toHex(encoded), vector.hex);
      if (vector.writes) assert.deepEqual(chunk(encoded).map(toHex), vector.writes);
    } else {
      assert.throws(
        run,
        (error: unknown) =>
          (error instanceof CompactError || error instanceof ChunkError) &&
          error.message.includes(vector.error!),
      );
    }
  });
}

test('Improv reassembly starts over after an overflowing write; chunks start over at index 0', () => {
  const reassembler = new ImprovReassembler();
  assert.equal(reassembler.push(fromHex('0200')), null);
  assert.throws(() => reassembler.push(fromHex('02ffff')), /writes carried 5 bytes for a frame of 3/);
  assert.equal(toHex(reassembler.push(fromHex('030003'))!), '030003');

  const joiner = new ChunkJoiner();
  assert.equal(joiner.push(fromHex('00aabb')), null);
  // A sender that gave up mid-value begins again: the first attempt's bytes are gone.
  assert.equal(toHex(joiner.push(fromHex('80ccdd'))!), 'ccdd');
  assert.throws(() => joiner.push(new Uint8Array(0)), /empty write/);
  assert.throws(() => chunk(new Uint8Array(513)), /over 512/);
});
