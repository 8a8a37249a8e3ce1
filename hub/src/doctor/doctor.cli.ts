import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../cli/command.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { databasePath } from '../db/client.js';
import { createFsWorker } from '../storage/index.js';
import { HUB_VERSION } from '../system/version.js';
import {
  type Check,
  checkBle,
  checkClock,
  checkDatabase,
  checkDataSpace,
  checkMediaTool,
  checkNas,
  checkNasSpace,
  checkNodes,
  checkRecorders,
  checkSystemd,
  type Level,
  probeNas,
  recordingRate,
  retentionFloor,
} from './checks.js';
import { becomeDataOwner } from './identity.js';
import { unitState } from './systemd.js';

export const EXIT_CODES: Record<Level, number> = { ok: 0, warn: 1, fail: 2 };

const USAGE = 'hearth doctor [--json]';

/** Runs a `parseArgs` call; what it rejects is a usage error (exit 64), not a crash with a stack. */
export function parsedOrUsage<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(`${(error as Error).message.split('. ')[0]!} (usage: ${usage})`);
    throw error;
  }
}

/** Every check, in the order a person fixes things: tools, storage, radio, time, data, service, devices. */
export async function runChecks(config: Config, env: NodeJS.ProcessEnv, now: number): Promise<Check[]> {
  const fs = createFsWorker({ timeoutMs: config.storage.nasTimeoutMs });
  try {
    const [ffmpeg, ffprobe, health, ble, clock, unit] = await Promise.all([
      checkMediaTool('ffmpeg', env),
      checkMediaTool('ffprobe', env),
      probeNas(config, fs),
      checkBle(config, env),
      checkClock(env, now),
      unitState(env),
    ]);
    const database = checkDatabase(databasePath(config.dataDir));
    const sqlite = database.sqlite;
    try {
      // A damaged database can pass its open and fail any later read: each reader is checked on its own.
      const guarded = (id: string, read: (db: NonNullable<typeof sqlite>) => Check): Check => {
        if (!sqlite)
          return {
            id,
            level: 'warn',
            finding: 'not checked: the database could not be read',
            fix: 'see database',
          };
        try {
          return read(sqlite);
        } catch (error) {
          return {
            id,
            level: 'warn',
            finding: `not checked: ${(error as Error).message}`,
            fix: 'see database',
          };
        }
      };
      const rate = quietly(() => (sqlite ? recordingRate(sqlite, now) : 0), 0);
      const floor = quietly(() => (sqlite ? retentionFloor(sqlite, config, fs, health) : null), null);
      return [
        ffmpeg,
        ffprobe,
        checkNas(config, health),
        checkNasSpace(health, floor, rate, now),
        checkDataSpace(config, rate),
        ble,
        clock,
        ...database.checks,
        checkSystemd(unit),
        guarded('recorders', (db) => checkRecorders(db, now)),
        guarded('nodes', (db) => checkNodes(db, config, now)),
      ];
    } finally {
      sqlite?.close();
    }
  } finally {
    await fs.close();
  }
}

/** For the figures findings are measured against: without them a finding says less, but it still stands. */
function quietly<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch {
    return otherwise;
  }
}

export function worstLevel(checks: Check[]): Level {
  return checks.reduce<Level>(
    (worst, check) => (EXIT_CODES[check.level] > EXIT_CODES[worst] ? check.level : worst),
    'ok',
  );
}

function printText(checks: Check[], config: Config | null, user: string | null): void {
  const width = Math.max(...checks.map((check) => check.id.length));
  console.log(
    `hearth doctor ${HUB_VERSION}${config ? `, data in ${config.dataDir}` : ''}${user ? `, checked as ${user}` : ''}`,
  );
  for (const check of checks) {
    const label = check.level === 'ok' ? 'ok  ' : check.level.toUpperCase();
    console.log(`${label}  ${check.id.padEnd(width)}  ${check.finding}`);
    if (check.fix) console.log(`${' '.repeat(width + 8)}fix: ${check.fix}`);
  }
  const count = (level: Level) => checks.filter((check) => check.level === level).length;
  console.log(`${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failure(s)`);
}

/** `hearth doctor [--json]`: exit 0 all ok, 1 the worst is a warning, 2 anything failed. */
export const doctorCommand: Command = async (argv) => {
  const { values } = parsedOrUsage(
    () =>
      parseArgs({
        args: argv,
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      }),
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let config: Config | null = null;
  let user: string | null = null;
  let checks: Check[];
  try {
    config = loadConfig();
    user = becomeDataOwner(config.dataDir);
    checks = await runChecks(config, process.env, Date.now());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks = [
      {
        id: 'config',
        level: 'fail',
        finding: error.message.replace(/\n/g, ' '),
        fix: 'correct the file HEARTH_CONFIG names (the appliance: /etc/hearth/config.json) or the HEARTH_* variables',
      },
    ];
  }
  const worst = worstLevel(checks);
  if (values.json)
    console.log(
      JSON.stringify(
        {
          version: HUB_VERSION,
          dataDir: config?.dataDir ?? null,
          user,
          worst,
          exitCode: EXIT_CODES[worst],
          checks,
        },
        null,
        2,
      ),
    );
  else printText(checks, config, user);
  return EXIT_CODES[worst];
};
