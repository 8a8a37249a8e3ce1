import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../cli/command.js';
import { loadConfig } from '../config/load.js';
import { closeDatabase, databasePath, openDatabase } from '../db/client.js';
import { commandNasGuard, createFsWorker } from '../storage/index.js';
import {
  BackupError,
  createBackup,
  type Destination,
  describeSchema,
  NOT_INCLUDED,
  spoolBackupDir,
} from './backup.js';
import { restoreBackup } from './restore.js';

/** An unknown option or a missing value is a usage error (exit 64), not a crash with a stack. */
function parsed<R>(parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((error as Error).message.split('. ')[0]!);
    throw error;
  }
}

/** Refusals are one line on stderr and exit 1, as the rest of `hearth` reports them. */
async function explained(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    console.error(`hearth: ${error.message}`);
    return 1;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

const BACKUP_USAGE = 'hearth backup [--to DIR] [--keep N]';
const RESTORE_USAGE = 'hearth restore FILE [--dry-run] [--force] [--with-config]';

/**
 * `hearth backup`: the archive the hub's nightly job makes, from this process, on the same database
 * (safe while the hub writes). Without `--to` it goes to `<nasDir>/backups` when the NAS passes the
 * same checks the hub makes, else to the spool `<dataDir>/backups`.
 */
export const backupCommand: Command = (argv) =>
  explained(async () => {
    const { values, positionals } = parsed(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: { to: { type: 'string' }, keep: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      }),
    );
    if (values.help) {
      console.log(BACKUP_USAGE);
      return 0;
    }
    if (positionals.length > 0)
      throw new UsageError(`backup takes no argument "${positionals[0]}"; ${BACKUP_USAGE}`);
    const config = loadConfig();
    const keep = values.keep === undefined ? config.backup.keep : Number(values.keep);
    if (!Number.isInteger(keep) || keep < 1) throw new UsageError('--keep must be a positive number');
    const file = databasePath(config.dataDir);
    if (!existsSync(file)) throw new BackupError(`there is no database at ${file}: nothing to back up`);
    // Not migrated: during an upgrade this build may be newer than the hub still running on the file.
    const db = openDatabase(file, { migrate: false });
    const fs = createFsWorker({ timeoutMs: config.storage.nasTimeoutMs * 4 });
    try {
      let destination: Destination;
      if (values.to) destination = { kind: 'local', dir: path.resolve(values.to), label: 'folder' };
      else {
        const guard = commandNasGuard(config, fs);
        const health = await guard.check();
        destination = health.healthy
          ? { kind: 'nas', dir: path.join(config.nasDir, 'backups'), fs, guard }
          : { kind: 'local', dir: spoolBackupDir(config.dataDir), label: 'spool' };
        if (!health.healthy)
          console.error(
            `hearth: the NAS at ${config.nasDir} is not usable (${health.reason}); the backup goes to the spool`,
          );
      }
      const result = await createBackup({ db, dataDir: config.dataDir, destination, keep, now: Date.now() });
      if (result.nasError)
        console.error(`hearth: copying to the NAS failed (${result.nasError}); the backup went to the spool`);
      const where = { nas: 'on the NAS', spool: 'in the spool (local disk)', folder: 'in the given folder' }[
        result.location
      ];
      console.log(
        `schema ${describeSchema(result.manifest.schema)}, ${result.manifest.files.length} files, ${megabytes(result.bytes)}, ${where}`,
      );
      for (const pruned of result.pruned) console.log(`removed the older ${pruned}`);
      console.log('not included (keep a copy by hand): the secrets folder; recordings stay on the NAS');
      console.log(result.file);
      return 0;
    } finally {
      closeDatabase(db);
      await fs.close();
    }
  });

/** `hearth restore FILE`: with the hub stopped, the archived database (and with --with-config its config). */
export const restoreCommand: Command = (argv) =>
  explained(async () => {
    const { values, positionals } = parsed(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          'dry-run': { type: 'boolean' },
          force: { type: 'boolean' },
          'with-config': { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      console.log(RESTORE_USAGE);
      return 0;
    }
    const [archive, extra] = positionals;
    if (!archive || extra) throw new UsageError(`restore needs exactly one archive; ${RESTORE_USAGE}`);
    const config = loadConfig();
    const dryRun = values['dry-run'] ?? false;
    const { plan, done, migrated } = await restoreBackup({
      archive,
      dataDir: config.dataDir,
      dryRun,
      force: values.force ?? false,
      withConfig: values['with-config'] ?? false,
      now: Date.now(),
    });
    const { manifest } = plan;
    const would = dryRun ? 'would ' : '';
    console.log(
      `archive ok: made ${manifest.createdAt} on ${manifest.hostname} by Hearth ${manifest.hearthVersion}, schema ${describeSchema(manifest.schema)}`,
    );
    if (plan.asideAs) console.log(`${would}keep the current database as ${plan.asideAs}`);
    console.log(`${would}put the archived database at ${plan.database}`);
    if (plan.migrateFrom.migrations < plan.migrateTo.migrations)
      console.log(
        `${would}migrate it from ${describeSchema(plan.migrateFrom)} to ${describeSchema(plan.migrateTo)}`,
      );
    for (const entry of plan.config) {
      if (values['with-config'])
        console.log(
          `${would}restore ${entry.path} to ${entry.target}${entry.aside ? ` (the current one kept as ${entry.aside})` : ''}`,
        );
      else console.log(`left alone: ${entry.path} (from ${entry.target}); --with-config restores it`);
    }
    if (dryRun && plan.asideAs && !values.force)
      console.log('a database exists: the restore itself needs --force');
    for (const line of NOT_INCLUDED) console.log(`not in the archive: ${line}`);
    if (done && migrated)
      console.log(`restored; the database is at ${describeSchema(migrated)}. Start the hub.`);
    else console.log('dry run: nothing was changed');
    return 0;
  });
