export type MediaErrorCode =
  /** The file holds no playable fragment (e.g. only the `ftyp` box left by a kill) or is not media at all. */
  | 'unreadable'
  | 'not_found'
  | 'timeout'
  /** An MP4 without `moof` boxes (a plain, non-fragmented MP4) where a fragmented one is required. */
  | 'not_fragmented'
  | 'ffmpeg_failed'
  | 'invalid_spec';

export class MediaError extends Error {
  override readonly name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
