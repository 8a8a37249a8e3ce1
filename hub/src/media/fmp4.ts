// Fragmented-MP4 boxes (ISO/IEC 14496-12, -15), only what live viewers and snapshots need: a splitter for a
// byte stream, the video track of an init segment (codec string for MSE) and what a moof says about its
// first sample. Every length is checked against its parent; what does not fit is an error, never a read
// past the end. (probe.ts walks whole files for durations; this works on boxes already in memory.)
import { MediaError } from './errors.js';

/**
 * Splits a byte stream into whole top-level boxes, however the bytes arrive. Holds at most one box
 * (up to maxBoxBytes); a larger or malformed size throws MediaError('unreadable').
 */
export class Mp4BoxSplitter {
  static readonly DEFAULT_MAX_BOX = 16 * 1024 * 1024;

  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBoxBytes = Mp4BoxSplitter.DEFAULT_MAX_BOX) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): { type: string; bytes: Buffer }[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: { type: string; bytes: Buffer }[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(16);
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (!/^[\x20-\x7e]{4}$/.test(type)) throw new MediaError('unreadable', 'not an MP4 box stream');
      if (size === 1) {
        if (this.buffered < 16) break;
        const large = head.readBigUInt64BE(8);
        if (large > BigInt(this.maxBoxBytes)) throw this.tooLarge(type);
        size = Number(large);
        if (size < 16) throw new MediaError('unreadable', `box ${type} is ${size} bytes`);
      } else if (size < 8) {
        // 0 means "to the end of the file", which a live stream never has.
        throw new MediaError('unreadable', `box ${type} has size ${size}`);
      }
      if (size > this.maxBoxBytes) throw this.tooLarge(type);
      if (this.buffered < size) break;
      out.push({ type, bytes: this.take(size) });
    }
    return out;
  }

  private tooLarge(type: string) {
    return new MediaError('unreadable', `box ${type} is larger than ${this.maxBoxBytes} bytes`);
  }

  private peek(bytes: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= bytes || this.chunks.length === 1) return first;
    return Buffer.concat(this.chunks).subarray(0, bytes);
  }

  private take(bytes: number): Buffer {
    const whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    // A copy for the box: viewers keep fragments for seconds, and a slice would pin the whole chunk.
    const box = Buffer.from(whole.subarray(0, bytes));
    const rest = whole.subarray(bytes);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return box;
  }
}

interface Box {
  type: string;
  /** Offset of the header. */
  start: number;
  /** Offset of the body (after size, type and any 64-bit size). */
  body: number;
  end: number;
}

function children(buf: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > end) throw new MediaError('unreadable', `box ${type} is cut short`);
      size = Number(buf.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    if (size < body - at || at + size > end)
      throw new MediaError('unreadable', `box ${type} does not fit its parent`);
    boxes.push({ type, start: at, body, end: at + size });
    at += size;
  }
  return boxes;
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  return children(buf, parent.body, parent.end).find((box) => box.type === type);
}

function need(box: Box, bytes: number): void {
  if (box.body + bytes > box.end) throw new MediaError('unreadable', `box ${box.type} is too short`);
}

/** An init segment's video track, as viewers need it. */
export interface LiveInit {
  /** ftyp + moov, to be appended first by every viewer. */
  bytes: Buffer;
  /** RFC 6381 codec string for `MediaSource.isTypeSupported`, e.g. `avc1.42C01E`. */
  codec: string;
  timescale: number;
  width: number;
  height: number;
}

export interface ParsedInit {
  init: LiveInit;
  trackId: number;
  trexDuration: number;
  trexFlags: number;
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** The first video track of ftyp+moov: codec string, timescale, size and trex defaults; or why not. */
export function parseLiveInit(bytes: Buffer): ParsedInit | string {
  try {
    const top = children(bytes, 0, bytes.length);
    const moov = top.find((box) => box.type === 'moov');
    if (!moov) return 'no moov box';
    for (const trak of children(bytes, moov.body, moov.end).filter((box) => box.type === 'trak')) {
      const mdia = child(bytes, trak, 'mdia');
      const hdlr = mdia && child(bytes, mdia, 'hdlr');
      if (!mdia || !hdlr) continue;
      need(hdlr, 12);
      if (bytes.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;
      const tkhd = child(bytes, trak, 'tkhd');
      const mdhd = child(bytes, mdia, 'mdhd');
      const minf = child(bytes, mdia, 'minf');
      const stbl = minf && child(bytes, minf, 'stbl');
      const stsd = stbl && child(bytes, stbl, 'stsd');
      if (!tkhd || !mdhd || !stsd) return 'the video track lacks tkhd, mdhd or stsd';
      need(tkhd, 24);
      const trackId = bytes.readUInt32BE(tkhd.body + (bytes[tkhd.body] === 1 ? 20 : 12));
      need(mdhd, 24);
      const timescale = bytes.readUInt32BE(mdhd.body + (bytes[mdhd.body] === 1 ? 20 : 12));
      if (timescale === 0) return 'timescale 0';
      // stsd: full box header (4) and entry count (4), then sample entries.
      need(stsd, 8);
      const entry = children(bytes, stsd.body + 8, stsd.end)[0];
      if (!entry) return 'no sample description';
      // VisualSampleEntry: 6 reserved + 2 index + 16 pre-defined, then width and height, and its boxes at +78.
      need(entry, 78);
      const width = bytes.readUInt16BE(entry.body + 24);
      const height = bytes.readUInt16BE(entry.body + 26);
      const config = children(bytes, entry.body + 78, entry.end);
      const codec = codecString(bytes, entry.type, config);
      if (!codec) return `codec ${entry.type} is not H.264 or HEVC`;
      let trexDuration = 0;
      let trexFlags = 0;
      const mvex = child(bytes, moov, 'mvex');
      if (mvex) {
        for (const trex of children(bytes, mvex.body, mvex.end).filter((box) => box.type === 'trex')) {
          need(trex, 24);
          if (bytes.readUInt32BE(trex.body + 4) !== trackId) continue;
          trexDuration = bytes.readUInt32BE(trex.body + 12);
          trexFlags = bytes.readUInt32BE(trex.body + 20);
        }
      }
      return { init: { bytes, codec, timescale, width, height }, trackId, trexDuration, trexFlags };
    }
    return 'no video track';
  } catch (error) {
    return (error as Error).message;
  }
}

/** RFC 6381 / ISO 14496-15 codec parameter from avcC or hvcC. */
function codecString(buf: Buffer, entryType: string, config: Box[]): string | null {
  if (entryType === 'avc1' || entryType === 'avc3') {
    const avcC = config.find((box) => box.type === 'avcC');
    if (!avcC) return null;
    need(avcC, 4);
    // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
    return `${entryType}.${hex2(buf[avcC.body + 1]!)}${hex2(buf[avcC.body + 2]!)}${hex2(buf[avcC.body + 3]!)}`;
  }
  if (entryType === 'hvc1' || entryType === 'hev1') {
    const hvcC = config.find((box) => box.type === 'hvcC');
    if (!hvcC) return null;
    need(hvcC, 13);
    const b = hvcC.body;
    const space = ['', 'A', 'B', 'C'][buf[b + 1]! >> 6]!;
    const tier = buf[b + 1]! & 0x20 ? 'H' : 'L';
    const profile = buf[b + 1]! & 0x1f;
    // The 32 compatibility flags in reverse bit order, as hex without leading zeros.
    let compat = buf.readUInt32BE(b + 2);
    let reversed = 0;
    for (let i = 0; i < 32; i++) {
      reversed = (reversed << 1) | (compat & 1);
      compat >>>= 1;
    }
    const constraints: string[] = [];
    for (let i = 0; i < 6; i++) constraints.push(buf[b + 6 + i]!.toString(16).toUpperCase());
    while (constraints.length && constraints.at(-1) === '0') constraints.pop();
    const level = buf[b + 12]!;
    return [entryType, `${space}${profile}`, (reversed >>> 0).toString(16).toUpperCase(), `${tier}${level}`]
      .concat(constraints)
      .join('.');
  }
  return null;
}

export interface FragmentInfo {
  keyframe: boolean;
  /** tfdt, in the track's timescale. */
  decodeTime: number;
  /** Sum of the sample durations, in the track's timescale. */
  durationTicks: number;
  samples: number;
}

const SAMPLE_IS_NON_SYNC = 0x0001_0000;

/**
 * What a moof says about its video track run: whether the first sample is a sync sample (flags from
 * trun's first-sample flags, else its per-sample flags, else tfhd's or trex's defaults), tfdt and
 * duration. A string says why it cannot be used.
 */
export function parseFragment(
  moofBytes: Buffer,
  init: Pick<ParsedInit, 'trackId' | 'trexDuration' | 'trexFlags'>,
): FragmentInfo | string {
  try {
    const [moof] = children(moofBytes, 0, moofBytes.length);
    if (moof?.type !== 'moof') return 'not a moof box';
    for (const traf of children(moofBytes, moof.body, moof.end).filter((box) => box.type === 'traf')) {
      const tfhd = child(moofBytes, traf, 'tfhd');
      if (!tfhd) return 'traf without tfhd';
      need(tfhd, 8);
      const tfhdFlags = moofBytes.readUInt32BE(tfhd.body) & 0xffffff;
      if (moofBytes.readUInt32BE(tfhd.body + 4) !== init.trackId) continue;
      let at = tfhd.body + 8;
      if (tfhdFlags & 0x01) at += 8; // base data offset
      if (tfhdFlags & 0x02) at += 4; // sample description index
      let defaultDuration = init.trexDuration;
      let defaultFlags = init.trexFlags;
      if (tfhdFlags & 0x08) {
        need(tfhd, at + 4 - tfhd.body);
        defaultDuration = moofBytes.readUInt32BE(at);
        at += 4;
      }
      if (tfhdFlags & 0x10) at += 4; // default sample size
      if (tfhdFlags & 0x20) {
        need(tfhd, at + 4 - tfhd.body);
        defaultFlags = moofBytes.readUInt32BE(at);
      }
      const tfdt = child(moofBytes, traf, 'tfdt');
      if (!tfdt) return 'traf without tfdt';
      const wide = moofBytes[tfdt.body] === 1;
      need(tfdt, wide ? 12 : 8);
      const decodeTime = wide
        ? Number(moofBytes.readBigUInt64BE(tfdt.body + 4))
        : moofBytes.readUInt32BE(tfdt.body + 4);
      let firstFlags: number | undefined;
      let durationTicks = 0;
      let samples = 0;
      for (const trun of children(moofBytes, traf.body, traf.end).filter((box) => box.type === 'trun')) {
        need(trun, 8);
        const flags = moofBytes.readUInt32BE(trun.body) & 0xffffff;
        const count = moofBytes.readUInt32BE(trun.body + 4);
        let p = trun.body + 8;
        if (flags & 0x01) p += 4;
        let runFirstFlags: number | undefined;
        if (flags & 0x04) {
          need(trun, p + 4 - trun.body);
          runFirstFlags = moofBytes.readUInt32BE(p);
          p += 4;
        }
        const perSample =
          (flags & 0x100 ? 4 : 0) +
          (flags & 0x200 ? 4 : 0) +
          (flags & 0x400 ? 4 : 0) +
          (flags & 0x800 ? 4 : 0);
        need(trun, p + perSample * count - trun.body);
        for (let i = 0; i < count; i++) {
          let q = p + i * perSample;
          const duration = flags & 0x100 ? moofBytes.readUInt32BE(q) : defaultDuration;
          if (flags & 0x100) q += 4;
          if (flags & 0x200) q += 4;
          const sampleFlags =
            i === 0 && runFirstFlags !== undefined
              ? runFirstFlags
              : flags & 0x400
                ? moofBytes.readUInt32BE(q)
                : defaultFlags;
          if (samples === 0 && i === 0) firstFlags = sampleFlags;
          durationTicks += duration;
        }
        samples += count;
      }
      if (samples === 0) return 'fragment without samples';
      return {
        keyframe: ((firstFlags ?? defaultFlags) & SAMPLE_IS_NON_SYNC) === 0,
        decodeTime,
        durationTicks,
        samples,
      };
    }
    return 'no fragment of the video track';
  } catch (error) {
    return (error as Error).message;
  }
}
