import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import {
  chmod,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { z } from 'zod';
import { backupDatabase } from '../db/backup.js';
import { type Db, MIGRATIONS_DIR } from '../db/client.js';
import { type FsWorker, isStorageError, type NasGuard } from '../storage/index.js';
import { HUB_VERSION } from '../system/version.js';

/** A refusal or failure to explain to a person (exit 1, one line, no stack). */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** Where the appliance keeps its environment; systemd reads it (EnvironmentFile=), the hub never does. */
export const DEFAULT_ENV_FILE = '/etc/hearth/hearth.env';

export const ARCHIVE_FILES = {
  database: 'hearth.db',
  config: 'config/hearth.json',
  env: 'config/hearth.env',
} as const;
export const MANIFEST_NAME = 'manifest.json';

/** Said in every manifest, so a person holding only the archive knows what it cannot bring back. */
export const NOT_INCLUDED = [
  'the secrets folder (secretsDir: wifi.key, channels.key, ca.key, tls-server.key, ack-links.key, node-live.key, firmware-signing.key). Restored on new hardware without a copy of it, the hub makes a new local CA (every phone and browser must trust it again), the household Wi-Fi password and the alert channels’ secrets (sealed in the database) must be entered again, acknowledgement links already sent stop working, and cameras refuse firmware signed with the old key until re-adopted.',
  'recordings, photos and clip exports: they live on the NAS, and the index is rebuilt from the files (hearth reindex).',
];

export const manifestSchema = z
  .object({
    format: z.literal('hearth-backup'),
    formatVersion: z.literal(1),
    hearthVersion: z.string().min(1),
    createdAt: z.iso.datetime(),
    hostname: z.string().min(1),
    schema: z
      .object({
        /** Migrations applied to the archived database, in the journal's order. */
        migrations: z.number().int().nonnegative(),
        /** Tag of the last of them; null when the build that made the archive did not know it. */
        tag: z.string().nullable(),
      })
      .strict(),
    files: z
      .array(
        z
          .object({
            path: z.enum([ARCHIVE_FILES.database, ARCHIVE_FILES.config, ARCHIVE_FILES.env]),
            bytes: z.number().int().nonnegative(),
            sha256: z.string().regex(/^[0-9a-f]{64}$/),
            /** Where a config file came from; null for the database. */
            source: z.string().nullable(),
          })
          .strict(),
      )
      .min(1)
      .max(3),
    notIncluded: z.array(z.string()),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;

export interface SchemaVersion {
  migrations: number;
  tag: string | null;
  /** `when` of the last migration (drizzle keeps it as created_at); null for an empty database. */
  lastWhen: number | null;
}

const journalSchema = z.object({
  entries: z.array(z.object({ when: z.number(), tag: z.string() })),
});

function journalEntries() {
  const file = path.join(MIGRATIONS_DIR, 'meta', '_journal.json');
  return journalSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).entries;
}

/** The newest schema this build can migrate to: its last committed migration. */
export function knownSchema(): SchemaVersion {
  const entries = journalEntries();
  const last = entries.at(-1);
  return { migrations: entries.length, tag: last?.tag ?? null, lastWhen: last?.when ?? null };
}

/** What drizzle's own bookkeeping says a database has had applied, named by this build's journal. */
export function schemaOf(sqlite: Database.Database): SchemaVersion {
  const table = sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!table) return { migrations: 0, tag: null, lastWhen: null };
  const row = sqlite
    .prepare('SELECT count(*) AS migrations, max(created_at) AS lastWhen FROM __drizzle_migrations')
    .get() as { migrations: number; lastWhen: number | null };
  const lastWhen = row.lastWhen === null ? null : Number(row.lastWhen);
  const tag = journalEntries().find((entry) => entry.when === lastWhen)?.tag ?? null;
  return { migrations: row.migrations, tag, lastWhen };
}

export function describeSchema(version: { migrations: number; tag: string | null }): string {
  return `${version.tag ?? 'an unknown migration'} (${version.migrations} migrations)`;
}

/** A host name as it may appear in a file name. */
export function hostLabel(hostname = os.hostname()): string {
  return hostname.replace(/[^A-Za-z0-9.-]/g, '_') || 'hearth';
}

/** `YYYYMMDD-HHMMSS` in UTC, as the recordings on the NAS are named. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function archiveName(host: string, ms: number): string {
  return `hearth-backup-${host}-${utcStamp(ms)}.tar.gz`;
}

/** Only names this host's `hearth backup` makes: pruning never touches anything else. */
function ownArchive(name: string, host: string): number | null {
  const match = /^hearth-backup-(.+)-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})\.tar\.gz$/.exec(name);
  if (!match || match[1] !== host) return null;
  const [, , y, mo, d, h, mi, s] = match.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  return Number.isNaN(ms) ? null : ms;
}

/** This host's archives among `names`, newest first. */
export function ownArchives(names: string[], host: string): { name: string; createdAt: number }[] {
  return names
    .flatMap((name) => {
      const createdAt = ownArchive(name, host);
      return createdAt === null ? [] : [{ name, createdAt }];
    })
    .sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name));
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Where a backup goes: a local folder (spool or `--to`), or the NAS through the hang-proof worker. */
export type Destination =
  | { kind: 'local'; dir: string; label: 'spool' | 'folder' }
  | { kind: 'nas'; dir: string; fs: FsWorker; guard: NasGuard };

export interface BackupResult {
  /** Absolute path of the archive. */
  file: string;
  location: 'nas' | 'spool' | 'folder';
  bytes: number;
  manifest: Manifest;
  /** Older archives of this host removed to keep `keep`. */
  pruned: string[];
  /** Set when the NAS was chosen but the copy failed, so the archive went to the spool instead. */
  nasError?: string;
}

export interface BackupOptions {
  db: Db;
  dataDir: string;
  destination: Destination;
  keep: number;
  now: number;
  env?: NodeJS.ProcessEnv;
  hostname?: string;
}

/** The spool: where archives go when the NAS is not usable. */
export function spoolBackupDir(dataDir: string): string {
  return path.join(dataDir, 'backups');
}

/** The config files in effect: the `HEARTH_CONFIG` JSON file and the appliance's environment file. */
export function configSources(
  env: NodeJS.ProcessEnv,
): { path: Manifest['files'][number]['path']; source: string }[] {
  const sources: { path: Manifest['files'][number]['path']; source: string }[] = [];
  if (env.HEARTH_CONFIG)
    sources.push({ path: ARCHIVE_FILES.config, source: path.resolve(env.HEARTH_CONFIG) });
  sources.push({ path: ARCHIVE_FILES.env, source: path.resolve(env.HEARTH_ENV_FILE || DEFAULT_ENV_FILE) });
  return sources;
}

/** Writes `<dir>/<name>` from a finished local file without ever replacing one, then fsyncs the folder. */
async function publishLocal(partial: string, final: string): Promise<void> {
  await fsyncPath(partial);
  try {
    // link, not rename: a name already taken (two backups in one second) fails instead of being replaced.
    await link(partial, final);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new BackupError(`${final} exists already; try again in a second`);
    throw error;
  } finally {
    await unlink(partial).catch(() => undefined);
  }
  await fsyncPath(path.dirname(final));
}

async function pruneLocal(dir: string, host: string, keep: number): Promise<string[]> {
  const stale = ownArchives(await readdir(dir), host).slice(Math.max(1, keep));
  for (const { name } of stale) await rm(path.join(dir, name), { force: true });
  return stale.map(({ name }) => path.join(dir, name));
}

async function pruneNas(dir: string, fs: FsWorker, host: string, keep: number): Promise<string[]> {
  const names = (await fs.readdir(dir)).filter((entry) => entry.type === 'file').map((entry) => entry.name);
  const stale = ownArchives(names, host).slice(Math.max(1, keep));
  for (const { name } of stale) await fs.unlink(path.join(dir, name));
  return stale.map(({ name }) => path.join(dir, name));
}

/**
 * One backup: the online SQLite copy (consistent while the hub writes), the config files in effect
 * and a manifest with their checksums, packed into a dated tar.gz that appears under its name only
 * when complete. Then the newest `keep` archives of this host stay in that folder.
 */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const env = options.env ?? process.env;
  const host = hostLabel(options.hostname);
  const name = archiveName(host, options.now);
  const spool = spoolBackupDir(options.dataDir);
  await mkdir(spool, { recursive: true, mode: 0o700 });
  // Beside the spool (local disk), hidden so that listings and pruning never see it.
  const staging = await mkdtemp(path.join(spool, '.staging-'));
  try {
    const files: Manifest['files'] = [];
    const database = path.join(staging, ARCHIVE_FILES.database);
    await backupDatabase(options.db, database);
    await chmod(database, 0o600);
    const copy = new Database(database, { readonly: true, fileMustExist: true });
    let schema: SchemaVersion;
    try {
      schema = schemaOf(copy);
    } finally {
      copy.close();
    }
    files.push({
      path: ARCHIVE_FILES.database,
      bytes: (await stat(database)).size,
      sha256: await sha256File(database),
      source: null,
    });
    await mkdir(path.join(staging, 'config'));
    for (const { path: inArchive, source } of configSources(env)) {
      const target = path.join(staging, inArchive);
      try {
        await copyFile(source, target);
      } catch (error) {
        // The environment file is optional (a laptop has none); a HEARTH_CONFIG that vanished is not.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && inArchive === ARCHIVE_FILES.env) continue;
        throw new BackupError(`cannot read the config file ${source}: ${(error as Error).message}`);
      }
      await chmod(target, 0o600);
      files.push({
        path: inArchive,
        bytes: (await stat(target)).size,
        sha256: await sha256File(target),
        source,
      });
    }
    const manifest: Manifest = {
      format: 'hearth-backup',
      formatVersion: 1,
      hearthVersion: HUB_VERSION,
      createdAt: new Date(options.now).toISOString(),
      hostname: options.hostname ?? os.hostname(),
      schema: { migrations: schema.migrations, tag: schema.tag },
      files,
      notIncluded: NOT_INCLUDED,
    };
    await writeFile(path.join(staging, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, {
      mode: 0o600,
    });

    const destination = options.destination;
    const localDir = destination.kind === 'local' ? destination.dir : spool;
    await mkdir(localDir, { recursive: true, mode: 0o700 });
    // Packed straight into the target folder when it is local (the final step is a link in one folder).
    const packed =
      destination.kind === 'local' ? path.join(localDir, `.${name}.partial`) : path.join(staging, name);
    await rm(packed, { force: true });
    await tar.create({ gzip: true, portable: true, cwd: staging, file: packed }, [
      MANIFEST_NAME,
      ...files.map((file) => file.path),
    ]);
    // It holds password and token hashes and sealed secrets: owner only.
    await chmod(packed, 0o600);
    const bytes = (await stat(packed)).size;

    if (destination.kind === 'nas') {
      const target = path.join(destination.dir, name);
      let nasError: string;
      try {
        const fence = destination.guard.fence();
        if (!fence) throw new Error(`the NAS is not available (${destination.guard.current().reason})`);
        await destination.fs.copyIn(packed, target, { fence });
        nasError = '';
      } catch (error) {
        if (isStorageError(error, 'exists'))
          throw new BackupError(`${target} exists already; try again in a second`);
        if (isStorageError(error)) destination.guard.reportFailure(error);
        nasError = (error as Error).message;
      }
      if (!nasError) {
        const pruned = await pruneNas(destination.dir, destination.fs, host, options.keep);
        return { file: target, location: 'nas', bytes, manifest, pruned };
      }
      // A backup in the spool beats none: the NAS failing is exactly when one may be needed.
      const final = path.join(spool, name);
      await publishLocal(packed, final);
      const pruned = await pruneLocal(spool, host, options.keep);
      return { file: final, location: 'spool', bytes, manifest, pruned, nasError };
    }
    const final = path.join(localDir, name);
    await publishLocal(packed, final);
    const pruned = await pruneLocal(localDir, host, options.keep);
    return { file: final, location: destination.label, bytes, manifest, pruned };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The newest archive of this host in the spool and (when given and healthy) on the NAS; null if none. */
export async function newestBackupAt(options: {
  dataDir: string;
  nas?: { dir: string; fs: FsWorker; guard: NasGuard } | undefined;
  hostname?: string;
}): Promise<number | null> {
  const host = hostLabel(options.hostname);
  const names = await readdir(spoolBackupDir(options.dataDir)).catch(() => [] as string[]);
  if (options.nas?.guard.current().healthy) {
    const entries = await options.nas.fs.readdir(options.nas.dir).catch(() => []);
    names.push(...entries.map((entry) => entry.name));
  }
  return ownArchives(names, host)[0]?.createdAt ?? null;
}
