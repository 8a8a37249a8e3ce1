import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../accounts/accounts.schema.js';
import { createSetupService } from '../accounts/setup.service.js';
import { createUserService } from '../accounts/users.service.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { backupDatabase } from '../db/backup.js';
import { closeDatabase, type Db, databasePath, openDatabase } from '../db/client.js';
import { DEVICE_KINDS, type DeviceKind } from '../devices/devices.schema.js';
import { createDeviceService } from '../devices/devices.service.js';
import { EventBus } from '../events/bus.js';
import { createSystemEvents } from '../events/system-events.service.js';
import { AppError } from '../http/errors.js';
import { createLogger } from '../log/logger.js';
import { createNodeService } from '../nodes/nodes.service.js';
import { reconcileRoot } from '../recording/reindex.js';
import { createSegmentRepo } from '../recording/segments.repo.js';
import { commandNasGuard, createFsWorker } from '../storage/index.js';
import { type Command, table, UsageError } from './command.js';

/**
 * Groups that parse their own arguments and open (or leave alone) the database themselves. Loaded when
 * used: together they pull in tar, D-Bus, WireGuard and the doctor's checks, which made every command
 * start about five times slower than Node itself.
 */
const STANDALONE: Record<string, () => Promise<Command>> = {
  backup: async () => (await import('../backup/backup.cli.js')).backupCommand,
  restore: async () => (await import('../backup/backup.cli.js')).restoreCommand,
  remote: async () => (await import('../remote/remote.cli.js')).remoteCommand,
  doctor: async () => (await import('../doctor/doctor.cli.js')).doctorCommand,
  status: async () => (await import('../doctor/status.cli.js')).statusCommand,
  logs: async () => (await import('../doctor/logs.cli.js')).logsCommand,
};

const USAGE = `hearth: maintain a Hearth hub (the same services the web API uses)

  hearth setup-code                          print the one-time setup code (nothing once an owner exists)
  hearth user list
  hearth user add <name> --role owner|member|viewer   password from stdin, or a generated one is printed
  hearth user reset-password <name>          password from stdin, or a generated one is printed; ends their sessions
  hearth user remove <name>
  hearth device list
  hearth device add <name> --kind camera|node [--hardware-id ID]   prints the device token as the last line
  hearth device remove <id>
  hearth node code [--name NAME]             a one-time code for \`hearth-node enrol\` (15 min), as the last line
  hearth token create <device-id>            prints a new token for the device as the last line
  hearth token revoke <device-id> [--token-id N]   revokes one token, or all of the device's tokens
  hearth db migrate                          apply database migrations
  hearth db backup <file>                    consistent copy of the database, safe while the hub runs
  hearth backup [--to DIR] [--keep N]        dated archive (database, config, manifest) on the NAS, else in <data>/backups
  hearth restore FILE [--dry-run] [--force] [--with-config]   hub stopped: verify the archive, put its database back
  hearth reindex                             rebuild the recordings index from the files on the NAS and in the spool
  hearth doctor [--json]                     checks and explains (tools, NAS, space, Bluetooth, clock, database, service,
                                             recorders, nodes); exit 0 all ok, 1 a warning, 2 a failure
  hearth status                              one-screen summary: service, cameras, NAS, nodes, alerts, last backup
  hearth logs [-f] [-n N] [--since TIME] [--unit hearth-node]   the journal of hearth-hub, pretty-printed
  hearth ble status                          Bluetooth adapter, household Wi-Fi name, recent camera adoptions
  hearth ble wifi <ssid>                     the Wi-Fi new cameras join; password from stdin (sealed, never shown)
  hearth ble scan [--seconds 5]              cameras in range that can be added
  hearth ble adopt <address> --name NAME [--camera-id ID]   adds the camera: Wi-Fi, hub address, token
  hearth remote enable --endpoint HOST[:PORT] [--subnet CIDR] [--allowed-ips CIDR,...]   WireGuard for phones away (sudo)
  hearth remote add-phone <name>             a phone's WireGuard configuration and QR code; remove-phone <name>, list, disable

Environment: HEARTH_DATA_DIR (default ./var), HEARTH_CONFIG (optional JSON file).`;

function readPasswordFromStdin(): string | null {
  if (process.stdin.isTTY) return null;
  const text = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  return text.length ? text : null;
}

function generatedPassword(): string {
  return randomBytes(12).toString('base64url');
}

function services(db: Db) {
  const clock = systemClock;
  const bus = new EventBus(clock, 1);
  const systemEvents = createSystemEvents({ db, clock, bus });
  const users = createUserService({ db, clock, passwordMinLength: loadConfig().auth.passwordMinLength });
  const devices = createDeviceService({ db, clock, systemEvents });
  return {
    users,
    setup: createSetupService({ db, clock, users }),
    devices,
    nodes: createNodeService({ db, clock, bus, log: createLogger('silent'), devices, systemEvents }),
    systemEvents,
  };
}

function positiveInt(text: string | undefined, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${what} must be a positive number`);
  return value;
}

function parseArguments(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        kind: { type: 'string' },
        'hardware-id': { type: 'string' },
        'token-id': { type: 'string' },
        name: { type: 'string' },
        'camera-id': { type: 'string' },
        seconds: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // An unknown option or a missing value is a usage error (exit 64), not a crash with a stack.
    if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((error as Error).message.split('. ')[0]!);
    throw error;
  }
}

/** The first issue of an AppError's details, so "Password too weak." also says what is needed. */
function detail(error: AppError): string {
  const issue = (error.details as { issues?: { path?: string; message?: string }[] } | undefined)
    ?.issues?.[0];
  return issue?.message ? ` (${issue.path ? `${issue.path}: ` : ''}${issue.message})` : '';
}

async function run(argv: string[]): Promise<void> {
  const standalone = argv[0] && !argv[0].startsWith('-') ? STANDALONE[argv[0]] : undefined;
  if (standalone) {
    process.exitCode = await (await standalone())(argv.slice(1));
    return;
  }
  const { positionals, values } = parseArguments(argv);
  const [group, action, ...rest] = positionals;
  if (values.help || !group) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const file = databasePath(config.dataDir);
  const db = openDatabase(file);
  try {
    const { users, setup, devices, nodes } = services(db);
    const key = `${group} ${action ?? ''}`.trim();
    switch (key) {
      case 'setup-code': {
        const code = setup.currentCode();
        if (code) console.log(code);
        else console.error('An owner exists already; sign in, or use `hearth user reset-password`.');
        return;
      }
      case 'user list':
        console.log(
          table(
            users.list().map(({ id, username, displayName, role, createdAt }) => ({
              id,
              username,
              displayName,
              role,
              createdAt,
            })),
          ),
        );
        return;
      case 'user add': {
        const name = rest[0];
        if (!name) throw new UsageError('user add needs a name');
        if (!ROLES.includes(values.role as Role))
          throw new UsageError('--role must be owner, member or viewer');
        const given = readPasswordFromStdin();
        const password = given ?? generatedPassword();
        const user = await users.create({ username: name, password, role: values.role as Role });
        console.log(`added ${user.role} "${user.username}" (id ${user.id})`);
        if (!given) console.log(`password: ${password}`);
        return;
      }
      case 'user reset-password': {
        const user = users.findByUsername(rest[0] ?? '');
        if (!user) throw new UsageError(`no user named "${rest[0] ?? ''}"`);
        const given = readPasswordFromStdin();
        const password = given ?? generatedPassword();
        await users.setPassword(user.id, password);
        console.log(`password of "${user.username}" changed; their sessions are ended`);
        if (!given) console.log(`password: ${password}`);
        return;
      }
      case 'user remove': {
        const user = users.findByUsername(rest[0] ?? '');
        if (!user) throw new UsageError(`no user named "${rest[0] ?? ''}"`);
        users.remove(user.id);
        console.log(`removed "${user.username}"`);
        return;
      }
      case 'device list':
        console.log(
          table(
            devices.list().map(({ id, name, kind, status, lastSeenAt, hardwareId }) => ({
              id,
              name,
              kind,
              status,
              lastSeenAt,
              hardwareId,
            })),
          ),
        );
        return;
      case 'device add': {
        const name = rest[0];
        if (!name) throw new UsageError('device add needs a name');
        if (!DEVICE_KINDS.includes(values.kind as DeviceKind))
          throw new UsageError('--kind must be camera or node');
        const { device, token } = devices.create({
          name,
          kind: values.kind as DeviceKind,
          hardwareId: values['hardware-id'],
        });
        console.log(
          `added ${device.kind} "${device.name}" (id ${device.id}); its token follows, shown only now:`,
        );
        console.log(token);
        return;
      }
      case 'node code': {
        const { code, expiresAt } = nodes.createCode({ name: values.name ?? 'Edge node' });
        console.log(
          `enrolment code for "${values.name ?? 'Edge node'}", valid until ${new Date(expiresAt).toISOString()}:`,
        );
        console.log(code);
        return;
      }
      case 'device remove': {
        devices.remove(positiveInt(rest[0], 'device id'));
        console.log('removed');
        return;
      }
      case 'token create': {
        const { token, info } = devices.createToken(positiveInt(rest[0], 'device id'));
        console.log(`token ${info.id} created; shown only now:`);
        console.log(token);
        return;
      }
      case 'token revoke': {
        const deviceId = positiveInt(rest[0], 'device id');
        const ids = values['token-id']
          ? [positiveInt(values['token-id'], '--token-id')]
          : devices
              .listTokens(deviceId)
              .filter((token) => !token.revokedAt)
              .map((token) => token.id);
        for (const id of ids) devices.revokeToken(deviceId, id);
        console.log(`revoked ${ids.length} token(s)`);
        return;
      }
      case 'db migrate':
        // openDatabase applied any pending migration already.
        console.log(`database ${file} is up to date`);
        return;
      case 'db backup': {
        if (!rest[0]) throw new UsageError('db backup needs a target file');
        const result = await backupDatabase(db, rest[0]);
        console.log(`backed up ${result.pages} pages (${result.bytes} bytes) to ${result.file}`);
        return;
      }
      case 'reindex': {
        const fs = createFsWorker({ timeoutMs: config.storage.nasTimeoutMs * 4 });
        const segments = createSegmentRepo(db);
        const progress = (label: string) => (done: number, total: number) => {
          if (!process.stderr.isTTY && done !== total) return;
          const width = 30;
          const filled = total ? Math.round((done / total) * width) : width;
          process.stderr.write(
            `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`,
          );
          if (done === total) process.stderr.write('\n');
        };
        try {
          // An unmounted NAS looks like an empty folder: reconciling against it would drop every row.
          const guard = commandNasGuard(config, fs);
          const health = await guard.check();
          const roots: (readonly ['nas' | 'spool', string])[] = existsSync(config.storage.spoolDir)
            ? [['spool', config.storage.spoolDir]]
            : [];
          if (health.healthy) roots.unshift(['nas', config.nasDir]);
          else
            console.error(
              `hearth: the NAS at ${config.nasDir} is not usable (${health.reason}); its index is left as it is`,
            );
          for (const [location, root] of roots) {
            const report = await reconcileRoot({
              db,
              fs,
              segments,
              clock: systemClock,
              root,
              location,
              onProgress: progress(location),
            });
            console.log(
              `${location}: ${report.scanned} files, ${report.added} added, ${report.removed} stale rows removed, ${report.unreadable} unreadable`,
            );
          }
        } finally {
          await fs.close();
        }
        return;
      }
      default:
        if (group === 'ble') {
          const { bleCommand } = await import('../ble/ble.cli.js');
          process.exitCode = await bleCommand(
            action,
            {
              positionals: rest,
              name: values.name,
              cameraId: values['camera-id'],
              seconds: values.seconds,
              password: readPasswordFromStdin,
            },
            { db, config },
          );
          return;
        }
        throw new UsageError(`unknown command "${key}"`);
    }
  } finally {
    closeDatabase(db);
  }
}

try {
  await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`hearth: ${error.message}\n\n${USAGE}`);
    process.exit(64);
  }
  if (error instanceof AppError) {
    console.error(`hearth: ${error.message}${detail(error)}`);
    process.exit(1);
  }
  if (error instanceof ConfigError) {
    console.error(`hearth: ${error.message}`);
    process.exit(1);
  }
  if ((error as { name?: string }).name === 'ZodError') {
    console.error(
      `hearth: ${(error as { issues: { message: string }[] }).issues.map((issue) => issue.message).join('; ')}`,
    );
    process.exit(1);
  }
  throw error;
}
