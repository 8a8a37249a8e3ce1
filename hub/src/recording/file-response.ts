import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import parseRange from 'range-parser';
import { AppError } from '../http/errors.js';

/**
 * A file as an HTTP answer with single-range support (what video elements and hls.js ask for):
 * 200 whole, 206 partial, 416 when the range lies outside the file.
 */
export async function fileResponse(
  file: string,
  rangeHeader: string | undefined,
  headers: Record<string, string>,
): Promise<Response> {
  const size = await stat(file).then(
    (info) => info.size,
    () => {
      throw new AppError(404, 'not_found', 'The file is not where the index says; a reindex will fix the index.');
    },
  );
  const common = { 'Accept-Ranges': 'bytes', ...headers };
  if (rangeHeader) {
    const ranges = parseRange(size, rangeHeader, { combine: true });
    if (ranges === -1)
      return new Response(null, { status: 416, headers: { ...common, 'Content-Range': `bytes */${size}` } });
    if (ranges !== -2 && ranges.length === 1) {
      const { start, end } = ranges[0]!;
      const body = Readable.toWeb(createReadStream(file, { start, end })) as ReadableStream;
      return new Response(body, {
        status: 206,
        headers: { ...common, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': String(end - start + 1) },
      });
    }
  }
  const body = Readable.toWeb(createReadStream(file)) as ReadableStream;
  return new Response(body, { status: 200, headers: { ...common, 'Content-Length': String(size) } });
}
