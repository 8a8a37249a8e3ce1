// The appliance's unit files: systemd itself parses them (`systemd-analyze verify`) and scores their
// hardening (`systemd-analyze security --offline=true`, exposure at most 2.0 for the long-running services),
// and what the code relies on is checked against the code (paths, notify, stop time).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../hub/src/config/schema.js';
import { tempDir } from '../hub/src/testing/spawn-hub.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UNITS = ['hearth-hub.service', 'hearth-node.service', 'hearth-backup.service', 'hearth-backup.timer'];
const SERVICES = ['hearth-hub.service', 'hearth-node.service'];
const MAX_EXPOSURE = 2.0;

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = analyze.error ? 'systemd-analyze is not installed (package systemd)' : false;

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Copies of the units in a folder of their own (verify reads a timer's service next to it). The node binary
 * is the appliance's /usr/bin/node; where this machine has none, the copies name the one running the tests,
 * since verify checks that the command exists and that is not what is tested here.
 */
function unitCopies(edit?: (name: string, text: string) => string): string {
  const dir = tempDir('hearth-units-');
  for (const name of UNITS) {
    let text = readFileSync(path.join(repo, 'systemd', name), 'utf8');
    if (!executable('/usr/bin/node')) text = text.replaceAll('/usr/bin/node ', `${process.execPath} `);
    writeFileSync(path.join(dir, name), edit ? edit(name, text) : text);
  }
  return dir;
}

/** What `systemd-analyze verify` has to say about our units: parse errors, unknown keys, bad values. */
function verify(dir: string): string[] {
  const result = spawnSync('systemd-analyze', ['verify', ...UNITS.map((name) => path.join(dir, name))], {
    encoding: 'utf8',
  });
  const complaints = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => line.includes('hearth-'));
  // An unknown key or a bad value is only a warning to systemd (exit 0), so the lines are what counts.
  return result.status === 0 ? complaints : [`exit ${result.status}`, ...complaints];
}

function exposure(file: string): { level: number; status: number | null; output: string } {
  // --threshold is the same limit in systemd's own scale (exposure × 10): above it, a non-zero exit.
  const result = spawnSync(
    'systemd-analyze',
    ['security', '--offline=true', `--threshold=${MAX_EXPOSURE * 10}`, '--no-pager', file],
    { encoding: 'utf8' },
  );
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(result.stdout);
  assert.ok(match, `no exposure level in:\n${result.stdout}${result.stderr}`);
  return { level: Number(match[1]), status: result.status, output: result.stdout };
}

/** A unit file as key → values (a key may repeat), per section. */
function parseUnit(name: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> = {};
  for (const raw of readFileSync(path.join(repo, 'systemd', name), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = {};
      sections[header[1]!] = section;
      continue;
    }
    const at = line.indexOf('=');
    const key = line.slice(0, at);
    section[key] = [...(section[key] ?? []), line.slice(at + 1)];
  }
  return sections;
}

/** A systemd time span such as "30s", "5min" or "1min 30s", in ms. */
function spanMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, min: 60_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit = 's'] of value.matchAll(/(\d+)\s*([a-z]*)/g)) {
    assert.ok(unit in units, `unknown time unit in "${value}"`);
    total += Number(amount) * units[unit]!;
  }
  return total;
}

describe('systemd units', { skip }, () => {
  test('systemd-analyze verify accepts every unit, and does notice a mistake', () => {
    assert.deepEqual(verify(unitCopies()), []);
    // The same check on deliberately broken copies: a misspelt directive and a bad value must show up.
    const broken = verify(
      unitCopies((name, text) =>
        name === 'hearth-hub.service'
          ? text
              .replace('WatchdogSec=', 'WatchdogSecs=')
              .replace('ProtectSystem=strict', 'ProtectSystem=strikt')
          : text,
      ),
    );
    assert.ok(
      broken.some((line) => line.includes("Unknown key 'WatchdogSecs'")),
      broken.join('\n'),
    );
    assert.ok(
      broken.some((line) => line.includes('strikt')),
      broken.join('\n'),
    );
  });

  test(`the hub and node services score an exposure of at most ${MAX_EXPOSURE.toFixed(1)}`, (t) => {
    const dir = unitCopies();
    for (const name of [...SERVICES, 'hearth-backup.service']) {
      const { level, status, output } = exposure(path.join(dir, name));
      t.diagnostic(`${name}: exposure ${level}`);
      assert.ok(level <= MAX_EXPOSURE, `${name} scores ${level}:\n${output}`);
      assert.equal(status, 0);
    }
    // The measure does tell: the same hub without its hardening section scores far worse.
    const bare = path.join(dir, 'bare.service');
    const hub = readFileSync(path.join(dir, 'hearth-hub.service'), 'utf8');
    writeFileSync(bare, hub.slice(0, hub.indexOf('# --- Hardening')));
    const unhardened = exposure(bare);
    assert.ok(unhardened.level > MAX_EXPOSURE, `unhardened: ${unhardened.level}`);
    assert.notEqual(unhardened.status, 0);
  });

  test('Type=notify with a watchdog, restarts, and no internet at the kernel level', () => {
    for (const name of SERVICES) {
      const { Unit: unit, Service: service } = parseUnit(name);
      assert.deepEqual(service!.Type, ['notify'], name);
      // unix-dgram sends from the main process itself (hub/src/system/sd-notify.ts).
      assert.deepEqual(service!.NotifyAccess, ['main'], name);
      assert.ok(spanMs(service!.WatchdogSec![0]!) >= 10_000, `${name}: a watchdog of some seconds`);
      assert.ok(service!.Restart![0] === 'on-failure' || service!.Restart![0] === 'always', name);
      assert.deepEqual(service!.IPAddressDeny, ['any'], name);
      assert.deepEqual(service!.CapabilityBoundingSet, [''], name);
      assert.equal(service!.User![0], 'hearth');
      // A missing NAS must not keep the service from starting (it spools).
      assert.equal(unit!.RequiresMountsFor, undefined, name);
      assert.ok(!(service!.ReadWritePaths ?? []).join(' ').includes('/mnt/hearth-nas'), name);
    }
    // The hub's "restart" command (node/src/agent.ts) ends the agent with exit code 0.
    assert.deepEqual(parseUnit('hearth-node.service').Service!.Restart, ['always']);
  });

  test("the hub's stop time covers its own shutdown sequence", () => {
    const { server } = configSchema.parse({});
    // hub.ts stop(): in-flight requests (shutdownGraceMs), then each recorder finishing its segment (10 s,
    // supervisor.ts), then the job queue (5 s, jobs/queue.ts); the live streams and the rest take moments.
    const needed = server.shutdownGraceMs + 10_000 + 5_000;
    const stop = spanMs(parseUnit('hearth-hub.service').Service!.TimeoutStopSec![0]!);
    assert.ok(stop >= needed + 10_000, `TimeoutStopSec ${stop} ms leaves no margin over ${needed} ms`);
  });

  test('the commands the units run are the ones this tree builds', () => {
    const commands = ['hearth-hub.service', 'hearth-node.service', 'hearth-backup.service'].map(
      (name) => parseUnit(name).Service!.ExecStart![0]!,
    );
    for (const command of commands) {
      const script = command.split(' ').find((word) => word.startsWith('/opt/hearth/'));
      assert.ok(script, command);
      const file = path.join(repo, script.slice('/opt/hearth/'.length));
      assert.ok(existsSync(file), `${command}: ${file} is not in this tree (npm run build makes dist/)`);
    }
    assert.match(commands[2]!, / backup$/);
    assert.deepEqual(parseUnit('hearth-backup.timer').Timer!.Persistent, ['true']);
  });
});
