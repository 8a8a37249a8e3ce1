import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one error type of the hub. Services throw it; the app maps it once to
 * `{ "error": { "code", "message", "details"? } }` with its status.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new AppError(400, 'bad_request', message, details);
export const unauthorized = (message = 'Sign in first.') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'Your role does not allow this.') =>
  new AppError(403, 'forbidden', message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found.`);
export const conflict = (message: string) => new AppError(409, 'conflict', message);
export const tooManyRequests = (
  retryAfterSeconds: number,
  message = 'Too many attempts; wait and try again.',
) =>
  new AppError(
    429,
    'rate_limited',
    message,
    { retryAfterSeconds },
    { 'Retry-After': String(retryAfterSeconds) },
  );

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
