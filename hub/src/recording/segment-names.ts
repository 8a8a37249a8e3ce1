/**
 * Segment file names and NAS layout (BRIEF.md): `videos/<camera>/<YYYY-MM-DD>/<camera>_<YYYYMMDD_HHMMSS>.mp4`,
 * times in UTC. ffmpeg writes `<camera>_<YYYYMMDD_HHMMSS>.mp4` flat into staging; the date folder is ours.
 */
const NAME =
  /^([a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:-(\d+))?\.mp4$/;

export interface SegmentName {
  cameraId: string;
  startAt: number;
}

export function parseSegmentName(fileName: string): SegmentName | null {
  const match = NAME.exec(fileName);
  if (!match) return null;
  const [, cameraId, y, mo, d, h, mi, s] = match;
  const startAt = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(startAt)) return null;
  return { cameraId: cameraId!, startAt };
}

export function segmentRelPath(fileName: string, segment: SegmentName): string {
  const day = new Date(segment.startAt).toISOString().slice(0, 10);
  return `videos/${segment.cameraId}/${day}/${fileName}`;
}

/** `videos/<camera>/<day>/<file>` relative paths only: anything else found on the NAS is not footage. */
export function parseRelPath(relPath: string): SegmentName | null {
  const parts = relPath.split('/');
  if (parts.length !== 4 || parts[0] !== 'videos') return null;
  const name = parseSegmentName(parts[3]!);
  if (!name || name.cameraId !== parts[1] || new Date(name.startAt).toISOString().slice(0, 10) !== parts[2])
    return null;
  return name;
}
