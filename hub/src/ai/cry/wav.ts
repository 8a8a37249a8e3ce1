/**
 * The one clip format the cry pipeline keeps: WAV, 16 kHz mono signed 16-bit PCM (what the node's
 * `ffmpeg -f s16le -ac 1 -ar 16000` gives, with a header). Anything else is refused rather than converted:
 * the hub keeps no decoder for clips, and a member's upload is expected to come from the node or the UI,
 * which both produce this format.
 */
import { AppError } from '../../http/errors.js';
import { pcmFromS16le, SAMPLE_RATE } from '../audio/features.js';

export const MAX_CLIP_MS = 10_000;
/** One classifier window. */
export const MIN_CLIP_MS = 1_000;
const HEADER_BYTES = 44;
/** The largest file a clip can be: the samples, a canonical header, and room for extra chunks. */
export const MAX_CLIP_FILE_BYTES = (MAX_CLIP_MS / 1000) * SAMPLE_RATE * 2 + 16 * 1024;

export interface Clip {
  /** The samples as s16le bytes, exactly as they were in the file. */
  pcm: Uint8Array;
  samples: Float32Array;
  durationMs: number;
}

const invalid = (reason: string) =>
  new AppError(422, 'invalid_wav', `Not a usable clip: ${reason}.`, { reason });

/** Reads and checks a WAV file; throws 422 `invalid_wav` saying what is wrong with it. */
export function parseWav(bytes: Uint8Array): Clip {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw invalid('not a RIFF/WAVE file');
  let format: { code: number; channels: number; rate: number; bits: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.byteLength) throw invalid('the fmt chunk is cut short');
      format = {
        code: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
      if (format.code !== 1 || format.channels !== 1 || format.rate !== SAMPLE_RATE || format.bits !== 16)
        throw invalid(
          `${format.channels} channel(s) at ${format.rate} Hz, ${format.bits}-bit, format ${format.code}; ` +
            'it must be 16 kHz mono 16-bit PCM',
        );
    } else if (id === 'data') {
      if (!format) throw invalid('the data chunk comes before the fmt chunk');
      const present = bytes.byteLength - body;
      if (size > present)
        throw invalid(`truncated: the data chunk declares ${size} bytes, ${present} are present`);
      if (size % 2 !== 0) throw invalid('the data chunk holds half a sample');
      const durationMs = Math.round((size / 2 / SAMPLE_RATE) * 1000);
      if (durationMs > MAX_CLIP_MS) throw invalid(`${durationMs} ms long; at most ${MAX_CLIP_MS} ms`);
      if (durationMs < MIN_CLIP_MS) throw invalid(`${durationMs} ms long; at least ${MIN_CLIP_MS} ms`);
      const pcm = bytes.subarray(body, body + size);
      return { pcm, samples: pcmFromS16le(pcm), durationMs };
    }
    // Chunks are padded to an even length.
    at = body + size + (size % 2);
  }
  throw invalid(format ? 'no data chunk (truncated?)' : 'no fmt chunk');
}

/** A plain 44-byte-header WAV around s16le samples: how every kept clip is stored, whatever chunks it came with. */
export function encodeWav(pcm: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + pcm.byteLength);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + pcm.byteLength, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(SAMPLE_RATE, 24);
  out.writeUInt32LE(SAMPLE_RATE * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(pcm.byteLength, 40);
  out.set(pcm, HEADER_BYTES);
  return out;
}
