import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/**
 * A secret the hub makes once and keeps in `<secretsDir>/<name>` (0600, folder 0700): never in the
 * database, so never in its backups. `create` runs only when the file does not exist yet; two starts
 * racing keep one secret (written under a temporary name, then hard-linked into place).
 */
export function readOrCreateSecret(secretsDir: string, name: string, create: () => Buffer): Buffer {
  const file = path.join(secretsDir, name);
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, create());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(file);
}
