import type { Readable } from 'node:stream';
import { Readable as NodeReadable } from 'node:stream';
import parseRange from 'range-parser';

/** A file to answer with: its size and a byte-range reader (the NAS one runs in the fs worker). */
export interface ServableFile {
  size: number;
  read(range?: { start: number; end: number }): Readable;
}

/**
 * A file as an HTTP answer with single-range support (what video elements and hls.js ask for):
 * 200 whole, 206 partial, 416 when the range lies outside the file.
 */
export function fileResponse(
  file: ServableFile,
  rangeHeader: string | undefined,
  headers: Record<string, string>,
): Response {
  const { size } = file;
  const common = { 'Accept-Ranges': 'bytes', ...headers };
  if (rangeHeader) {
    const ranges = parseRange(size, rangeHeader, { combine: true });
    if (ranges === -1)
      return new Response(null, { status: 416, headers: { ...common, 'Content-Range': `bytes */${size}` } });
    if (ranges !== -2 && ranges.length === 1) {
      const { start, end } = ranges[0]!;
      return new Response(NodeReadable.toWeb(file.read({ start, end })) as ReadableStream, {
        status: 206,
        headers: {
          ...common,
          'Content-Range': `bytes ${start}-${end}/${size}`,
          'Content-Length': String(end - start + 1),
        },
      });
    }
  }
  return new Response(NodeReadable.toWeb(file.read()) as ReadableStream, {
    status: 200,
    headers: { ...common, 'Content-Length': String(size) },
  });
}
