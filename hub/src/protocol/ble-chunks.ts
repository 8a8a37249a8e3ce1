/**
 * How a Hearth-service value longer than one ATT write (or notification) travels: each write carries a
 * one-byte header, bit 7 set on the last chunk, bits 0–6 the chunk's index from 0. The receiver starts
 * over at index 0 and hands on the joined value at the last chunk. Byte layout: docs/protocols.md,
 * "Hearth camera service"; vectors: docs/protocol-vectors.json, `hearth` entries with `writes`.
 */
import { COMPACT_MAX_BYTES } from './compact.js';

const LAST = 0x80;
/** With the smallest ATT MTU (23) a write carries 20 bytes: one header and 19 of the value. */
export const MIN_CHUNK = 20;

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** Splits a value into writes of at most `writeSize` bytes (ATT MTU − 3). */
export function chunk(value: Uint8Array, writeSize = MIN_CHUNK): Uint8Array[] {
  if (writeSize < 2) throw new ChunkError(`a write of ${writeSize} bytes cannot carry a chunk`);
  if (value.length > COMPACT_MAX_BYTES)
    throw new ChunkError(`a value of ${value.length} bytes is over ${COMPACT_MAX_BYTES}`);
  const payload = writeSize - 1;
  const count = Math.max(1, Math.ceil(value.length / payload));
  if (count > 128) throw new ChunkError(`${count} chunks; at most 128`);
  return Array.from({ length: count }, (_, index) => {
    const part = value.subarray(index * payload, (index + 1) * payload);
    const out = new Uint8Array(part.length + 1);
    out[0] = index | (index === count - 1 ? LAST : 0);
    out.set(part, 1);
    return out;
  });
}

/** Joins chunks as they arrive; `push` answers the complete value at the last chunk, else null. */
export class ChunkJoiner {
  private parts: Uint8Array[] = [];
  private bytes = 0;

  push(write: Uint8Array): Uint8Array | null {
    if (write.length < 1) throw this.fail('an empty write');
    const header = write[0]!;
    const index = header & 0x7f;
    if (index === 0) this.reset();
    else if (index !== this.parts.length)
      throw this.fail(`chunk ${index} arrived when chunk ${this.parts.length} was expected`);
    this.bytes += write.length - 1;
    if (this.bytes > COMPACT_MAX_BYTES) throw this.fail(`the value grew past ${COMPACT_MAX_BYTES} bytes`);
    this.parts.push(write.subarray(1));
    if (!(header & LAST)) return null;
    const value = new Uint8Array(this.bytes);
    let at = 0;
    for (const part of this.parts) {
      value.set(part, at);
      at += part.length;
    }
    this.reset();
    return value;
  }

  reset(): void {
    this.parts = [];
    this.bytes = 0;
  }

  private fail(message: string): ChunkError {
    this.reset();
    return new ChunkError(message);
  }
}
