export interface FfmpegLogLine {
  level: 'error' | 'warning' | 'info';
  message: string;
  /** The component ffmpeg named in brackets (`tcp`, `rtsp`, `mjpeg`, `segment`…), when it named one. */
  source?: string;
  /** Identical lines suppressed before this one (ffmpeg's "Last message repeated" or our own limiter). */
  repeated?: number;
}

const LEVELS: Record<string, FfmpegLogLine['level']> = {
  panic: 'error',
  fatal: 'error',
  error: 'error',
  warning: 'warning',
  info: 'info',
  verbose: 'info',
  debug: 'info',
  trace: 'info',
};

/** Lines that carry no operational meaning but that ffmpeg prints at warning level or above. */
const NOISE = [
  /deprecated pixel format used, make sure you did set range correctly/,
  /^Consider increasing the value for the 'analyzeduration'/,
  /^Press \[q\] to stop/,
  /^Exiting normally, received signal/,
];

/** `-progress` output: `key=value` lines, consumed by the recorder as a sign of life, never logged. */
const PROGRESS = /^[a-z][a-z0-9_]*=/;

/**
 * Parses one line of ffmpeg's stderr as printed with `-loglevel level+…`
 * (`[tcp @ 0x55…] [error] Connection to tcp://… failed: Connection refused`). Returns null for progress
 * output and noise. Credentials in URLs are masked, because these lines end up in logs and the API.
 */
export function parseFfmpegLine(line: string): FfmpegLogLine | null {
  let rest = line.replace(/\s+$/, '');
  if (!rest.trim() || PROGRESS.test(rest)) return null;

  const repeatedMatch = /^\s*Last message repeated (\d+) times?$/.exec(rest);
  if (repeatedMatch)
    return { level: 'info', message: 'Last message repeated', repeated: Number(repeatedMatch[1]) };

  let source: string | undefined;
  let level: FfmpegLogLine['level'] | undefined;
  for (;;) {
    const context = /^\[([A-Za-z0-9_:.-]+) @ (?:0x)?[0-9a-fA-F]+\]\s*/.exec(rest);
    if (context) {
      source = context[1];
      rest = rest.slice(context[0].length);
      continue;
    }
    const tag = /^\[(panic|fatal|error|warning|info|verbose|debug|trace)\]\s*/.exec(rest);
    if (tag) {
      level = LEVELS[tag[1]!];
      rest = rest.slice(tag[0].length);
      continue;
    }
    break;
  }
  const message = redactUrls(rest.trim());
  if (!message || NOISE.some((re) => re.test(message))) return null;
  const parsed: FfmpegLogLine = { level: level ?? 'info', message };
  if (source) parsed.source = source;
  return parsed;
}

/** Masks the user-info part of every URL in a text (`rtsp://user:pass@cam/` → `rtsp://***@cam/`). */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** A key for "the same message": numbers and addresses vary from line to line. */
export function messageKey(line: FfmpegLogLine): string {
  return `${line.level}|${line.source ?? ''}|${line.message.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, '#')}`;
}
