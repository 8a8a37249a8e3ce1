import { execFileSync } from 'node:child_process';

/** A file's duration as ffprobe itself reads it: the independent check on what the hub indexed. */
export function ffprobeSeconds(file: string): number {
  return Number(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      file,
    ]).toString(),
  );
}
