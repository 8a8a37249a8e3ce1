import { type FileHandle, open, stat, truncate } from 'node:fs/promises';
import { MediaError } from './errors.js';
import { ffprobe } from './ffmpeg.js';

export { MediaError, type MediaErrorCode } from './errors.js';

export interface SegmentProbe {
  /** Playable duration: with a torn last fragment (a kill mid-write), only the whole fragments count. */
  durationMs: number;
  /** ffprobe's codec_name: 'h264' or 'hevc' from the boxes, anything ffprobe knows otherwise. */
  codec: string;
  width: number;
  height: number;
  /** Size of the file on disk. */
  bytes: number;
  initHeaderBytes: number;
  /** Bytes up to the end of the last whole fragment (or trailer); equals `bytes` when `complete`. */
  playableBytes: number;
  /** False when the file ends inside a box, as after SIGKILL or a power cut; see trimToLastFragment. */
  complete: boolean;
  /** Whole moof+mdat pairs. */
  fragments: number;
  /**
   * What answered: the MP4 boxes alone (no child process; every segment the recorder writes), or ffprobe,
   * for a codec or layout the box parse does not handle (then `fallbackReason` says why).
   */
  source: 'boxes' | 'ffprobe';
  /** Why the boxes could not answer, when ffprobe did so in their place. */
  fallbackReason?: string;
}

export interface ProbeOptions {
  /**
   * The whole probe (file reads, and ffprobe when it runs) rejects with MediaError('timeout') after this long;
   * a running ffprobe is killed. Default 15 s.
   */
  timeoutMs?: number;
  /**
   * 'auto' (default): the boxes, and ffprobe only when they cannot answer. 'boxes': never start ffprobe; a file
   * the boxes cannot answer rejects with MediaError('unreadable'). 'ffprobe': always ffprobe (comparisons,
   * diagnostics).
   */
  method?: 'auto' | 'boxes' | 'ffprobe';
}

/**
 * Probes a fragmented-MP4 segment: codec, size and playable duration, from its boxes (see README.md), with
 * ffprobe as the fallback for what they cannot answer. Rejects with MediaError: 'not_found'; 'unreadable'
 * when the file holds no playable fragment (e.g. only the 28-byte `ftyp` left by a kill) or no video;
 * 'not_fragmented' for a plain MP4; 'timeout'.
 */
export async function probeSegment(file: string, options: ProbeOptions = {}): Promise<SegmentProbe> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const method = options.method ?? 'auto';
  const deadline = Date.now() + timeoutMs;
  const { layout, answer } = await withDeadline(
    inspect(file, { parse: method !== 'ffprobe' }),
    timeoutMs,
    `reading ${file}`,
  );
  if (layout.fragments === 0) {
    throw new MediaError('unreadable', `${file} holds no complete fragment (${layout.bytes} bytes)`);
  }
  const common = {
    bytes: layout.bytes,
    initHeaderBytes: layout.initHeaderBytes,
    playableBytes: layout.playableBytes,
    complete: layout.complete,
    fragments: layout.fragments,
  };
  if (typeof answer === 'object') return { ...answer, ...common, source: 'boxes' };
  if (method === 'boxes') throw new MediaError('unreadable', `${file}: the boxes cannot answer: ${answer}`);
  const probed = await probeWithFfprobe(file, layout, Math.max(1, deadline - Date.now()));
  return method === 'auto'
    ? { ...probed, ...common, source: 'ffprobe', fallbackReason: answer }
    : { ...probed, ...common, source: 'ffprobe' };
}

async function probeWithFfprobe(
  file: string,
  layout: FragmentedMp4Layout,
  timeoutMs: number,
): Promise<Pick<SegmentProbe, 'durationMs' | 'codec' | 'width' | 'height'>> {
  // ffprobe trusts a torn fragment's moof and counts its samples; reading only the whole fragments
  // (the subfile protocol limits the input to a byte range) gives the duration that actually plays.
  const input =
    layout.complete || file.includes(',,:') ? file : `subfile,,start,0,end,${layout.playableBytes},,:${file}`;

  let data: Awaited<ReturnType<typeof ffprobe>>;
  try {
    data = await ffprobe(input, ['-v', 'error'], timeoutMs);
  } catch (err) {
    if (err instanceof MediaError) throw err;
    throw new MediaError('unreadable', `ffprobe could not read ${file}: ${firstLine(err)}`, { cause: err });
  }
  const video = data.streams.find((s) => s.codec_type === 'video');
  if (!video?.codec_name || !video.width || !video.height) {
    throw new MediaError('unreadable', `${file} holds no video stream`);
  }
  const seconds = positive(video.duration) ?? positive(data.format.duration);
  if (seconds === undefined) throw new MediaError('unreadable', `${file} holds no complete fragment`);
  return {
    durationMs: Math.round(seconds * 1000),
    codec: video.codec_name,
    width: video.width,
    height: video.height,
  };
}

/**
 * Length in bytes of the init header (`ftyp` + `moov`, everything before the first `moof`), found by walking
 * the file's top-level boxes; HLS playback addresses it with an EXT-X-MAP byte range. Throws MediaError:
 * 'unreadable' when the file ends before any fragment (a kill right after start) or is not MP4 at all,
 * 'not_fragmented' when media data comes without fragments, 'not_found'.
 */
export async function mp4InitHeaderLength(file: string): Promise<number> {
  return (await scanFragmentedMp4(file, { stopAtFirstFragment: true })).initHeaderBytes;
}

export interface FragmentedMp4Layout {
  bytes: number;
  initHeaderBytes: number;
  fragments: number;
  playableBytes: number;
  complete: boolean;
}

/** Walks the top-level boxes of a fragmented MP4 (one small read per fragment, a few hundred for 5 minutes). */
export async function scanFragmentedMp4(
  file: string,
  options: { stopAtFirstFragment?: boolean } = {},
): Promise<FragmentedMp4Layout> {
  return (await inspect(file, { parse: false, stopAtFirstFragment: options.stopAtFirstFragment })).layout;
}

/**
 * Cuts a torn last fragment off a segment in place, so that what remains plays to its end and its
 * duration is exact. Returns the bytes removed (0 when the file was whole).
 */
export async function trimToLastFragment(file: string): Promise<number> {
  const layout = await scanFragmentedMp4(file);
  if (layout.fragments === 0) throw new MediaError('unreadable', `${file} holds no complete fragment`);
  if (layout.complete) return 0;
  await truncate(file, layout.playableBytes);
  return layout.bytes - layout.playableBytes;
}

// ---------------------------------------------------------------------------------------------------------
// The box walk and the box-only probe (ISO/IEC 14496-12). Only what a recorder segment needs is read: the
// top-level box headers, `moov` (about 1 KiB with empty_moov) and each `moof` (a few hundred bytes).

/** What the boxes answer, or why they cannot (a string: ffprobe is asked instead). */
type BoxAnswer = Pick<SegmentProbe, 'durationMs' | 'codec' | 'width' | 'height'> | string;

/** Largest `moov` / `moof` read into memory; a larger one is left to ffprobe. */
const MAX_MOOV_BYTES = 4 << 20;
const MAX_MOOF_BYTES = 1 << 20;
/** One read at a box's offset: a whole `moof` and the following `mdat` header fit, or ftyp+moov at the start. */
const READ_CHUNK = 4096;
const MAX_TOP_LEVEL_BOXES = 100_000;

const CODECS: Record<string, string> = { avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc' };

interface VideoTrack {
  trackId: number;
  timescale: number;
  codec: string;
  width: number;
  height: number;
  /** From moov/mvex/trex: the last resort for sample durations. */
  trexDuration: number | undefined;
}

/** The video track's decode-time span in one `moof`, in its timescale; null when the moof holds none of it. */
interface FragmentSpan {
  start: number;
  end: number;
}

async function inspect(
  file: string,
  options: { parse: boolean; stopAtFirstFragment?: boolean | undefined },
): Promise<{ layout: FragmentedMp4Layout; answer: BoxAnswer }> {
  let handle: FileHandle;
  try {
    // stat first: opening a FIFO or a device for reading could block a libuv thread indefinitely.
    if (!(await stat(file)).isFile()) throw new MediaError('unreadable', `${file} is not a regular file`);
    handle = await open(file, 'r');
  } catch (err) {
    if (err instanceof MediaError) throw err;
    throw new MediaError('not_found', `${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await walk(handle, file, options);
  } finally {
    await handle.close();
  }
}

/** Reads a file at box offsets, one chunk at a time, answering nearby reads from the last chunk. */
class ChunkReader {
  private buffer = Buffer.allocUnsafe(READ_CHUNK);
  private start = 0;
  private length = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  /** Up to `length` bytes at `offset` (fewer at the end of the file); valid until the next call. */
  async at(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (offset < this.start || end > this.start + this.length) {
      const want = Math.min(Math.max(length, READ_CHUNK), this.size - offset);
      if (this.buffer.length < want) this.buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.handle.read(this.buffer, 0, want, offset);
      this.start = offset;
      this.length = bytesRead;
    }
    const from = offset - this.start;
    return this.buffer.subarray(from, Math.min(from + (end - offset), this.length));
  }
}

async function walk(
  handle: FileHandle,
  file: string,
  options: { parse: boolean; stopAtFirstFragment?: boolean | undefined },
): Promise<{ layout: FragmentedMp4Layout; answer: BoxAnswer }> {
  const size = (await handle.stat()).size;
  const reader = new ChunkReader(handle, size);
  let offset = 0;
  let sawMoov = false;
  let initHeaderBytes = 0;
  let fragments = 0;
  let playableBytes = 0;
  let pendingMoof = false;
  let complete = true;

  // The box-only answer: `unusable` once anything rules it out (ffprobe is asked instead).
  let unusable: string | undefined = options.parse ? undefined : 'not parsed';
  let track: VideoTrack | undefined;
  let pendingSpan: FragmentSpan | null = null;
  let first: FragmentSpan | undefined;
  let last: FragmentSpan | undefined;
  const parsing = async (what: string, boxSize: number, limit: number, parse: (box: Buffer) => void) => {
    if (unusable !== undefined) return;
    if (boxSize > limit) {
      unusable = `${what} of ${boxSize} bytes at ${offset} is larger than ${limit}`;
      return;
    }
    const box = await reader.at(offset, boxSize);
    try {
      parse(box);
    } catch (err) {
      // Every read is bounds-checked (BoxError); anything else would be a bug here, still not worth a throw.
      const why = err instanceof BoxError ? err.message : `unexpected ${String(err)}`;
      unusable = `${what} at ${offset}: ${why}`;
    }
  };

  for (let boxes = 0; offset < size; boxes++) {
    if (boxes >= MAX_TOP_LEVEL_BOXES) throw new MediaError('unreadable', `${file}: too many boxes`);
    const header = await reader.at(offset, 16);
    const bytesRead = header.length;
    let boxSize = bytesRead >= 8 ? header.readUInt32BE(0) : 0;
    const type = bytesRead >= 8 ? header.toString('latin1', 4, 8) : '';
    let headerSize = 8;
    if (bytesRead >= 8 && boxSize === 1) {
      boxSize = bytesRead >= 16 ? Number(header.readBigUInt64BE(8)) : 0;
      headerSize = 16;
    } else if (bytesRead >= 8 && boxSize === 0) {
      boxSize = size - offset;
    }
    const whole = bytesRead >= headerSize && boxSize >= headerSize && offset + boxSize <= size;
    if (bytesRead >= 8 && !/^[\x20-\x7e]{4}$/.test(type)) {
      throw new MediaError('unreadable', `${file}: no MP4 box at byte ${offset}`);
    }
    if (offset === 0 && type !== 'ftyp') {
      throw new MediaError('unreadable', `${file} does not start with ftyp`);
    }
    if (!whole) {
      complete = false;
      break;
    }
    if (type === 'moov') {
      if (sawMoov) unusable ??= 'a second moov';
      sawMoov = true;
      await parsing('moov', boxSize, MAX_MOOV_BYTES, (box) => {
        const found = parseMoov(box, headerSize);
        if (typeof found === 'string') unusable = found;
        else track = found;
      });
    } else if (type === 'moof') {
      if (!sawMoov) throw new MediaError('unreadable', `${file}: fragment before any moov`);
      if (fragments === 0 && !pendingMoof) initHeaderBytes = offset;
      if (options.stopAtFirstFragment) break;
      if (pendingMoof) unusable ??= `a moof without mdat before ${offset}`;
      pendingMoof = true;
      pendingSpan = null;
      await parsing('moof', boxSize, MAX_MOOF_BYTES, (box) => {
        pendingSpan = parseMoof(box, headerSize, track);
      });
    } else if (type === 'mdat') {
      if (!pendingMoof) throw new MediaError('not_fragmented', `${file} is not a fragmented MP4`);
      pendingMoof = false;
      fragments++;
      playableBytes = offset + boxSize;
      // Only now is the fragment whole: a torn one (moof written, mdat cut short) does not count.
      const span = pendingSpan as FragmentSpan | null;
      if (span && unusable === undefined) {
        if (last && span.start < last.end) {
          unusable = `fragment at ${playableBytes - boxSize} starts before the previous one ends`;
        }
        first ??= span;
        last = span;
      }
    } else if (fragments > 0 && !pendingMoof) {
      // Trailer boxes (mfra) after the last fragment.
      playableBytes = offset + boxSize;
    }
    offset += boxSize;
  }
  if (initHeaderBytes === 0) {
    if (!sawMoov && size >= 8) throw new MediaError('unreadable', `${file} has no moov (${size} bytes)`);
    throw new MediaError('unreadable', `${file} ends before its first fragment (${size} bytes)`);
  }
  if (pendingMoof) complete = false;
  const layout = {
    bytes: size,
    initHeaderBytes,
    fragments,
    playableBytes,
    complete: complete && playableBytes === size,
  };

  let answer: BoxAnswer;
  if (unusable !== undefined) answer = unusable;
  else if (!track) answer = 'no moov';
  else if (!first || !last) answer = 'no whole fragment of the video track';
  else {
    const ticks = last.end - first.start;
    if (!(ticks > 0)) answer = `no duration (${ticks} ticks)`;
    else {
      const { codec, width, height, timescale } = track;
      answer = { durationMs: Math.round((ticks / timescale) * 1000), codec, width, height };
    }
  }
  return { layout, answer };
}

/** A box that cannot be read as the spec says: the boxes cannot answer, ffprobe is asked. */
class BoxError extends Error {}

interface Box {
  type: string;
  /** Offset of the content (after the header) in the buffer. */
  body: number;
  /** Offset just past the box. */
  end: number;
}

/** The boxes in buf[start, end), each checked to lie within it. Trailing bytes too few for a header are ignored. */
function children(buf: Buffer, start: number, end: number): Box[] {
  const found: Box[] = [];
  let at = start;
  while (end - at >= 8) {
    let size: number | bigint = buf.readUInt32BE(at);
    const type = printable(buf.toString('latin1', at + 4, at + 8));
    let header = 8;
    if (size === 1) {
      if (end - at < 16) throw new BoxError(`'${type}' with a 64-bit size in ${end - at} bytes`);
      size = buf.readBigUInt64BE(at + 8);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || size > end - at) {
      throw new BoxError(`'${type}' of ${size} bytes does not fit in ${end - at}`);
    }
    size = Number(size);
    found.push({ type, body: at + header, end: at + size });
    at += size;
  }
  return found;
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  return children(buf, parent.body, parent.end).find((b) => b.type === type);
}

/** Throws unless the box holds at least `bytes` bytes of content. */
function need(box: Box, bytes: number): void {
  if (box.end - box.body < bytes)
    throw new BoxError(`'${box.type}' is ${box.end - box.body} bytes, too short`);
}

function uint64(buf: Buffer, at: number, what: string): number {
  const value = buf.readBigUInt64BE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoxError(`${what} ${value} is too large`);
  return Number(value);
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, '?');
}

/** The first video track (ffprobe's first video stream), or why the boxes cannot answer. */
function parseMoov(buf: Buffer, headerSize: number): VideoTrack | string {
  const moov: Box = { type: 'moov', body: headerSize, end: buf.length };
  const boxes = children(buf, moov.body, moov.end);
  const trexDurations = new Map<number, number>();
  const mvex = boxes.find((b) => b.type === 'mvex');
  if (mvex) {
    for (const trex of children(buf, mvex.body, mvex.end)) {
      if (trex.type !== 'trex') continue;
      need(trex, 24);
      trexDurations.set(buf.readUInt32BE(trex.body + 4), buf.readUInt32BE(trex.body + 12));
    }
  }
  for (const trak of boxes) {
    if (trak.type !== 'trak') continue;
    const mdia = child(buf, trak, 'mdia');
    const hdlr = mdia && child(buf, mdia, 'hdlr');
    if (!hdlr) continue;
    need(hdlr, 12);
    if (buf.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;

    const tkhd = child(buf, trak, 'tkhd');
    if (!tkhd) throw new BoxError('video trak without tkhd');
    need(tkhd, 4);
    const tkhdV1 = buf[tkhd.body] === 1;
    need(tkhd, tkhdV1 ? 24 : 16);
    const trackId = buf.readUInt32BE(tkhd.body + (tkhdV1 ? 20 : 12));

    const mdhd = child(buf, mdia, 'mdhd');
    if (!mdhd) throw new BoxError('video trak without mdhd');
    need(mdhd, 4);
    const mdhdV1 = buf[mdhd.body] === 1;
    need(mdhd, mdhdV1 ? 24 : 16);
    const timescale = buf.readUInt32BE(mdhd.body + (mdhdV1 ? 20 : 12));
    if (timescale === 0) throw new BoxError('mdhd timescale 0');

    const minf = child(buf, mdia, 'minf');
    const stbl = minf && child(buf, minf, 'stbl');
    const stsd = stbl && child(buf, stbl, 'stsd');
    if (!stbl || !stsd) throw new BoxError('video trak without stsd');
    // Samples described in moov itself (not an empty_moov file): ffprobe adds them up.
    const stts = child(buf, stbl, 'stts');
    if (stts) {
      need(stts, 8);
      if (buf.readUInt32BE(stts.body + 4) !== 0) return 'samples in moov (stts is not empty)';
    }
    need(stsd, 8);
    const entryCount = buf.readUInt32BE(stsd.body + 4);
    if (entryCount !== 1) return `${entryCount} sample descriptions`;
    const entry = children(buf, stsd.body + 8, stsd.end)[0];
    if (!entry) throw new BoxError('stsd without its sample entry');
    const codec = CODECS[entry.type];
    if (!codec) return `codec '${entry.type}'`;
    // VisualSampleEntry: 6 reserved, data_reference_index, 16 bytes pre_defined/reserved, width, height.
    need(entry, 28);
    const width = buf.readUInt16BE(entry.body + 24);
    const height = buf.readUInt16BE(entry.body + 26);
    if (width === 0 || height === 0) return `sample entry size ${width}x${height}`;
    return { trackId, timescale, codec, width, height, trexDuration: trexDurations.get(trackId) };
  }
  return 'no video track';
}

/** The video track's span in one moof (tfdt plus the trun sample durations), null when it has none there. */
function parseMoof(buf: Buffer, headerSize: number, track: VideoTrack | undefined): FragmentSpan | null {
  if (!track) throw new BoxError('no video track before the first fragment');
  let span: FragmentSpan | null = null;
  for (const traf of children(buf, headerSize, buf.length)) {
    if (traf.type !== 'traf') continue;
    const boxes = children(buf, traf.body, traf.end);
    const tfhd = boxes.find((b) => b.type === 'tfhd');
    if (!tfhd) throw new BoxError('traf without tfhd');
    need(tfhd, 8);
    if (buf.readUInt32BE(tfhd.body + 4) !== track.trackId) continue;
    const tfhdFlags = buf.readUIntBE(tfhd.body + 1, 3);
    let defaultDuration = track.trexDuration;
    if (tfhdFlags & 0x08) {
      // Skip base_data_offset (0x01) and sample_description_index (0x02).
      const at = 8 + (tfhdFlags & 0x01 ? 8 : 0) + (tfhdFlags & 0x02 ? 4 : 0);
      need(tfhd, at + 4);
      defaultDuration = buf.readUInt32BE(tfhd.body + at);
    }

    const tfdt = boxes.find((b) => b.type === 'tfdt');
    if (!tfdt) throw new BoxError('traf without tfdt');
    need(tfdt, 4);
    const tfdtV1 = buf[tfdt.body] === 1;
    need(tfdt, tfdtV1 ? 12 : 8);
    const start = tfdtV1
      ? uint64(buf, tfdt.body + 4, 'baseMediaDecodeTime')
      : buf.readUInt32BE(tfdt.body + 4);

    let ticks = 0;
    for (const trun of boxes) {
      if (trun.type !== 'trun') continue;
      need(trun, 8);
      const flags = buf.readUIntBE(trun.body + 1, 3);
      const count = buf.readUInt32BE(trun.body + 4);
      const first = 8 + (flags & 0x01 ? 4 : 0) + (flags & 0x04 ? 4 : 0);
      // Per sample: duration 0x100, size 0x200, flags 0x400, composition offset 0x800; 4 bytes each.
      const stride =
        4 * (((flags >> 8) & 1) + ((flags >> 9) & 1) + ((flags >> 10) & 1) + ((flags >> 11) & 1));
      need(trun, first + count * stride);
      if (flags & 0x100) {
        for (let i = 0, at = trun.body + first; i < count; i++, at += stride) ticks += buf.readUInt32BE(at);
      } else if (count > 0) {
        if (defaultDuration === undefined) throw new BoxError('sample durations given nowhere');
        ticks += count * defaultDuration;
      }
    }
    if (span) {
      // A second traf of the same track in this moof continues it.
      if (start < span.end) throw new BoxError('trafs of one track overlap');
      span.end = start + ticks;
    } else {
      span = { start, end: start + ticks };
    }
  }
  return span;
}

/** Rejects with MediaError('timeout') unless `work` settles within `ms`. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new MediaError('timeout', `${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : Number.parseFloat(String(value));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // fluent-ffmpeg appends ffprobe's whole stderr; the first real error line is the useful part.
  const lines = text.split('\n').map((l) => l.trim());
  return lines.find((l, i) => i > 0 && l) ?? lines[0] ?? text;
}
