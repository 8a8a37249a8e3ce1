// The recorded-playback HLS playlist, as text. Its format, line by line, is in docs/protocols.md
// ("Recorded playback (HLS)"); a change here is a change of that protocol.

/** What the playlist needs of a segment row. */
export interface PlaylistSegment {
  id: number;
  startAt: number;
  durationMs: number;
  bytes: number;
  initBytes: number;
  clockSuspect: boolean;
}

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

/** Hearth's own comment line (HLS ignores `#` lines that are not `#EXT` tags) before a clock-suspect segment. */
export const CLOCK_SUSPECT_LINE = '#HEARTH-CLOCK-SUSPECT';

export const segmentFileUri = (id: number) => `/api/segments/${id}/file`;

/**
 * A VOD playlist over `segments`, in the order given. Every segment file is addressed twice with byte
 * ranges: its `ftyp`+`moov` as the EXT-X-MAP, and the `moof`/`mdat` fragments after it as the media
 * segment, so no file is cut or copied to play it. Each file has its own init and restarts its
 * timestamps at zero (`-reset_timestamps 1`), hence a discontinuity before every segment but the first.
 */
export function buildPlaylist(segments: readonly PlaylistSegment[]): string {
  if (segments.length === 0) throw new Error('a playlist needs at least one segment');
  // EXTINF rounded to the nearest integer must not exceed the target duration (RFC 8216 4.3.3.1); ceil
  // of the longest is always enough.
  const target = Math.max(1, ...segments.map((segment) => Math.ceil(segment.durationMs / 1000)));
  const lines = [
    '#EXTM3U',
    // EXT-X-MAP outside an I-frames-only playlist needs version 6 or more (RFC 8216 section 7).
    '#EXT-X-VERSION:7',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  segments.forEach((segment, index) => {
    const uri = segmentFileUri(segment.id);
    if (index > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.clockSuspect) lines.push(CLOCK_SUSPECT_LINE);
    lines.push(
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.startAt).toISOString()}`,
      `#EXT-X-MAP:URI="${uri}",BYTERANGE="${segment.initBytes}@0"`,
      `#EXTINF:${(segment.durationMs / 1000).toFixed(3)},`,
      `#EXT-X-BYTERANGE:${segment.bytes - segment.initBytes}@${segment.initBytes}`,
      uri,
    );
  });
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
