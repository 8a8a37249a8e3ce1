import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { manualClock } from '../clock.js';
import { closeDatabase, databasePath, openDatabase } from '../db/client.js';
import { createFsWorker, createNasGuard, MARKER_NAME } from '../storage/index.js';
import { runCli, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { startTestHub, TestClient } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import {
  ARCHIVE_FILES,
  createBackup,
  describeSchema,
  knownSchema,
  MANIFEST_NAME,
  type Manifest,
  ownArchives,
  sha256File,
} from './backup.js';
import { restoreBackup } from './restore.js';

/**
 * `hearth backup` / `hearth restore` on real SQLite files, real archives and a real hub process:
 * a backup taken while the hub keeps acknowledging writes restores to exactly the archived rows.
 */

function cleanup(t: { after(fn: () => unknown): void }, ...dirs: string[]) {
  t.after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Every table's rows, order-independent: two databases with equal snapshots hold the same data. */
function snapshot(file: string): Record<string, string[]> {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = sqlite
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
    return Object.fromEntries(
      tables.map((table) => [
        table,
        sqlite
          .prepare(`SELECT * FROM "${table}"`)
          .raw()
          .all()
          .map((row) =>
            JSON.stringify(row, (_key, value) => (Buffer.isBuffer(value) ? value.toString('hex') : value)),
          )
          .sort(),
      ]),
    );
  } finally {
    sqlite.close();
  }
}

/** Names and contents of everything under dir, to prove a refused restore wrote nothing. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = entry.isFile()
      ? createHash('sha256').update(readFileSync(full)).digest('hex')
      : 'dir';
  }
  return out;
}

async function unpack(archive: string, dir: string) {
  mkdirSync(dir, { recursive: true });
  await tar.extract({ file: archive, cwd: dir });
  return JSON.parse(readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
}

/** Rewrites an unpacked archive's manifest checksums and packs it again, as a careful forger would. */
async function repack(dir: string, manifest: Manifest, archive: string) {
  for (const file of manifest.files) {
    file.sha256 = await sha256File(path.join(dir, file.path));
    file.bytes = readFileSync(path.join(dir, file.path)).length;
  }
  writeFileSync(path.join(dir, MANIFEST_NAME), JSON.stringify(manifest));
  await tar.create({ gzip: true, cwd: dir, file: archive }, [
    MANIFEST_NAME,
    ...manifest.files.map((f) => f.path),
  ]);
}

/** A small real database with a user and devices, backed up in-process into `dir`. */
async function makeArchive(root: string, hostname = 'testhost', now = Date.UTC(2026, 0, 2, 3, 4, 5)) {
  const dataDir = path.join(root, 'source');
  const db = openDatabase(databasePath(dataDir));
  try {
    db.$client
      .prepare(
        "INSERT INTO users (username, display_name, password_hash, role, created_at, updated_at) VALUES ('ann', 'Ann', 'x', 'owner', 1, 1)",
      )
      .run();
    return await createBackup({
      db,
      dataDir,
      destination: { kind: 'local', dir: path.join(root, 'archives'), label: 'folder' },
      keep: 7,
      now,
      hostname,
      env: {},
    });
  } finally {
    closeDatabase(db);
  }
}

/** A data folder holding a database and a config file, as a running appliance's would. */
function existingDataDir(root: string) {
  const dataDir = path.join(root, 'data');
  const db = openDatabase(databasePath(dataDir));
  db.$client
    .prepare(
      "INSERT INTO users (username, display_name, password_hash, role, created_at, updated_at) VALUES ('current', 'Current', 'x', 'owner', 1, 1)",
    )
    .run();
  closeDatabase(db);
  return dataDir;
}

test('acceptance 4: `hearth backup` while the hub keeps writing, then `hearth restore` into a fresh data dir gives the same rows', async (t) => {
  const root = tempDir('hearth-backup-acceptance-');
  cleanup(t, root);
  const dataDir = path.join(root, 'data');
  const nasDir = path.join(root, 'nas');
  mkdirSync(nasDir);
  writeFileSync(path.join(nasDir, MARKER_NAME), 'installed\n');
  const configFile = path.join(root, 'hearth.json');
  // "timer": the hub takes no backup of its own, as on the appliance where systemd runs `hearth backup`.
  writeFileSync(
    configFile,
    JSON.stringify({ storage: { requireNasMount: false }, backup: { schedule: 'timer' } }),
  );
  const envFile = path.join(root, 'hearth.env');
  writeFileSync(envFile, 'HEARTH_PORT=8080\n');
  const env = { HEARTH_CONFIG: configFile, HEARTH_ENV_FILE: envFile, HEARTH_NAS_DIR: nasDir };

  const hub = await spawnHub({ dataDir, env });
  t.after(() => hub.kill('SIGKILL'));
  const owner = new TestClient(hub.url);
  assert.equal(
    (
      await owner.post('/api/setup', {
        code: hub.setupCode,
        username: 'owner',
        password: 'backup-password-1',
      })
    ).status,
    201,
  );

  const acknowledged: number[] = [];
  let writing = true;
  async function writer(worker: number) {
    for (let n = 0; writing; n += 1) {
      const response = await owner.post('/api/devices', { name: `cam ${worker}.${n}`, kind: 'camera' });
      assert.equal(
        response.status,
        201,
        `the hub refused a write during the backup: ${JSON.stringify(response.body)}`,
      );
      acknowledged.push(response.body.device.id);
    }
  }
  const writers = Promise.all([0, 1, 2].map(writer));
  let archive: string;
  let beforeBackup: number[];
  try {
    await waitFor('the first 30 writes', () => (acknowledged.length >= 30 ? true : undefined), 10_000, 10);
    beforeBackup = [...acknowledged];
    const cli = await runCli(['backup'], { dataDir, env });
    const duringBackup = acknowledged.length - beforeBackup.length;
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(duringBackup > 0, 'the hub kept acknowledging writes while the CLI backed up');
    archive = cli.lastLine;
    assert.equal(path.dirname(archive), path.join(nasDir, 'backups'), 'a healthy NAS gets the backup');
    assert.match(path.basename(archive), /^hearth-backup-.+-\d{8}-\d{6}\.tar\.gz$/);
    assert.match(cli.stdout, /on the NAS/);
    assert.deepEqual(
      readdirSync(path.join(nasDir, 'backups')),
      [path.basename(archive)],
      'nothing partial left beside it',
    );
    assert.deepEqual(
      readdirSync(path.join(dataDir, 'backups')),
      [],
      'schedule "timer": the hub made no backup of its own, and no staging folder is left',
    );

    // Refused while the hub holds the database, whatever --force says.
    const before = fingerprint(dataDir);
    await assert.rejects(
      restoreBackup({
        archive,
        dataDir,
        dryRun: false,
        force: true,
        withConfig: false,
        now: Date.now(),
        env,
      }),
      new RegExp(`is in use \\(pid ${hub.child.pid}: .*Stop the hub first`),
    );
    assert.equal(existsSync(databasePath(dataDir)), true);
    assert.deepEqual(
      Object.keys(fingerprint(dataDir)).sort(),
      Object.keys(before).sort(),
      'a refused restore moves nothing aside',
    );
  } finally {
    writing = false;
    await writers;
  }
  assert.equal(await hub.stop(), 0);

  const unpacked = path.join(root, 'unpacked');
  const manifest = await unpack(archive, unpacked);
  assert.equal(manifest.schema.migrations, knownSchema().migrations);
  assert.equal(manifest.schema.tag, knownSchema().tag);
  assert.deepEqual(
    manifest.files.map((file) => [file.path, file.source]),
    [
      [ARCHIVE_FILES.database, null],
      [ARCHIVE_FILES.config, configFile],
      [ARCHIVE_FILES.env, envFile],
    ],
  );
  assert.ok(manifest.notIncluded.some((line) => line.includes('ca.key')));

  // A fresh machine: another data dir, another place for the environment file, the config file already there.
  const fresh = path.join(root, 'fresh');
  const freshEnv = path.join(root, 'etc', 'hearth.env');
  const freshConfig = path.join(root, 'fresh.json');
  writeFileSync(freshConfig, '{}');
  const freshVars = { HEARTH_CONFIG: freshConfig, HEARTH_ENV_FILE: freshEnv };
  const restored = await runCli(['restore', archive, '--with-config'], { dataDir: fresh, env: freshVars });
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /restored; the database is at/);

  const copy = snapshot(databasePath(fresh));
  assert.deepEqual(copy, snapshot(path.join(unpacked, ARCHIVE_FILES.database)), 'every table, every row');
  const ids = new Set(
    JSON.parse(`[${copy.devices!.map((row) => JSON.parse(row)[0]).join(',')}]`) as number[],
  );
  assert.deepEqual(
    beforeBackup.filter((id) => !ids.has(id)),
    [],
    'every device acknowledged before the backup started is restored',
  );
  assert.equal(copy.devices!.length, copy.device_tokens!.length, 'one token per device: one point in time');
  assert.equal(copy.users!.length, 1);
  assert.equal(
    readFileSync(freshEnv, 'utf8'),
    'HEARTH_PORT=8080\n',
    'the environment file is restored where it is now read',
  );
  assert.equal(readFileSync(freshConfig, 'utf8'), readFileSync(configFile, 'utf8'));
  assert.equal(
    readdirSync(root).filter((name) => name.startsWith('fresh.json.before-restore-')).length,
    1,
    'the config file it replaced is kept',
  );
});

test('restore refuses an archive whose schema is newer than this build, naming both', async (t) => {
  const root = tempDir('hearth-backup-newer-');
  cleanup(t, root);
  const { file } = await makeArchive(root);
  const dir = path.join(root, 'forged');
  const manifest = await unpack(file, dir);
  // The database and its manifest both claim a migration this build has never heard of.
  const sqlite = new Database(path.join(dir, ARCHIVE_FILES.database));
  sqlite
    .prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)')
    .run('f'.repeat(64), (knownSchema().lastWhen ?? 0) + 86_400_000);
  sqlite.close();
  const known = knownSchema();
  manifest.schema = { migrations: known.migrations + 1, tag: '9999_future' };
  manifest.hearthVersion = '99.0.0';
  const newer = path.join(root, 'newer.tar.gz');
  await repack(dir, manifest, newer);

  const dataDir = existingDataDir(root);
  const before = fingerprint(dataDir);
  const refusal = await restoreBackup({
    archive: newer,
    dataDir,
    dryRun: false,
    force: true,
    withConfig: false,
    now: Date.now(),
    env: {},
  }).then(
    () => assert.fail('a newer schema was restored'),
    (error: Error) => error.message,
  );
  assert.ok(
    refusal.includes(`schema 9999_future (${known.migrations + 1} migrations) from Hearth 99.0.0`),
    refusal,
  );
  assert.ok(refusal.includes(`knows up to ${describeSchema(known)}`), refusal);
  assert.match(refusal, /nothing was changed/);
  assert.deepEqual(fingerprint(dataDir), before, 'the data dir is untouched');
});

test('a truncated, damaged or tampered archive is refused with a clear error and the data dir untouched', async (t) => {
  const root = tempDir('hearth-backup-corrupt-');
  cleanup(t, root);
  const { file } = await makeArchive(root);
  const bytes = readFileSync(file);
  const dataDir = existingDataDir(root);
  const before = fingerprint(dataDir);

  const truncated = path.join(root, 'truncated.tar.gz');
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cli = await runCli(['restore', truncated, '--force'], { dataDir });
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /is not a usable Hearth backup: it ends too early \(truncated/);
  assert.deepEqual(fingerprint(dataDir), before);

  const restore = (archive: string) =>
    restoreBackup({
      archive,
      dataDir,
      dryRun: false,
      force: true,
      withConfig: false,
      now: Date.now(),
      env: {},
    });
  const garbage = path.join(root, 'garbage.tar.gz');
  writeFileSync(garbage, 'this is not an archive at all');
  await assert.rejects(restore(garbage), /not a gzip-compressed tar archive/);

  // Same size, one byte changed, manifest left as it was.
  const dir = path.join(root, 'tampered');
  const manifest = await unpack(file, dir);
  const db = readFileSync(path.join(dir, ARCHIVE_FILES.database));
  db.writeUInt8(db.readUInt8(db.length - 1) ^ 0xff, db.length - 1);
  writeFileSync(path.join(dir, ARCHIVE_FILES.database), db);
  const tampered = path.join(root, 'tampered.tar.gz');
  writeFileSync(path.join(dir, MANIFEST_NAME), JSON.stringify(manifest));
  await tar.create({ gzip: true, cwd: dir, file: tampered }, [MANIFEST_NAME, ARCHIVE_FILES.database]);
  await assert.rejects(restore(tampered), /hearth\.db does not match its checksum/);

  const noManifest = path.join(root, 'no-manifest.tar.gz');
  await tar.create({ gzip: true, cwd: dir, file: noManifest }, [ARCHIVE_FILES.database]);
  await assert.rejects(restore(noManifest), /it has no manifest\.json/);

  await assert.rejects(restore(path.join(root, 'missing.tar.gz')), /no such file/);
  assert.deepEqual(fingerprint(dataDir), before, 'nothing was written by any refused restore');
});

test('--dry-run verifies and tells, and changes nothing', async (t) => {
  const root = tempDir('hearth-backup-dry-');
  cleanup(t, root);
  const { file } = await makeArchive(root);
  const dataDir = existingDataDir(root);
  const config = path.join(root, 'hearth.json');
  writeFileSync(config, '{"demo": false}');
  const before = { data: fingerprint(dataDir), all: Object.keys(fingerprint(root)).sort() };
  const cli = await runCli(['restore', file, '--dry-run', '--with-config'], {
    dataDir,
    env: { HEARTH_CONFIG: config },
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /archive ok: made 2026-01-02T03:04:05\.000Z on testhost/);
  assert.match(cli.stdout, /would keep the current database as .*hearth\.db\.before-restore-\d{8}-\d{6}/);
  assert.match(cli.stdout, /the restore itself needs --force/);
  assert.match(cli.stdout, /dry run: nothing was changed/);
  assert.deepEqual(fingerprint(dataDir), before.data);
  assert.deepEqual(Object.keys(fingerprint(root)).sort(), before.all);
  // Without --force a real restore refuses to replace the database, too.
  await assert.rejects(
    restoreBackup({
      archive: file,
      dataDir,
      dryRun: false,
      force: false,
      withConfig: false,
      now: Date.now(),
      env: {},
    }),
    /add --force to replace it/,
  );
  assert.deepEqual(fingerprint(dataDir), before.data);
});

test('a damaged current database does not stop a restore: it is kept aside as it was', async (t) => {
  const root = tempDir('hearth-backup-damaged-');
  cleanup(t, root);
  const { file } = await makeArchive(root);
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  writeFileSync(databasePath(dataDir), 'not a database: the SD card ate it');
  const { plan, done } = await restoreBackup({
    archive: file,
    dataDir,
    dryRun: false,
    force: true,
    withConfig: false,
    now: Date.UTC(2026, 5, 1),
    env: {},
  });
  assert.equal(done, true);
  assert.equal(plan.asideAs, `${databasePath(dataDir)}.before-restore-20260601-000000`);
  assert.equal(readFileSync(plan.asideAs!, 'utf8'), 'not a database: the SD card ate it');
  assert.deepEqual(
    snapshot(databasePath(dataDir)).users!.map((row) => JSON.parse(row)[1]),
    ['ann'],
  );
});

test('a NAS that fails during the copy leaves the backup in the spool, not nowhere', async (t) => {
  const root = tempDir('hearth-backup-nasfail-');
  cleanup(t, root);
  const nas = path.join(root, 'nas');
  mkdirSync(nas);
  writeFileSync(path.join(nas, MARKER_NAME), 'installed\n');
  const fs = createFsWorker({ timeoutMs: 5000 });
  t.after(() => fs.close());
  const guard = createNasGuard({
    root: nas,
    fs,
    requireMountPoint: false,
    createMarker: false,
    intervalMs: 60_000,
  });
  assert.equal((await guard.check()).healthy, true);
  // Unmounted after the check: the worker's fence finds no marker and refuses to write there.
  rmSync(path.join(nas, MARKER_NAME));
  const dataDir = path.join(root, 'data');
  const db = openDatabase(databasePath(dataDir));
  t.after(() => closeDatabase(db));
  const result = await createBackup({
    db,
    dataDir,
    destination: { kind: 'nas', dir: path.join(nas, 'backups'), fs, guard },
    keep: 3,
    now: Date.UTC(2026, 0, 1),
    hostname: 'testhost',
    env: {},
  });
  assert.equal(result.location, 'spool');
  assert.ok(result.nasError, 'the NAS failure is reported');
  assert.equal(result.file, path.join(dataDir, 'backups', 'hearth-backup-testhost-20260101-000000.tar.gz'));
  assert.deepEqual(readdirSync(path.join(dataDir, 'backups')), [path.basename(result.file)]);
  assert.equal(existsSync(path.join(nas, 'backups')), false, 'nothing written on the unmarked NAS');
});

test('keeping N removes only this host’s own older archives', async (t) => {
  const root = tempDir('hearth-backup-keep-');
  cleanup(t, root);
  const dir = path.join(root, 'archives');
  mkdirSync(dir, { recursive: true });
  const foreign = [
    'hearth-backup-otherhost-20200101-000000.tar.gz',
    'hearth-20200101-000000.db',
    'notes.txt',
    'hearth-backup-testhost-latest.tar.gz',
  ];
  for (const name of foreign) writeFileSync(path.join(dir, name), 'not ours');
  const dataDir = path.join(root, 'source');
  const db = openDatabase(databasePath(dataDir));
  t.after(() => closeDatabase(db));
  const made: string[] = [];
  for (const hour of [1, 2, 3, 4]) {
    const result = await createBackup({
      db,
      dataDir,
      destination: { kind: 'local', dir, label: 'folder' },
      keep: 2,
      now: Date.UTC(2026, 0, 1, hour),
      hostname: 'testhost',
      env: {},
    });
    made.push(path.basename(result.file));
    assert.deepEqual(
      result.pruned.map((file) => path.basename(file)),
      hour > 2 ? [made[hour - 3]] : [],
    );
  }
  assert.deepEqual(readdirSync(dir).sort(), [...foreign, ...made.slice(-2)].sort());
  assert.deepEqual(
    ownArchives(readdirSync(dir), 'testhost').map((archive) => archive.name),
    made.slice(-2).reverse(),
  );
  // The staging folder in the spool is gone after every run.
  assert.deepEqual(readdirSync(path.join(dataDir, 'backups')), []);
});

test('the hub’s db.backup job (POST /api/system/backup) makes the same archive into the spool and keeps backup.keep', async (t) => {
  const clock = manualClock(Date.UTC(2026, 2, 1, 3, 0, 0));
  const hub = await startTestHub({ backup: { keep: 2 }, jobs: { pollIntervalMs: 20 } }, { clock });
  t.after(async () => {
    await hub.stop();
    rmSync(hub.dataDir, { recursive: true, force: true });
  });
  const dir = path.join(hub.dataDir, 'backups');
  const jobs = () => hub.hub.queue.list({ kind: 'db.backup', limit: 50 });
  // schedule "hub" (the default): one at start, since there is none yet.
  await waitFor(
    'the start-up backup',
    () => (jobs().length > 0 && jobs().every((job) => job.status === 'succeeded') ? true : undefined),
    10_000,
    20,
  );
  const owner = await hub.owner();
  const member = await hub.userWithRole('member');
  assert.equal((await member.post('/api/system/backup')).status, 403, 'only an owner may start a backup');
  for (let n = 0; n < 2; n++) {
    clock.advance(3600_000);
    const response = await owner.post('/api/system/backup');
    assert.equal(response.status, 202);
    const id = response.body.job.id as number;
    const done = await waitFor(
      `backup job ${id}`,
      () => {
        const job = hub.hub.queue.get(id);
        return job.status === 'queued' || job.status === 'running' ? undefined : job;
      },
      10_000,
      20,
    );
    assert.equal(done.status, 'succeeded', done.lastError ?? '');
  }
  const names = readdirSync(dir).sort();
  assert.equal(names.length, 2, `backup.keep = 2: ${names}`);
  assert.match(names[1]!, /^hearth-backup-.+-20260301-050000\.tar\.gz$/);
  const manifest = await unpack(path.join(dir, names[1]!), path.join(hub.dataDir, 'check'));
  assert.equal(manifest.schema.tag, knownSchema().tag);
  assert.deepEqual(
    snapshot(path.join(hub.dataDir, 'check', ARCHIVE_FILES.database)).users!.length,
    2,
    'the owner and the member',
  );
});
