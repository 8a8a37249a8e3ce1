import { open, stat, truncate } from 'node:fs/promises';
import { MediaError } from './errors.js';
import { ffprobe } from './ffmpeg.js';

export { MediaError, type MediaErrorCode } from './errors.js';

export interface SegmentProbe {
  /** Playable duration: with a torn last fragment (a kill mid-write), only the whole fragments count. */
  durationMs: number;
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
}

export interface ProbeOptions {
  /** ffprobe is killed and the promise rejects with MediaError('timeout') after this long. Default 15 s. */
  timeoutMs?: number;
}

/**
 * ffprobe a fragmented-MP4 segment. Rejects with MediaError: 'not_found'; 'unreadable' when the file holds no
 * playable fragment (e.g. only the 28-byte `ftyp` left by a kill) or no video; 'not_fragmented' for a plain
 * MP4; 'timeout'.
 */
export async function probeSegment(file: string, options: ProbeOptions = {}): Promise<SegmentProbe> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  // The box walk is cheap and tells a kill-truncated file from a real failure before ffprobe runs.
  const layout = await scanFragmentedMp4(file);
  if (layout.fragments === 0) {
    throw new MediaError('unreadable', `${file} holds no complete fragment (${layout.bytes} bytes)`);
  }
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
    bytes: layout.bytes,
    initHeaderBytes: layout.initHeaderBytes,
    playableBytes: layout.playableBytes,
    complete: layout.complete,
    fragments: layout.fragments,
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

/** Walks the top-level boxes of a fragmented MP4 (a few hundred 16-byte reads for a 5-minute segment). */
export async function scanFragmentedMp4(
  file: string,
  options: { stopAtFirstFragment?: boolean } = {},
): Promise<FragmentedMp4Layout> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // stat first: opening a FIFO or a device for reading could block a libuv thread indefinitely.
    if (!(await stat(file)).isFile()) throw new MediaError('unreadable', `${file} is not a regular file`);
    handle = await open(file, 'r');
  } catch (err) {
    if (err instanceof MediaError) throw err;
    throw new MediaError('not_found', `${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(16);
    let offset = 0;
    let sawMoov = false;
    let initHeaderBytes = 0;
    let fragments = 0;
    let playableBytes = 0;
    let pendingMoof = false;
    let complete = true;
    for (let boxes = 0; offset < size; boxes++) {
      if (boxes >= 100_000) throw new MediaError('unreadable', `${file}: too many boxes`);
      const { bytesRead } = await handle.read(header, 0, 16, offset);
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
      if (type === 'moov') sawMoov = true;
      else if (type === 'moof') {
        if (!sawMoov) throw new MediaError('unreadable', `${file}: fragment before any moov`);
        if (fragments === 0 && !pendingMoof) initHeaderBytes = offset;
        if (options.stopAtFirstFragment) break;
        pendingMoof = true;
      } else if (type === 'mdat') {
        if (!pendingMoof) throw new MediaError('not_fragmented', `${file} is not a fragmented MP4`);
        pendingMoof = false;
        fragments++;
        playableBytes = offset + boxSize;
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
    return {
      bytes: size,
      initHeaderBytes,
      fragments,
      playableBytes,
      complete: complete && playableBytes === size,
    };
  } finally {
    await handle.close();
  }
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
