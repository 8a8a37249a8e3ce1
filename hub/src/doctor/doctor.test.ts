/**
 * `hearth doctor`, `hearth status` and `hearth logs`, mostly through the compiled CLI (`npm run build -w hub`
 * first). The outside tools a hub machine has (timedatectl, chronyc, systemctl, journalctl) are the
 * stand-ins in fixtures/, first on PATH, printing what the real ones print; Bluetooth is node-ble against a
 * private dbus-daemon with the fake BlueZ, or a bus socket that does not exist.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { UsageError } from '../cli/command.js';
import { systemClock } from '../clock.js';
import { closeDatabase, openDatabase } from '../db/client.js';
import { createDeviceService } from '../devices/devices.service.js';
import { systemEvents } from '../events/events.schema.js';
import { startPrivateBus } from '../testing/ble/dbus-daemon.js';
import { startFakeBluez } from '../testing/ble/fake-bluez.js';
import { runCli, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';
import {
  type Check,
  checkClock,
  checkMediaTool,
  checkRecorders,
  checkSystemd,
  LEVELS,
  mountUnitOf,
} from './checks.js';
import { logsCommand } from './logs.cli.js';
import { MAX_LINES } from './status.cli.js';
import { unitState } from './systemd.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const CHECK_IDS = [
  'ffmpeg',
  'ffprobe',
  'nas',
  'nas-space',
  'data-space',
  'ble',
  'clock',
  'database',
  'migrations',
  'systemd',
  'recorders',
  'nodes',
];

/** A folder holding only the named stand-ins, to put first on PATH (or to be all of PATH). */
function tools(...names: string[]): string {
  const dir = tempDir('hearth-tools-');
  // Searchable by the user the doctor may switch to.
  chmodSync(dir, 0o755);
  for (const name of names) {
    copyFileSync(path.join(FIXTURES, name), path.join(dir, name));
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

const first = (dir: string) => `${dir}${path.delimiter}${process.env.PATH}`;

interface Report {
  version: string;
  dataDir: string;
  user: string;
  worst: string;
  exitCode: number;
  checks: Check[];
}

function parseReport(stdout: string): { report: Report; byId: Record<string, Check> } {
  const report = JSON.parse(stdout) as Report;
  return { report, byId: Object.fromEntries(report.checks.map((check) => [check.id, check])) };
}

/** A data folder whose database has every migration (in this process: only the commands under test are spawned). */
function migratedDataDir(): string {
  const dataDir = tempDir('hearth-doctor-');
  closeDatabase(openDatabase(path.join(dataDir, 'hearth.db')));
  return dataDir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The demo hub's test spends most of its time waiting for ffmpeg's first segments: the others run meanwhile.
describe('hearth doctor, status and logs', { concurrency: true }, () => {
  test('no NAS mount, no Bluetooth, unsynced clock: fail, warn, warn and exit 2', async () => {
    const dataDir = migratedDataDir();
    const nas = path.join(dataDir, 'nas');
    mkdirSync(nas);
    // Marked, so the one thing wrong with it is that it is a plain folder, not a mount.
    writeFileSync(path.join(nas, '.hearth-nas'), '{}\n');
    const config = path.join(dataDir, 'config.json');
    writeFileSync(config, JSON.stringify({ storage: { requireNasMount: true } }));
    const env = {
      PATH: first(tools('timedatectl', 'chronyc', 'systemctl')),
      HEARTH_DEMO: '0',
      HEARTH_CONFIG: config,
      // No timedated (as in a container), so the doctor asks chrony, which has no source yet.
      FAKE_TIMEDATECTL: 'no-systemd',
      FAKE_CHRONY: 'unsynced',
      FAKE_UNIT: 'not-found',
      DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(dataDir, 'no-such-bus')}`,
    };
    const [json, text] = await Promise.all([
      runCli(['doctor', '--json'], { dataDir, env }),
      runCli(['doctor'], { dataDir, env }),
    ]);

    assert.equal(json.code, 2, json.stdout + json.stderr);
    const { report, byId } = parseReport(json.stdout);
    assert.deepEqual(Object.keys(report), ['version', 'dataDir', 'user', 'worst', 'exitCode', 'checks']);
    assert.equal(report.dataDir, dataDir);
    assert.deepEqual([report.worst, report.exitCode], ['fail', 2]);
    assert.deepEqual(
      report.checks.map((check) => check.id),
      CHECK_IDS,
    );
    for (const check of report.checks) {
      assert.deepEqual(Object.keys(check), ['id', 'level', 'finding', 'fix']);
      assert.ok(LEVELS.includes(check.level));
      assert.equal(check.fix === null, check.level === 'ok', `${check.id}: a fix exactly when not ok`);
      assert.doesNotMatch(check.finding, /\n/);
    }
    assert.equal(byId.nas!.level, 'fail');
    assert.match(byId.nas!.finding, new RegExp(`${nas} is not a mount point`));
    assert.ok(byId.nas!.fix!.includes(`systemctl status ${mountUnitOf(nas)}`));
    assert.equal(byId['nas-space']!.level, 'warn');
    assert.equal(byId.ble!.level, 'warn');
    assert.match(byId.ble!.finding, /no D-Bus system bus .*no-such-bus does not exist/);
    assert.equal(byId.clock!.level, 'warn');
    assert.match(byId.clock!.finding, /not synchronised \(chronyc: Leap status Not synchronised\)/);
    for (const id of ['ffmpeg', 'ffprobe', 'data-space', 'database', 'migrations', 'recorders', 'nodes'])
      assert.equal(byId[id]!.level, 'ok', `${id}: ${byId[id]!.finding}`);
    assert.match(byId.systemd!.finding, /not run by systemd \(hearth-hub\.service is not installed\)/);

    assert.equal(text.code, 2);
    assert.match(text.stdout, /^FAIL +nas +.* is not a mount point/m);
    assert.match(text.stdout, /^WARN +ble +no D-Bus system bus/m);
    assert.match(text.stdout, /^WARN +clock +the clock is not synchronised/m);
    assert.match(text.stdout, /^ +fix: sudo systemctl restart chrony/m);
    assert.match(text.stdout, /^8 ok, 3 warning\(s\), 1 failure\(s\)$/m);
  });

  test('a healthy demo hub: every check ok, exit 0; status fits one screen', async () => {
    const bus = await startPrivateBus();
    const bluez = await startFakeBluez(bus.address);
    const port = await freePort();
    // Short demo segments: every camera has one sooner.
    const config = path.join(tempDir('hearth-config-'), 'hearth.json');
    writeFileSync(config, JSON.stringify({ recording: { demoSegmentSeconds: 4 } }));
    const env = {
      DBUS_SYSTEM_BUS_ADDRESS: bus.address,
      HEARTH_CONFIG: config,
      HEARTH_DEMO: '1',
      HEARTH_DEMO_PHOTOS: '0',
      HEARTH_PORT: String(port),
      HEARTH_HTTPS_PORT: '0',
      HEARTH_HOST: '127.0.0.1',
    };
    const hub = await spawnHub({ env });
    try {
      const cliEnv = {
        ...env,
        PATH: first(tools('timedatectl', 'chronyc', 'systemctl')),
        FAKE_NTP_SYNCHRONIZED: 'yes',
        FAKE_UNIT: 'active',
      };
      const dataDir = hub.dataDir;
      await waitFor(
        'the demo NAS marker',
        () => existsSync(path.join(dataDir, 'nas', '.hearth-nas')) || undefined,
      );
      const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true });
      const [doctor, cameras] = await Promise.all([
        runCli(['doctor', '--json'], { dataDir, env: cliEnv }),
        waitFor('a segment of every demo camera', () => {
          const rows = db
            .prepare(
              `select c.id, count(s.id) as n from cameras c left join segments s on s.camera_id = c.id
             where c.kind = 'demo' group by c.id`,
            )
            .all() as { id: string; n: number }[];
          return rows.length > 0 && rows.every((row) => row.n > 0) ? rows.map((row) => row.id) : undefined;
        }),
      ]);
      const { report } = parseReport(doctor.stdout);
      assert.deepEqual(
        report.checks.filter((check) => check.level !== 'ok'),
        [],
      );
      assert.equal(doctor.code, 0);
      const byId = Object.fromEntries(report.checks.map((check) => [check.id, check.finding]));
      assert.match(byId.ble!, /Bluetooth adapter ready \(hearth-hub\)/);
      assert.match(byId.clock!, /synchronised \(timedatectl: NTPSynchronized=yes\)/);
      assert.match(byId.systemd!, /hearth-hub\.service active \(running\) since Thu 2025-01-09 10:00:00 UTC/);
      assert.match(byId.nas!, /a plain folder: demo mode/);
      db.close();
      // The nightly backup is due at once on a new hub.
      await waitFor('the first backup', () =>
        readdirSync(path.join(dataDir, 'backups')).find((name) => name.startsWith('hearth-')),
      );
      const status = await runCli(['status'], { dataDir, env: cliEnv });
      assert.equal(status.code, 0, status.stderr);
      const lines = status.stdout.trimEnd().split('\n');
      assert.ok(lines.length <= MAX_LINES, status.stdout);
      assert.match(status.stdout, /^service {2}hearth-hub\.service active \(running\) since Thu 2025-01-09/m);
      assert.match(
        status.stdout,
        new RegExp(`^http     http://127\\.0\\.0\\.1:${port} answering: hub \\d+\\.\\d+\\.\\d+, up `, 'm'),
      );
      for (const id of cameras)
        assert.match(status.stdout, new RegExp(`^  ${id} +.*: recording, newest segment \\d+ s ago`, 'm'));
      assert.match(status.stdout, /^nas {6}.*: ok, [\d.]+ [KMGT]iB free of/m);
      assert.match(status.stdout, /^nodes {4}none$/m);
      assert.match(status.stdout, /^alerts {3}no open incident$/m);
      assert.match(
        status.stdout,
        new RegExp(`^backup   hearth-\\S+, \\d+ s ago \\(${dataDir}/backups\\)$`, 'm'),
      );
    } finally {
      await hub.stop();
      await bluez.stop();
      await bus.stop();
    }
  });

  test('a damaged database fails with what quick_check said; a silent node is named in a warning, exit 1', async () => {
    const [damaged, notADatabase, withNodes] = [
      migratedDataDir(),
      tempDir('hearth-doctor-'),
      migratedDataDir(),
    ];
    // Five cells claimed by the empty system_events table's root page: a b-tree that points nowhere.
    const file = path.join(damaged, 'hearth.db');
    const sqlite = new Database(file, { readonly: true });
    const { rootpage } = sqlite
      .prepare("select rootpage from sqlite_master where name = 'system_events'")
      .get() as {
      rootpage: number;
    };
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
    sqlite.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([0, 5]), 0, 2, (rootpage - 1) * pageSize + 3);
    closeSync(fd);
    writeFileSync(path.join(notADatabase, 'hearth.db'), 'x'.repeat(8192));

    const db = openDatabase(path.join(withNodes, 'hearth.db'));
    const devices = createDeviceService({ db, clock: systemClock });
    const heard = db.$client.prepare('insert into node_status (device_id, heartbeat_at) values (?, ?)');
    heard.run(devices.create({ name: 'cradle', kind: 'node' }).device.id, Date.now() - 10 * 60_000);
    heard.run(devices.create({ name: 'attic', kind: 'node' }).device.id, Date.now());
    closeDatabase(db);
    mkdirSync(path.join(withNodes, 'nas'));
    writeFileSync(path.join(withNodes, 'nas', '.hearth-nas'), '{}\n');
    // As root (`sudo hearth doctor`) the doctor checks as the data folder's owner, the hub's user.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chown', ['-R', '65534:65534', withNodes]);

    const env = {
      PATH: first(tools('timedatectl', 'systemctl')),
      HEARTH_DEMO: '1',
      DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(withNodes, 'no-such-bus')}`,
    };
    const [broken, garbage, silent] = await Promise.all(
      [damaged, notADatabase, withNodes].map((dataDir) => runCli(['doctor', '--json'], { dataDir, env })),
    );
    assert.equal(broken!.code, 2);
    const database = parseReport(broken!.stdout).byId.database!;
    assert.equal(database.level, 'fail');
    assert.match(
      database.finding,
      /quick_check of .* found (\d+|20 or more) problem\(s\), first: Tree \d+ page \d+ cell \d+: Offset 0 out of range/,
    );
    assert.match(database.fix!, /hearth restore/);

    assert.equal(garbage!.code, 2);
    const notDb = parseReport(garbage!.stdout).byId;
    assert.equal(notDb.database!.level, 'fail');
    assert.match(notDb.database!.finding, /file is not a database/);
    assert.match(notDb.nodes!.finding, /not checked: the database could not be read/);

    assert.equal(silent!.code, 1, silent!.stdout);
    const { report, byId } = parseReport(silent!.stdout);
    assert.equal(report.worst, 'warn');
    assert.equal(report.user, asRoot ? 'nobody' : userInfo().username);
    assert.equal(
      statSync(path.join(withNodes, 'nas', '.hearth-probe')).uid,
      asRoot ? 65534 : process.getuid!(),
    );
    assert.deepEqual(
      report.checks.filter((check) => check.level !== 'ok').map((check) => check.id),
      ['ble', 'nodes'],
    );
    assert.match(byId.nodes!.finding, /^1 of 2 edge node\(s\) offline: "cradle" silent for 10 min$/);
  });

  test('hearth logs: journalctl -u hearth-hub -o cat, pretty JSON lines, other lines as they came; no journalctl: exit 1', async () => {
    const dataDir = tempDir('hearth-logs-');
    const env = { PATH: first(tools('journalctl')), TZ: 'UTC' };
    const [plain, chosen, missing] = await Promise.all([
      runCli(['logs'], { dataDir, env }),
      runCli(['logs', '-f', '--unit', 'hearth-node', '-n', '5', '--since', '1 hour ago'], { dataDir, env }),
      runCli(['logs'], { dataDir, env: { PATH: tools() } }),
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^stand-in journalctl: -u hearth-hub -o cat --no-pager -n 200$/m);
    assert.match(plain.stdout, /^\[2025-01-09 10:00:00\.000\] INFO: listening$/m);
    assert.match(plain.stdout, /^ +url: "http:\/\/0\.0\.0\.0:8080"$/m);
    assert.match(
      plain.stdout,
      /^\[2025-01-09 10:00:05\.000\] WARN: recorder stopped; restarting after backoff$/m,
    );
    assert.match(plain.stdout, /^ +camera: "porch"$/m);
    assert.match(plain.stdout, /^Stopping hearth-hub\.service - Hearth home-monitoring hub\.\.\.$/m);
    assert.doesNotMatch(plain.stdout, /"level"|"pid"|hostname/);

    assert.equal(chosen.code, 0, chosen.stderr);
    assert.match(
      chosen.stderr,
      /^stand-in journalctl: -u hearth-node -o cat --no-pager -f -n 5 --since 1 hour ago$/m,
    );

    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /journalctl not found/);
    await assert.rejects(logsCommand(['-n', 'lots']), UsageError);
    await assert.rejects(logsCommand(['--unit', '-x']), UsageError);
  });

  test('clock: timedatectl, else chrony; "not installed" is told apart from "failed"; a 1970 clock fails', async () => {
    const both = tools('timedatectl', 'chronyc');
    const clock = (env: Record<string, string>, now = Date.now()) =>
      checkClock({ PATH: first(both), ...env }, now);
    const cases: [Record<string, string>, string, RegExp][] = [
      [{}, 'ok', /^synchronised \(timedatectl: NTPSynchronized=yes\)$/],
      [{ FAKE_NTP_SYNCHRONIZED: 'no' }, 'warn', /not synchronised \(timedatectl: NTPSynchronized=no\)/],
      [{ FAKE_TIMEDATECTL: 'no-systemd' }, 'ok', /synchronised \(chronyc: Leap status Normal\)/],
      [{ FAKE_TIMEDATECTL: 'no-systemd', FAKE_CHRONY: 'local' }, 'ok', /to its own clock \(chrony local\)/],
      [
        { FAKE_TIMEDATECTL: 'no-systemd', FAKE_CHRONY: 'down' },
        'warn',
        /cannot tell .*timedatectl: System has not been booted with systemd.*; chronyc: 506 Cannot talk to daemon\)$/,
      ],
    ];
    for (const [env, level, finding] of cases) {
      const check = await clock(env);
      assert.equal(check.level, level, JSON.stringify(env));
      assert.match(check.finding, finding);
    }
    const none = await checkClock({ PATH: tools() }, Date.now());
    assert.equal(none.level, 'warn');
    assert.match(none.finding, /\(timedatectl not installed; chronyc not installed\)/);
    const epoch = await clock({}, Date.UTC(1970, 0, 1, 0, 5));
    assert.equal(epoch.level, 'fail');
    assert.match(epoch.finding, /the clock says 1970-01-01T00:05:00\.000Z: recording now would stamp 1970/);
  });

  test('ffmpeg: missing fails, older than 5.1 warns (FFMPEG_PATH honoured as fluent-ffmpeg does), Debian’s passes', async () => {
    const missing = await checkMediaTool('ffmpeg', { PATH: tools() });
    assert.deepEqual(
      [missing.level, missing.finding],
      ['fail', 'ffmpeg is not installed (ffmpeg not found)'],
    );
    const old = await checkMediaTool('ffmpeg', {
      PATH: process.env.PATH,
      FFMPEG_PATH: path.join(tools('ffmpeg'), 'ffmpeg'),
    });
    assert.equal(old.level, 'warn');
    assert.match(old.finding, /^ffmpeg 4\.3\.8-0\+deb11u1 is older than 5\.1/);
    const real = await checkMediaTool('ffprobe', process.env);
    assert.equal(real.level, 'ok');
    assert.match(real.finding, /^ffprobe \d+\.\d+/);
  });

  test('systemd: the unit’s state from `systemctl show`, and not run by systemd when there is none', async () => {
    const dir = tools('systemctl');
    const state = async (unit: string) => checkSystemd(await unitState({ PATH: dir, FAKE_UNIT: unit }));
    assert.equal((await state('active')).level, 'ok');
    const restarted = await state('restarted');
    assert.equal(restarted.level, 'warn');
    assert.match(restarted.finding, /systemd restarted it 4 times/);
    const failed = await state('failed');
    assert.deepEqual(
      [failed.level, failed.finding],
      ['fail', 'hearth-hub.service failed (failed): nothing is recording'],
    );
    assert.match(
      (await state('not-found')).finding,
      /^not run by systemd \(hearth-hub\.service is not installed\)$/,
    );
    assert.match(
      (await state('no-systemd')).finding,
      /^not run by systemd \(systemd is not running on this machine\)$/,
    );
    assert.match(checkSystemd(await unitState({ PATH: tools() })).finding, /\(systemctl not found\)$/);
  });

  test('recorders: three or more restarts of one camera within the hour warn, naming it', () => {
    const dataDir = tempDir('hearth-doctor-');
    const db = openDatabase(path.join(dataDir, 'hearth.db'));
    const now = Date.now();
    const event = (camera: string, minutesAgo: number) => ({
      at: new Date(now - minutesAgo * 60_000),
      kind: 'recorder.reconnecting',
      severity: 'warning' as const,
      subject: `camera:${camera}`,
      message: `Recorder for ${camera} is reconnecting: Connection refused`,
    });
    db.insert(systemEvents)
      .values([
        event('porch', 50),
        event('porch', 30),
        event('yard', 20),
        ...[70, 80, 90].map((m) => event('yard', m)),
      ])
      .run();
    const sqlite = db.$client;
    assert.equal(checkRecorders(sqlite, now).level, 'ok', 'two restarts, and old ones, are not flapping');
    db.insert(systemEvents).values(event('porch', 5)).run();
    const flapping = checkRecorders(sqlite, now);
    assert.equal(flapping.level, 'warn');
    assert.match(
      flapping.finding,
      /^recorders restarting in the last hour: porch ×3; last: Recorder for porch/,
    );
    closeDatabase(db);
  });

  test('the mount unit named in the NAS fix is the one systemd derives from the path', (t) => {
    let systemdEscape: (dir: string) => string;
    try {
      execFileSync('systemd-escape', ['--version']);
      systemdEscape = (dir) =>
        execFileSync('systemd-escape', ['-p', '--suffix=mount', dir], { encoding: 'utf8' }).trim();
    } catch {
      t.skip('systemd-escape is not installed');
      return;
    }
    for (const dir of ['/mnt/hearth-nas', '/srv/nas_1/', '/media/my nas/hearth', '/mnt/.hidden'])
      assert.equal(mountUnitOf(dir), systemdEscape(dir), dir);
  });
});
