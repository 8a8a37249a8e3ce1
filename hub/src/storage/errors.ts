export type StorageErrorCode = 'timeout' | 'exists' | 'size_mismatch' | 'unhealthy' | 'quota' | 'io';

/**
 * The one error type callers branch on. `errno` keeps the system code (ENOENT, ENOSPC, …) when there
 * was one, because "the NAS is full" and "the file vanished" need different handling upstream.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly errno: string | undefined;

  constructor(code: StorageErrorCode, message: string, options?: { errno?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = options?.errno;
  }
}

export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}

export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns whatever a file operation threw into a StorageError, keeping the system code. */
export function toStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = errnoOf(error);
  return new StorageError('io', message, errno === undefined ? { cause: error } : { errno, cause: error });
}
