// multipart/x-mixed-replace as the Arduino CameraWebServer sends it: every part is
// `\r\n--<boundary>\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\nX-Timestamp: s.us\r\n\r\n<N bytes>`.
// A Wi-Fi camera on a weak link tears parts, and anything on the LAN can send garbage: the parser trusts
// nothing, drops what does not check out, and resynchronises on the next boundary.

export interface MjpegFrame {
  jpeg: Buffer;
  /** Milliseconds from the part's X-Timestamp header (the camera's clock, often time since boot). */
  timestamp?: number;
}

export interface MjpegStats {
  frames: number;
  dropped: {
    /** The next boundary came before the part's payload was complete. */
    torn: number;
    /** Content-Length unparseable, or not where the JPEG really ends. */
    badLength: number;
    /** Declared or found larger than maxFrameBytes. */
    oversized: number;
    /** Not image/jpeg, or the payload is not a whole JPEG (SOI … EOI). */
    notJpeg: number;
    /** Bytes outside any part (other than the CRLF that precedes a boundary). */
    garbageBytes: number;
  };
}

export interface MjpegParserOptions {
  /** Default 2 MiB; an ESP32 UXGA frame at high quality is well under 500 KiB. */
  maxFrameBytes?: number;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** Part headers are ~100 bytes; a block this long without its blank line is not a header block. */
const MAX_HEADER_BYTES = 4096;
/** Input is consumed in slices so that one huge chunk cannot blow the buffer bound. */
const SLICE_BYTES = 64 * 1024;
/** A JPEG may be followed by a little padding inside its Content-Length. */
const MAX_JPEG_PADDING = 32;

type State = 'boundary' | 'headers' | 'body' | 'scan';

/**
 * Strict incremental parser. push(chunk) with the bytes split any way; whole, verified frames come out.
 * It never throws on input and holds at most maxFrameBytes + a few KiB (see bufferedBytes).
 */
export class MjpegParser {
  readonly #delimiter: Buffer;
  readonly #maxFrameBytes: number;
  readonly #limit: number;
  #buf: Buffer = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  #state: State = 'boundary';
  /** In 'body': declared length. */
  #expected = 0;
  /** In 'body': the part is already condemned (not image/jpeg) whatever its bytes. */
  #notJpegPart = false;
  /** In 'scan': true to collect a part without Content-Length, false to discard up to the next boundary. */
  #collect = false;
  /** Where the next delimiter search may begin (earlier bytes were searched already). */
  #searchFrom = 0;
  #timestamp: number | undefined;
  readonly #stats: MjpegStats = {
    frames: 0,
    dropped: { torn: 0, badLength: 0, oversized: 0, notJpeg: 0, garbageBytes: 0 },
  };

  constructor(boundary: string, options: MjpegParserOptions = {}) {
    const clean = boundary.replace(/^--/, '');
    if (!clean || /[\r\n]/.test(clean) || clean.length > 200)
      throw new TypeError('invalid multipart boundary');
    this.#delimiter = Buffer.from(`--${clean}`, 'latin1');
    this.#maxFrameBytes = Math.max(1024, options.maxFrameBytes ?? 2 * 1024 * 1024);
    this.#limit = this.#maxFrameBytes + MAX_HEADER_BYTES + this.#delimiter.length + 64;
  }

  get stats(): MjpegStats {
    return { frames: this.#stats.frames, dropped: { ...this.#stats.dropped } };
  }

  /** Bytes held between pushes: at most maxFrameBytes + MAX_HEADER_BYTES + the delimiter + 64. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  push(chunk: Buffer | Uint8Array): MjpegFrame[] {
    const frames: MjpegFrame[] = [];
    for (let i = 0; i < chunk.length; i += SLICE_BYTES) {
      this.#append(chunk.subarray(i, Math.min(chunk.length, i + SLICE_BYTES)));
      this.#run(frames);
    }
    return frames;
  }

  #append(slice: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + slice.length > this.#buf.length) {
      if (held + slice.length <= this.#buf.length && this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      } else {
        const capacity = Math.max(
          held + slice.length,
          Math.min(this.#buf.length * 2, this.#limit + SLICE_BYTES),
        );
        const next = Buffer.allocUnsafe(Math.max(capacity, 4096));
        this.#buf.copy(next, 0, this.#start, this.#end);
        this.#buf = next;
      }
      this.#searchFrom -= this.#start;
      this.#end = held;
      this.#start = 0;
    }
    this.#buf.set(slice, this.#end);
    this.#end += slice.length;
  }

  #indexOf(needle: Buffer, from: number): number {
    return this.#buf.subarray(0, this.#end).indexOf(needle, Math.max(from, this.#start));
  }

  #isCrlfAt(i: number): boolean {
    return i >= this.#start && i + 1 < this.#end && this.#buf[i] === 0x0d && this.#buf[i + 1] === 0x0a;
  }

  #garbage(bytes: number): void {
    if (bytes > 0) this.#stats.dropped.garbageBytes += bytes;
  }

  #run(frames: MjpegFrame[]): void {
    for (;;) {
      const progressed =
        this.#state === 'boundary'
          ? this.#onBoundary()
          : this.#state === 'headers'
            ? this.#onHeaders()
            : this.#state === 'body'
              ? this.#onBody(frames)
              : this.#onScan(frames);
      if (!progressed) return;
    }
  }

  /** Looks for `--boundary` + CRLF; everything before it except one CRLF is garbage. */
  #onBoundary(): boolean {
    const d = this.#delimiter;
    const at = this.#indexOf(d, this.#searchFrom);
    if (at < 0) {
      // Keep what could still turn out to be a CRLF and the start of a delimiter.
      const keep = d.length + 1;
      const discard = this.#end - this.#start - keep;
      if (discard > 0) {
        this.#garbage(discard);
        this.#start += discard;
      }
      this.#searchFrom = Math.max(this.#start, this.#end - d.length + 1);
      return false;
    }
    const after = at + d.length;
    if (this.#end - after < 2) {
      // The delimiter is here but not yet what follows it: settle the bytes that cannot change.
      const settled = at - 2 - this.#start;
      if (settled > 0) {
        this.#garbage(settled);
        this.#start += settled;
      }
      this.#searchFrom = at;
      return false;
    }
    const crlfBefore = at - 2 >= this.#start && this.#isCrlfAt(at - 2);
    const b0 = this.#buf[after];
    const b1 = this.#buf[after + 1];
    if (b0 === 0x0d && b1 === 0x0a) {
      this.#garbage(at - this.#start - (crlfBefore ? 2 : 0));
      this.#start = after + 2;
      this.#searchFrom = this.#start;
      this.#state = 'headers';
      this.#timestamp = undefined;
      return true;
    }
    if (b0 === 0x2d && b1 === 0x2d) {
      // Close delimiter (`--boundary--`): a well-behaved end; whatever follows is epilogue.
      this.#garbage(at - this.#start - (crlfBefore ? 2 : 0));
      this.#start = after + 2;
      this.#searchFrom = this.#start;
      return true;
    }
    // The boundary text followed by something else is not a delimiter.
    this.#garbage(at + 1 - this.#start);
    this.#start = at + 1;
    this.#searchFrom = this.#start;
    return true;
  }

  #onHeaders(): boolean {
    let headerEnd: number;
    let bodyStart: number;
    if (this.#isCrlfAt(this.#start)) {
      headerEnd = this.#start;
      bodyStart = this.#start + 2;
    } else {
      const h = this.#indexOf(HEADER_END, this.#start);
      const d = this.#indexOf(this.#delimiter, this.#start);
      if (d >= 0 && (h < 0 || d < h)) {
        // A new part began inside this header block: the block was torn.
        this.#state = 'boundary';
        this.#searchFrom = this.#start;
        return true;
      }
      if (h < 0 || h - this.#start > MAX_HEADER_BYTES) {
        if (h < 0 && this.#end - this.#start <= MAX_HEADER_BYTES) return false;
        this.#state = 'boundary';
        this.#searchFrom = this.#start;
        return true;
      }
      headerEnd = h;
      bodyStart = h + 4;
    }

    let length: number | undefined;
    let lengthValid = true;
    let contentType: string | undefined;
    const text = this.#buf.toString('latin1', this.#start, headerEnd);
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
        if (Number.isNaN(n) || (length !== undefined && length !== n)) lengthValid = false;
        else length = n;
      } else if (name === 'content-type') {
        contentType = value.toLowerCase();
      } else if (name === 'x-timestamp') {
        const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(value);
        if (m)
          this.#timestamp = Number(m[1]) * 1000 + Math.floor(Number((m[2] ?? '0').padEnd(6, '0')) / 1000);
      }
    }
    this.#start = bodyStart;
    this.#searchFrom = bodyStart;
    this.#notJpegPart = contentType !== undefined && !/^image\/(jpeg|jpg|pjpeg)\b/.test(contentType);

    if (!lengthValid) return this.#drop('badLength');
    if (length === undefined) {
      if (this.#notJpegPart) return this.#drop('notJpeg');
      this.#state = 'scan';
      this.#collect = true;
      return true;
    }
    if (length > this.#maxFrameBytes) return this.#drop(this.#notJpegPart ? 'notJpeg' : 'oversized');
    this.#expected = length;
    this.#state = 'body';
    return true;
  }

  /** Counts the current part as dropped and skips to the next boundary. */
  #drop(reason: Exclude<keyof MjpegStats['dropped'], 'garbageBytes'>): boolean {
    this.#stats.dropped[reason]++;
    this.#state = 'scan';
    this.#collect = false;
    this.#searchFrom = this.#start;
    return true;
  }

  #onBody(frames: MjpegFrame[]): boolean {
    const bodyEnd = this.#start + this.#expected;
    // A delimiter inside the declared body means the part ended early: torn, or its length overstated.
    const d = this.#indexOf(this.#delimiter, this.#searchFrom);
    if (d >= 0 && d < bodyEnd) {
      const payloadEnd = this.#isCrlfAt(d - 2) ? d - 2 : d;
      const reason = this.#notJpegPart
        ? 'notJpeg'
        : isWholeJpeg(this.#buf, this.#start, payloadEnd)
          ? 'badLength'
          : 'torn';
      this.#stats.dropped[reason]++;
      this.#state = 'boundary';
      this.#searchFrom = d;
      // The bytes before the new delimiter belonged to the dropped part, not to the garbage count.
      this.#start = payloadEnd;
      return true;
    }
    if (this.#end < bodyEnd) {
      this.#searchFrom = Math.max(this.#start, this.#end - this.#delimiter.length + 1);
      return false;
    }
    const whole = !this.#notJpegPart && isWholeJpeg(this.#buf, this.#start, bodyEnd);
    // A bad body may end where a delimiter begins; wait for it, so that the verdict does not depend on
    // how the bytes were split.
    if (
      !whole &&
      this.#endsWithDelimiterPrefix(Math.max(this.#start, bodyEnd - this.#delimiter.length + 1))
    ) {
      return false;
    }
    if (this.#notJpegPart || !startsWithSoi(this.#buf, this.#start, bodyEnd)) return this.#drop('notJpeg');
    if (!whole) return this.#drop('badLength');
    this.#emit(frames, this.#start, bodyEnd);
    this.#start = bodyEnd;
    this.#searchFrom = bodyEnd;
    this.#state = 'boundary';
    return true;
  }

  /** Whether the buffered bytes from some position ≥ from to the end are the first bytes of a delimiter. */
  #endsWithDelimiterPrefix(from: number): boolean {
    const d = this.#delimiter;
    for (let p = Math.max(from, this.#end - d.length + 1); p < this.#end; p++) {
      if (this.#buf.subarray(p, this.#end).equals(d.subarray(0, this.#end - p))) return true;
    }
    return false;
  }

  /** Collects a part without Content-Length, or discards a dropped one, up to the next delimiter. */
  #onScan(frames: MjpegFrame[]): boolean {
    const d = this.#indexOf(this.#delimiter, this.#searchFrom);
    if (d < 0) {
      const tail = this.#delimiter.length + 1;
      if (!this.#collect) {
        const discard = this.#end - this.#start - tail;
        if (discard > 0) this.#start += discard;
      } else if (this.#end - this.#start > this.#maxFrameBytes + tail) {
        this.#stats.dropped.oversized++;
        this.#collect = false;
        return true;
      }
      this.#searchFrom = Math.max(this.#start, this.#end - this.#delimiter.length + 1);
      return false;
    }
    const payloadEnd = this.#isCrlfAt(d - 2) ? d - 2 : d;
    if (this.#collect) {
      if (payloadEnd - this.#start > this.#maxFrameBytes) this.#stats.dropped.oversized++;
      else if (!startsWithSoi(this.#buf, this.#start, payloadEnd)) this.#stats.dropped.notJpeg++;
      else if (!isWholeJpeg(this.#buf, this.#start, payloadEnd)) this.#stats.dropped.torn++;
      else this.#emit(frames, this.#start, payloadEnd);
    }
    this.#start = payloadEnd;
    this.#searchFrom = d;
    this.#state = 'boundary';
    return true;
  }

  #emit(frames: MjpegFrame[], from: number, to: number): void {
    // A copy: the parser's buffer is reused for the next parts.
    const frame: MjpegFrame = { jpeg: Buffer.from(this.#buf.subarray(from, to)) };
    if (this.#timestamp !== undefined) frame.timestamp = this.#timestamp;
    frames.push(frame);
    this.#stats.frames++;
  }
}

function startsWithSoi(buf: Buffer, from: number, to: number): boolean {
  return to - from >= 4 && buf[from] === 0xff && buf[from + 1] === 0xd8 && buf[from + 2] === 0xff;
}

/** SOI at the start and EOI at the end, allowing a little zero/CRLF padding after EOI. */
function isWholeJpeg(buf: Buffer, from: number, to: number): boolean {
  if (!startsWithSoi(buf, from, to)) return false;
  let end = to;
  const floor = Math.max(from + 4, to - MAX_JPEG_PADDING);
  while (end > floor && (buf[end - 1] === 0x00 || buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  return buf[end - 2] === 0xff && buf[end - 1] === 0xd9;
}

/**
 * The boundary of a `multipart/x-mixed-replace` Content-Type value (quoted or not; a leading `--`, which some
 * cameras put in the parameter, removed). null for anything else.
 */
export function boundaryFromContentType(value: string | null | undefined): string | null {
  if (!value) return null;
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (type !== 'multipart/x-mixed-replace') return null;
  const params = semicolon < 0 ? '' : value.slice(semicolon);
  const m = /;\s*boundary\s*=\s*(?:"([^"\r\n]*)"|([^;\s"]+))/i.exec(params);
  const raw = m?.[1] ?? m?.[2];
  if (!raw) return null;
  const boundary = raw.replace(/^--/, '');
  if (!boundary || boundary.length > 200 || /[\r\n]/.test(boundary)) return null;
  return boundary;
}
