import path from 'node:path';
import { StorageError } from './errors.js';

/** Names the storage module itself puts at a storage root; walks and listings skip them. */
export const MARKER_NAME = '.hearth-nas';
export const PROBE_DIR = '.hearth-probe';
const PARTIAL_INFIX = '.partial-';

/**
 * Validates a path relative to a storage root and returns it normalised with forward slashes.
 * Relative paths come from camera ids, dates and uploads: anything that could climb out of the
 * root, or name the root itself, is refused rather than cleaned up.
 */
export function safeRelPath(relPath: string): string {
  if (typeof relPath !== 'string' || relPath.length === 0 || relPath.length > 1024) {
    throw new StorageError('io', 'relative path is empty or too long', { errno: 'EINVAL' });
  }
  if (relPath.includes('\0') || relPath.includes('\\') || path.posix.isAbsolute(relPath)) {
    throw new StorageError('io', `not a safe relative path: ${JSON.stringify(relPath)}`, { errno: 'EINVAL' });
  }
  const parts = relPath.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') {
      throw new StorageError('io', `not a safe relative path: ${JSON.stringify(relPath)}`, {
        errno: 'EINVAL',
      });
    }
  }
  return parts.join('/');
}

/** `<root>/<relPath>` for a validated relPath; the result is always strictly inside root. */
export function resolveUnder(root: string, relPath: string): string {
  return path.join(path.resolve(root), ...safeRelPath(relPath).split('/'));
}

/** `a/b/name.mp4` → `a/b/name-2.mp4` (n > 0); the suffix goes before the last extension. */
export function withSuffix(relPath: string, n: number): string {
  if (n === 0) return relPath;
  const dir = path.posix.dirname(relPath);
  const base = path.posix.basename(relPath);
  const ext = path.posix.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  const name = `${stem}-${n}${ext}`;
  return dir === '.' ? name : `${dir}/${name}`;
}

export function partialName(finalPath: string, random: string): string {
  return `${finalPath}${PARTIAL_INFIX}${random}`;
}

/** True for the temporary names copies write to before the atomic rename. */
export function isPartialName(name: string): boolean {
  return path.posix.basename(name).includes(PARTIAL_INFIX);
}
