import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chown, mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { closeDatabase, databasePath, openDatabase } from '../db/client.js';
import {
  ARCHIVE_FILES,
  BackupError,
  configSources,
  describeSchema,
  knownSchema,
  MANIFEST_NAME,
  type Manifest,
  manifestSchema,
  type SchemaVersion,
  schemaOf,
  sha256File,
  utcStamp,
} from './backup.js';

export interface VerifiedArchive {
  manifest: Manifest;
  /** Folder the archive was unpacked into; the caller removes it. */
  dir: string;
  /** Schema of the archived database as its own bookkeeping says. */
  schema: SchemaVersion;
}

const ALLOWED = new Set<string>([MANIFEST_NAME, ...Object.values(ARCHIVE_FILES)]);

/**
 * Unpacks an archive into `dir` and checks it whole before anything else is touched: a complete
 * gzip and tar stream, only the files a backup contains, a valid manifest, every file's size and
 * SHA-256, a database that passes its integrity check and agrees with the manifest on its schema.
 */
export async function verifyArchive(file: string, dir: string): Promise<VerifiedArchive> {
  const bad = (why: string) =>
    new BackupError(`${file} is not a usable Hearth backup: ${why}; nothing was changed`);
  try {
    await stat(file);
  } catch {
    throw new BackupError(`no such file: ${file}`);
  }
  const unexpected: string[] = [];
  try {
    await tar.extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (entryPath, entry) => {
        const ok = ALLOWED.has(entryPath) && 'type' in entry && entry.type === 'File';
        if (!ok && !(entryPath === 'config/' && 'type' in entry && entry.type === 'Directory'))
          unexpected.push(entryPath);
        return ok;
      },
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'Z_BUF_ERROR'
        ? 'it ends too early (truncated: an interrupted copy?)'
        : code === 'TAR_BAD_ARCHIVE' || code === 'Z_DATA_ERROR'
          ? 'it is not a gzip-compressed tar archive, or it is damaged'
          : (error as Error).message;
    throw bad(why);
  }
  if (unexpected.length > 0) throw bad(`it holds files a backup never has (${unexpected.join(', ')})`);
  let manifest: Manifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(await readFile(path.join(dir, MANIFEST_NAME), 'utf8')));
  } catch (error) {
    throw bad(
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'it has no manifest.json'
        : `its manifest is invalid (${(error as Error).message.split('\n')[0]})`,
    );
  }
  for (const entry of manifest.files) {
    const local = path.join(dir, entry.path);
    const size = await stat(local).then(
      (s) => s.size,
      () => null,
    );
    if (size === null) throw bad(`${entry.path} is listed in the manifest but missing`);
    if (size !== entry.bytes) throw bad(`${entry.path} has ${size} bytes, the manifest says ${entry.bytes}`);
    if ((await sha256File(local)) !== entry.sha256) throw bad(`${entry.path} does not match its checksum`);
  }
  if (!manifest.files.some((entry) => entry.path === ARCHIVE_FILES.database))
    throw bad('it holds no database');
  const copy = new Database(path.join(dir, ARCHIVE_FILES.database), { readonly: true, fileMustExist: true });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw bad(`its database fails the integrity check (${String(check)})`);
    const schema = schemaOf(copy);
    if (schema.migrations !== manifest.schema.migrations)
      throw bad(
        `its database has ${schema.migrations} migrations applied, the manifest says ${manifest.schema.migrations}`,
      );
    return { manifest, dir, schema };
  } finally {
    copy.close();
  }
}

/** A schema this build cannot migrate from: more migrations than it has, or one newer than its last. */
export function refuseNewerSchema(archived: SchemaVersion, manifest: Manifest): void {
  const known = knownSchema();
  const newer =
    archived.migrations > known.migrations ||
    (archived.lastWhen !== null && known.lastWhen !== null && archived.lastWhen > known.lastWhen) ||
    (archived.migrations > 0 && archived.tag === null);
  if (newer)
    throw new BackupError(
      `this backup's database has schema ${describeSchema(manifest.schema)} from Hearth ${manifest.hearthVersion}; ` +
        `this Hearth knows up to ${describeSchema(known)}. Install Hearth ${manifest.hearthVersion} or newer, then restore; nothing was changed`,
    );
}

/**
 * Processes that have the file open, from /proc (Linux): exact for this data folder, unlike a port,
 * which may belong to another hub. Processes of other users are invisible unless run as root.
 */
export function processesUsing(file: string): { pid: number; command: string }[] {
  const users: { pid: number; command: string }[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return users;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const opened = fds.some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return target === file || target === `${file}-wal`;
      } catch {
        return false;
      }
    });
    if (!opened) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      // the process ended meanwhile
    }
    users.push({ pid: Number(pid), command });
  }
  return users;
}

function inUseError(file: string, detail: string): BackupError {
  return new BackupError(
    `the database ${file} is in use (${detail}). Stop the hub first (sudo systemctl stop hearth-hub, or Ctrl-C on npm start); nothing was changed`,
  );
}

/**
 * Folds the current database into one file and proves nobody else has it open: SQLite leaves WAL mode
 * only for its sole connection, so a hub (or `hearth` command) holding it makes this fail at once.
 */
function takeSoleHold(file: string): void {
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(file, { fileMustExist: true });
    sqlite.pragma('busy_timeout = 0');
    sqlite.pragma('journal_mode = DELETE');
  } catch (error) {
    const code = String((error as { code?: unknown }).code);
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      throw inUseError(file, (error as Error).message);
    // A damaged database is often why one restores: it is moved aside as it is, WAL and all.
  } finally {
    sqlite?.close();
  }
}

async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Files the restore made as root would lock out the hub's own user: hand them to the folder's owner. */
async function matchOwner(files: string[], like: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const owner = await stat(like);
  for (const file of files) if (await exists(file)) await chown(file, owner.uid, owner.gid);
}

export interface RestorePlan {
  archive: string;
  manifest: Manifest;
  database: string;
  /** Where the current database goes, or null when there is none. */
  asideAs: string | null;
  /** Config files the archive holds and where they would go. */
  config: { path: string; target: string; aside: string | null }[];
  migrateFrom: SchemaVersion;
  migrateTo: SchemaVersion;
}

export interface RestoreOptions {
  archive: string;
  dataDir: string;
  dryRun: boolean;
  force: boolean;
  withConfig: boolean;
  now: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * `hearth restore`: verifies the archive, refuses a newer schema, a database in use, or replacing a
 * database without `--force`; then keeps the current database as `hearth.db.before-restore-<stamp>`,
 * puts the archived one in its place and migrates it forward. With `dryRun` it stops after the checks.
 */
export async function restoreBackup(
  options: RestoreOptions,
): Promise<{ plan: RestorePlan; done: boolean; migrated: SchemaVersion | null }> {
  const env = options.env ?? process.env;
  const archive = path.resolve(options.archive);
  const database = databasePath(options.dataDir);
  const stamp = utcStamp(options.now);
  // The real restore unpacks beside the database so the final step is a rename on one filesystem.
  if (!options.dryRun) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(path.join(options.dryRun ? os.tmpdir() : options.dataDir, '.restore-'));
  try {
    const verified = await verifyArchive(archive, staging);
    refuseNewerSchema(verified.schema, verified.manifest);
    const current = await exists(database);
    const sources = new Map(configSources(env).map((source) => [source.path, source.source]));
    const config: RestorePlan['config'] = [];
    for (const entry of verified.manifest.files) {
      if (entry.path === ARCHIVE_FILES.database) continue;
      const target = sources.get(entry.path) ?? entry.source ?? '';
      if (!target) continue;
      config.push({
        path: entry.path,
        target,
        aside: (await exists(target)) ? `${target}.before-restore-${stamp}` : null,
      });
    }
    const plan: RestorePlan = {
      archive,
      manifest: verified.manifest,
      database,
      asideAs: current ? `${database}.before-restore-${stamp}` : null,
      config,
      migrateFrom: verified.schema,
      migrateTo: knownSchema(),
    };
    if (current) {
      const users = processesUsing(database);
      if (users.length > 0)
        throw inUseError(database, users.map((u) => `pid ${u.pid}: ${u.command}`).join('; '));
      if (!options.force && !options.dryRun)
        throw new BackupError(
          `there is a database at ${database} already; add --force to replace it (it is kept as ${plan.asideAs}); nothing was changed`,
        );
    }
    if (options.dryRun) return { plan, done: false, migrated: null };

    const aside = `${database}.before-restore-${stamp}`;
    if (current) {
      takeSoleHold(database);
      await rename(database, aside);
    }
    // Folded into the main file above; anything left is from a crash, and SQLite would replay a stale WAL
    // onto the restored file: it goes with the old copy.
    for (const suffix of ['-wal', '-shm', '-journal'])
      if (await exists(`${database}${suffix}`)) await rename(`${database}${suffix}`, `${aside}${suffix}`);
    const staged = path.join(staging, ARCHIVE_FILES.database);
    await fsyncPath(staged);
    await rename(staged, database);
    await fsyncPath(options.dataDir);
    // Opening applies the migrations this build has and the backup lacks.
    const db = openDatabase(database);
    let migrated: SchemaVersion;
    try {
      migrated = schemaOf(db.$client);
    } finally {
      closeDatabase(db);
    }
    await matchOwner([database, `${database}-wal`, `${database}-shm`], options.dataDir);

    if (options.withConfig) {
      for (const entry of plan.config) {
        const source = path.join(staging, entry.path);
        const previous = entry.aside ? await stat(entry.target) : null;
        await mkdir(path.dirname(entry.target), { recursive: true });
        const temporary = `${entry.target}.restore-${process.pid}`;
        await writeFile(temporary, await readFile(source), {
          mode: previous ? previous.mode & 0o777 : 0o640,
        });
        await fsyncPath(temporary);
        // The hub's user must still read it: owner of the file it replaces, else of its folder (root:hearth).
        await matchOwner([temporary], previous ? entry.target : path.dirname(entry.target));
        if (entry.aside) await rename(entry.target, entry.aside);
        await rename(temporary, entry.target);
        await fsyncPath(path.dirname(entry.target));
      }
    }
    return { plan, done: true, migrated };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
