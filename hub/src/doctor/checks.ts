import { existsSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { createBleManager } from '../ble/ble-manager.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import * as schema from '../db/schema.js';
import { EventBus } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { createLogger } from '../log/logger.js';
import { createRetentionService } from '../retention/retention.service.js';
import { commandNasGuard, type FsWorker, MARKER_NAME, type NasHealth } from '../storage/index.js';
import { HUB_VERSION } from '../system/version.js';
import { hasTable, migrationState, openForReading, quickCheck } from './database.js';
import { bytes, span } from './format.js';
import { HUB_UNIT, type UnitState } from './systemd.js';
import { firstLine, runTool } from './tools.js';

export const LEVELS = ['ok', 'warn', 'fail'] as const;
export type Level = (typeof LEVELS)[number];

export interface Check {
  id: string;
  level: Level;
  /** One line: what was found. */
  finding: string;
  /** What to do about it; null when there is nothing to do. */
  fix: string | null;
}

const ok = (id: string, finding: string): Check => ({ id, level: 'ok', finding, fix: null });
const warn = (id: string, finding: string, fix: string): Check => ({ id, level: 'warn', finding, fix });
const fail = (id: string, finding: string, fix: string): Check => ({ id, level: 'fail', finding, fix });

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** The MJPEG recorder passes `-fps_mode`, which ffmpeg has had since 5.1 (Debian bookworm's version). */
export const FFMPEG_MINIMUM: readonly [number, number] = [5, 1];
/** A clock before this cannot be right: the hub was built later. */
export const EARLIEST_PLAUSIBLE = Date.UTC(2024, 0, 1);
/** A camera whose recorder restarted this often within the last hour is flapping. */
export const RESTARTS_PER_HOUR_WARN = 3;
/** Below this much free space in the data folder, the database and the spool cannot grow. */
export const DATA_FREE_FAIL_BYTES = 256 * 1024 ** 2;

const REINSTALL_FFMPEG = 'sudo apt install --reinstall ffmpeg';

export async function checkMediaTool(tool: 'ffmpeg' | 'ffprobe', env: NodeJS.ProcessEnv): Promise<Check> {
  // fluent-ffmpeg, which runs them for the recorder, honours these variables before PATH.
  const command = (tool === 'ffmpeg' ? env.FFMPEG_PATH : env.FFPROBE_PATH) || tool;
  const result = await runTool(command, ['-hide_banner', '-version'], { env, timeoutMs: 10_000 });
  if (result.outcome === 'missing')
    return fail(tool, `${tool} is not installed (${command} not found)`, 'sudo apt install ffmpeg');
  if (result.outcome === 'timeout')
    return fail(tool, `${command} -version did not answer within 10 s`, REINSTALL_FFMPEG);
  if (result.outcome === 'failed')
    return fail(tool, `${command} -version failed: ${result.message}`, REINSTALL_FFMPEG);
  const line = firstLine(result.stdout);
  const match = /version\s+n?((\d+)\.(\d+)\S*)/.exec(line);
  if (!match) return ok(tool, `${line} (a build without a release number: not compared)`);
  const [major, minor] = [Number(match[2]), Number(match[3])];
  if (
    tool === 'ffmpeg' &&
    (major < FFMPEG_MINIMUM[0] || (major === FFMPEG_MINIMUM[0] && minor < FFMPEG_MINIMUM[1]))
  )
    return warn(
      tool,
      `ffmpeg ${match[1]} is older than ${FFMPEG_MINIMUM.join('.')}: MJPEG cameras cannot record (-fps_mode)`,
      'install ffmpeg 5.1 or newer (Debian bookworm and Raspberry Pi OS trixie ship it)',
    );
  if (tool === 'ffmpeg') {
    // Demo and MJPEG cameras are transcoded to H.264; a build without libx264 fails them at start.
    const encoders = await runTool(command, ['-hide_banner', '-encoders'], { env, timeoutMs: 10_000 });
    if (encoders.outcome === 'ok' && !/\blibx264\b/.test(encoders.stdout))
      return warn(
        tool,
        `ffmpeg ${match[1]} has no libx264 encoder: MJPEG and demo cameras cannot record`,
        "install Debian's ffmpeg (sudo apt install ffmpeg), which includes libx264",
      );
  }
  return ok(tool, `${tool} ${match[1]}`);
}

/** The hub's own NAS check (mount point, marker, write probe, space), once, without creating anything. */
export function probeNas(config: Config, fs: FsWorker): Promise<NasHealth> {
  return commandNasGuard(config, fs).check();
}

/**
 * The free space retention keeps on the NAS, from the budget the hub uses (the owner's changes in the
 * database over the config, demo caps included); null when the NAS size is unknown.
 */
export function retentionFloor(
  sqlite: Database.Database,
  config: Config,
  fs: FsWorker,
  health: NasHealth,
): number | null {
  if (health.totalBytes === undefined) return null;
  const db = drizzle(sqlite, { schema }) as Db;
  const clock = systemClock;
  const budget = createRetentionService({
    db,
    clock,
    fs,
    guard: { current: () => health },
    nasRoot: config.nasDir,
    config: config.retention,
    demo: config.demo,
    systemEvents: createSystemEvents({ db, clock, bus: new EventBus(clock, 1) }),
    log: createLogger('silent'),
  }).read();
  return Math.max(budget.minFreeBytes, Math.ceil((budget.minFreePercent / 100) * health.totalBytes));
}

/** The mount unit systemd makes for a path (`systemd-escape -p --suffix=mount`), for the fix hint. */
export function mountUnitOf(dir: string): string {
  const escaped = dir
    .replace(/\/+/g, '/')
    .replace(/^\/|\/$/g, '')
    .replace(/[^A-Za-z0-9:_./]|^\./g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/\//g, '-');
  return `${escaped || '-'}.mount`;
}

export function checkNas(config: Config, health: NasHealth): Check {
  const root = config.nasDir;
  const detail = health.detail ? `: ${health.detail}` : '';
  const unit = mountUnitOf(root);
  switch (health.reason) {
    case null:
      return ok(
        'nas',
        config.storage.requireNasMount
          ? `${root} is mounted, marked and writable`
          : `${root} is writable and marked (a plain folder: demo mode does not require a mount)`,
      );
    case 'missing':
      return fail(
        'nas',
        `the NAS folder ${root} does not exist; recordings go to the local spool`,
        config.demo
          ? 'start the hub once: in demo mode it creates the folder'
          : `create the mount point and mount the NAS (scripts/setup.sh --nas-source …), or set HEARTH_NAS_DIR`,
      );
    case 'not_mounted':
      return fail(
        'nas',
        `${root} is not a mount point: the NAS is not mounted, recordings go to the local spool`,
        `is the NAS on and reachable? \`systemctl status ${unit}\` says why mounting failed; \`sudo mount ${root}\``,
      );
    case 'no_marker':
      return fail(
        'nas',
        `${root} has no ${MARKER_NAME} marker: not (or not yet) the Hearth share; nothing is written there`,
        config.demo
          ? 'start the hub once: in demo mode it writes the marker'
          : `if it is the right share: sudo -u hearth touch ${path.join(root, MARKER_NAME)}`,
      );
    case 'probe_failed':
      return fail(
        'nas',
        `cannot write to the NAS${detail}`,
        'the hearth user must be able to write there (NFS: map its uid or all_squash; CIFS: uid=hearth,gid=hearth)',
      );
    case 'probe_timeout':
      return fail(
        'nas',
        `the NAS did not answer within ${config.storage.nasTimeoutMs} ms (a hung mount)${detail}`,
        'check the NAS and the network; NFS mounts should be `soft` with `timeo` so they give up instead of hanging',
      );
    case 'full':
      return fail(
        'nas',
        `the NAS is full${detail}`,
        'open Storage in the web UI: retention deletes the oldest footage unless only protected footage is left',
      );
    default:
      return fail(
        'nas',
        `the NAS could not be checked (${health.reason})${detail}`,
        'run hearth doctor again',
      );
  }
}

/** Bytes per day recorded, from the segments that started in the last 24 h (or since the first one). */
export function recordingRate(sqlite: Database.Database, now: number): number {
  if (!hasTable(sqlite, 'segments')) return 0;
  const row = sqlite
    .prepare(
      'select coalesce(sum(bytes), 0) as bytes, min(start_at) as first from segments where start_at >= ?',
    )
    .get(now - DAY) as { bytes: number; first: number | null };
  if (!row.first || row.bytes === 0) return 0;
  // A hub that started recording an hour ago has an hour of footage, not a day's worth.
  return (row.bytes * DAY) / Math.max(now - row.first, HOUR);
}

export function checkNasSpace(
  health: NasHealth,
  floorBytes: number | null,
  ratePerDay: number,
  now: number,
): Check {
  if (health.freeBytes === undefined || health.totalBytes === undefined)
    return warn('nas-space', 'not measured: the NAS is not usable (see nas)', 'fix the nas finding first');
  const free = health.freeBytes;
  const head = `${bytes(free)} free of ${bytes(health.totalBytes)}`;
  if (health.reason === 'full')
    return fail(
      'nas-space',
      `${head}: writes fail for want of space`,
      'open Storage in the web UI: unprotect old clips or lower the retention days',
    );
  if (floorBytes !== null && free < floorBytes)
    return warn(
      'nas-space',
      `${head}, below the ${bytes(floorBytes)} retention keeps free: only protected footage left, or retention is behind`,
      'open Storage in the web UI: unprotect old clips, lower the retention days, or add space',
    );
  if (ratePerDay <= 0) return ok('nas-space', `${head}; nothing recorded in the last 24 h`);
  const headroom = Math.max(0, free - (floorBytes ?? 0));
  const days = headroom / ratePerDay;
  const until = new Date(now + days * DAY).toISOString().slice(0, 10);
  return ok(
    'nas-space',
    `${head}; at ${bytes(ratePerDay)}/day (last 24 h) ~${days < 10 ? days.toFixed(1) : Math.round(days)} days (${until}) until retention starts deleting the oldest footage`,
  );
}

export function checkDataSpace(config: Config, ratePerDay: number): Check {
  let free: number;
  let total: number;
  try {
    const space = statfsSync(config.dataDir);
    free = space.bavail * space.bsize;
    total = space.blocks * space.bsize;
  } catch (error) {
    return fail(
      'data-space',
      `cannot measure the data folder ${config.dataDir}: ${(error as Error).message}`,
      'check HEARTH_DATA_DIR (the appliance: /var/lib/hearth)',
    );
  }
  const head = `${config.dataDir}: ${bytes(free)} free of ${bytes(total)}`;
  if (free < DATA_FREE_FAIL_BYTES)
    return fail(
      'data-space',
      `${head}: the database and the spool cannot grow`,
      'free space: sudo journalctl --vacuum-size=100M; sudo apt clean; remove old files in backups/',
    );
  const quota = config.storage.spoolQuotaBytes;
  if (free < quota)
    return warn(
      'data-space',
      `${head}, less than the spool quota (${bytes(quota)}): a NAS outage could fill this disk`,
      'free space, or lower storage.spoolQuotaBytes in the config file',
    );
  if (ratePerDay <= 0) return ok('data-space', head);
  return ok(
    'data-space',
    `${head}; the spool holds ~${span((quota / ratePerDay) * DAY)} of recording if the NAS goes away`,
  );
}

/** The system bus socket node-ble will use (dbus-next reads the same variable), when it is a plain path. */
export function systemBusSocket(env: NodeJS.ProcessEnv): string | null {
  const address = env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket';
  return /^unix:path=([^,;]+)/.exec(address)?.[1] ?? null;
}

export async function checkBle(config: Config, env: NodeJS.ProcessEnv): Promise<Check> {
  if (!config.ble.enabled) return ok('ble', 'Bluetooth is turned off in the configuration (ble.enabled)');
  const consequence = 'cameras record, but new ones cannot be added';
  const socket = systemBusSocket(env);
  // Said plainly: through node-ble a missing bus surfaces as a socket library's ENOENT.
  if (socket && !existsSync(socket))
    return warn(
      'ble',
      `no D-Bus system bus (${socket} does not exist): ${consequence}`,
      'sudo apt install dbus bluez; sudo systemctl start dbus bluetooth',
    );
  const ble = createBleManager({ log: createLogger('silent'), enabled: true });
  try {
    const status = await ble.probe();
    if (status.state === 'ready') return ok('ble', `Bluetooth adapter ready (${status.adapter})`);
    return warn(
      'ble',
      `Bluetooth is not available (${'reason' in status ? status.reason : status.state}): ${consequence}`,
      'sudo systemctl status bluetooth; `rfkill list` (unblock with `sudo rfkill unblock bluetooth`); the hearth user needs the bluetooth group',
    );
  } finally {
    await ble.stop();
  }
}

export type NtpState =
  | { state: 'synced'; source: string }
  | { state: 'unsynced'; source: string }
  | { state: 'unknown'; reason: string };

/** timedatectl (systemd-timesyncd or chrony, through the kernel's flag) first, else chrony's own view. */
export async function ntpState(env: NodeJS.ProcessEnv): Promise<NtpState> {
  const timedatectl = await runTool('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { env });
  if (timedatectl.outcome === 'ok') {
    const value = timedatectl.stdout.trim();
    if (value === 'yes') return { state: 'synced', source: 'timedatectl: NTPSynchronized=yes' };
    if (value === 'no') return { state: 'unsynced', source: 'timedatectl: NTPSynchronized=no' };
  }
  const chronyc = await runTool('chronyc', ['-n', 'tracking'], { env });
  if (chronyc.outcome === 'ok') {
    const leap = /^Leap status\s*:\s*(.+)$/m.exec(chronyc.stdout)?.[1]?.trim();
    const reference = /^Reference ID\s*:\s*([0-9A-Fa-f]{8})/m.exec(chronyc.stdout)?.[1]?.toUpperCase();
    if (leap) {
      if (leap === 'Not synchronised')
        return { state: 'unsynced', source: 'chronyc: Leap status Not synchronised' };
      // 7F7F0101 is chrony's `local` reference: the hub serves its own clock to a house without internet.
      const local = reference === '7F7F0101' ? ', to its own clock (chrony local)' : '';
      return { state: 'synced', source: `chronyc: Leap status ${leap}${local}` };
    }
  }
  const said = (name: string, result: Awaited<ReturnType<typeof runTool>>) =>
    result.outcome === 'missing'
      ? `${name} not installed`
      : result.outcome === 'timeout'
        ? `${name} timed out`
        : result.outcome === 'failed'
          ? `${name}: ${result.message}`
          : `${name}: unexpected output "${firstLine(result.stdout)}"`;
  return { state: 'unknown', reason: `${said('timedatectl', timedatectl)}; ${said('chronyc', chronyc)}` };
}

export async function checkClock(env: NodeJS.ProcessEnv, now: number): Promise<Check> {
  if (now < EARLIEST_PLAUSIBLE)
    return fail(
      'clock',
      `the clock says ${new Date(now).toISOString()}: recording now would stamp 1970`,
      'give the hub a time source (chrony with a LAN or internet server) or set it: sudo date -s "YYYY-MM-DD HH:MM"',
    );
  const ntp = await ntpState(env);
  if (ntp.state === 'synced') return ok('clock', `synchronised (${ntp.source})`);
  if (ntp.state === 'unsynced')
    return warn(
      'clock',
      `the clock is not synchronised (${ntp.source}): recording and alert times may drift`,
      'sudo systemctl restart chrony; `chronyc sources` lists what it reaches; without internet, point it at a LAN server or `local stratum 10`',
    );
  return warn(
    'clock',
    `cannot tell whether the clock is synchronised (${ntp.reason})`,
    'sudo apt install chrony (setup.sh installs it)',
  );
}

export function checkSystemd(unit: UnitState): Check {
  if (unit.kind === 'none') return ok('systemd', `not run by systemd (${unit.reason})`);
  if (unit.kind === 'error')
    return warn('systemd', unit.message, `systemctl status ${HUB_UNIT} (as root if it refuses)`);
  const { ActiveState: active, SubState: sub, NRestarts: restarts, UnitFileState: file } = unit.props;
  const since = unit.props.ActiveEnterTimestamp ? ` since ${unit.props.ActiveEnterTimestamp}` : '';
  const logs = 'hearth logs -n 200 shows why';
  if (active === 'failed')
    return fail(
      'systemd',
      `${HUB_UNIT} failed (${sub}): nothing is recording`,
      `${logs}; then sudo systemctl restart hearth-hub`,
    );
  if (active === 'inactive')
    return fail('systemd', `${HUB_UNIT} is stopped: nothing is recording`, 'sudo systemctl start hearth-hub');
  if (active !== 'active')
    return warn(
      'systemd',
      `${HUB_UNIT} is ${active} (${sub})`,
      `check again in a minute; if it stays so, ${logs}`,
    );
  if (Number(restarts) > 0)
    return warn(
      'systemd',
      `${HUB_UNIT} active${since}, but systemd restarted it ${restarts} times since it was last started by hand`,
      `it crashed or its watchdog fired: ${logs} (look before each "listening")`,
    );
  if (file && file !== 'enabled')
    return warn(
      'systemd',
      `${HUB_UNIT} is running but ${file}: it will not start after a reboot`,
      'sudo systemctl enable hearth-hub',
    );
  return ok('systemd', `${HUB_UNIT} active (${sub})${since}`);
}

export interface DatabaseChecks {
  checks: Check[];
  /** Open when the file could be read; the caller closes it. */
  sqlite: Database.Database | null;
}

export function checkDatabase(file: string): DatabaseChecks {
  const restore = 'stop the hub and restore the newest backup (hearth restore <archive>)';
  if (!existsSync(file))
    return {
      checks: [
        fail(
          'database',
          `no database at ${file}`,
          'point HEARTH_DATA_DIR / HEARTH_CONFIG at the hub’s data (the appliance: /var/lib/hearth), or start the hub once',
        ),
      ],
      sqlite: null,
    };
  let sqlite: Database.Database;
  try {
    sqlite = openForReading(file);
  } catch (error) {
    return {
      checks: [
        fail(
          'database',
          `cannot open ${file}: ${(error as Error).message}`,
          'run as the hub’s user: sudo -u hearth hearth doctor',
        ),
      ],
      sqlite: null,
    };
  }
  let problems: string[];
  try {
    problems = quickCheck(sqlite);
  } catch (error) {
    sqlite.close();
    return {
      checks: [fail('database', `quick_check of ${file}: ${(error as Error).message}`, restore)],
      sqlite: null,
    };
  }
  const checks: Check[] = [];
  if (problems.length === 1 && problems[0] === 'ok')
    checks.push(ok('database', `${file} (${bytes(statSync(file).size)}): quick_check ok`));
  else
    checks.push(
      fail(
        'database',
        `quick_check of ${file} found ${problems.length >= 20 ? '20 or more' : problems.length} problem(s), first: ${problems[0]}`,
        restore,
      ),
    );
  try {
    const state = migrationState(sqlite);
    if (state.newer)
      checks.push(
        warn(
          'migrations',
          `the database was migrated by a newer Hearth than this one (${HUB_VERSION})`,
          'install the newer version again, or restore a backup this version made',
        ),
      );
    else if (state.pending.length > 0)
      checks.push(
        warn(
          'migrations',
          `${state.pending.length} migration(s) not applied yet (${state.pending.join(', ')})`,
          'restart the hub (sudo systemctl restart hearth-hub): it applies them at start-up',
        ),
      );
    else checks.push(ok('migrations', 'the database schema is up to date'));
  } catch (error) {
    checks.push(warn('migrations', `cannot compare migrations: ${(error as Error).message}`, restore));
  }
  return { checks, sqlite };
}

export function checkRecorders(sqlite: Database.Database, now: number): Check {
  if (!hasTable(sqlite, 'system_events'))
    return warn('recorders', 'not checked: no system events table', 'see the migrations finding');
  const rows = sqlite
    .prepare(
      `select subject, count(*) as n, max(id) as last from system_events
       where at >= ? and kind in ('recorder.reconnecting', 'recorder.failed')
       group by subject order by n desc`,
    )
    .all(now - HOUR) as { subject: string | null; n: number; last: number }[];
  const total = rows.reduce((sum, row) => sum + row.n, 0);
  const flapping = rows.filter((row) => row.n >= RESTARTS_PER_HOUR_WARN);
  if (flapping.length === 0)
    return ok(
      'recorders',
      total === 0
        ? 'no recorder restarted in the last hour'
        : `${total} recorder restart(s) in the last hour, none repeated`,
    );
  const message = sqlite.prepare('select message from system_events where id = ?');
  const worst = flapping[0]!;
  const cameras = flapping
    .map((row) => `${(row.subject ?? '?').replace(/^camera:/, '')} ×${row.n}`)
    .join(', ');
  return warn(
    'recorders',
    `recorders restarting in the last hour: ${cameras}; last: ${(message.get(worst.last) as { message: string }).message}`,
    'check the camera is on and reachable at its address (Cameras in the web UI); hearth logs --since "1 hour ago"',
  );
}

export function checkNodes(sqlite: Database.Database, config: Config, now: number): Check {
  if (!hasTable(sqlite, 'node_status'))
    return warn('nodes', 'not checked: no node tables', 'see the migrations finding');
  // The hub's own rule: three heartbeats missed and a node is offline.
  const silentMs = 3 * config.nodes.heartbeatSeconds * 1000;
  const nodes = sqlite
    .prepare(
      `select d.name, d.created_at as createdAt, coalesce(s.heartbeat_at, d.last_seen_at) as heardAt
       from devices d left join node_status s on s.device_id = d.id
       where d.kind = 'node' order by d.id`,
    )
    .all() as { name: string; createdAt: number; heardAt: number | null }[];
  if (nodes.length === 0) return ok('nodes', 'no edge nodes');
  const silent = nodes.filter((node) => now - (node.heardAt ?? node.createdAt) > silentMs);
  if (silent.length === 0)
    return ok('nodes', `${nodes.length} edge node(s), each heard from within ${span(silentMs)}`);
  const named = silent
    .map((node) =>
      node.heardAt === null
        ? `"${node.name}" never sent a heartbeat`
        : `"${node.name}" silent for ${span(now - node.heardAt)}`,
    )
    .join('; ');
  return warn(
    'nodes',
    `${silent.length} of ${nodes.length} edge node(s) offline: ${named}`,
    'on the node: sudo systemctl status hearth-node; hearth-node status; journalctl -u hearth-node -n 50',
  );
}
