import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { NewReading } from '../outbox.js';
import { type GpioLineConfig, type GpioSensorConfig, gpioLineSensor, type SensorDriver } from './driver.js';
import { LineSplitter } from './lines.js';

/** How long a new level must hold when the config does not say: contacts bounce, a PIR's output does not. */
export const DEFAULT_DEBOUNCE_MS = { door: 50, button: 50, motion: 0 } as const;

export interface GpioDriverOptions {
  now?: () => number;
  /** The first wait before gpiomon is started again; it doubles on each failure up to `restartMaxMs`. */
  restartMinMs?: number;
  restartMaxMs?: number;
  /** gpioget, gpiofind and `gpiomon --version` are killed after this long. */
  toolTimeoutMs?: number;
  /** After SIGTERM, how long `stop()` waits before SIGKILL. */
  stopGraceMs?: number;
}

type Level = 0 | 1;

interface LineState {
  config: GpioLineConfig;
  /** The readings' `sensor`. */
  sensor: string;
  debounceMs: number;
  /** As given to the tools: `17` or `GPIO17`. */
  arg: string;
  /** Known from the config, from gpiofind (libgpiod 1.x) or from the first event (2.x, `%l`). */
  offset: number | null;
  /** The level last reported (or, for a button, last seen stable); null until gpioget read it. */
  reported: Level | null;
  /** A new level waiting to hold for `debounceMs`; `at` is the edge it began with. */
  pending: { level: Level; at: number; timer?: NodeJS.Timeout } | null;
}

/** Lines with the same request settings share one gpiomon (libgpiod 1.x takes these once per command). */
interface Group {
  activeLow: boolean;
  bias: GpioLineConfig['bias'];
  lines: LineState[];
  running: boolean;
  problem: string | null;
}

interface Version {
  major: number;
  text: string;
}

interface Event {
  offset: number;
  rising: boolean;
  ns: bigint;
  /** libgpiod 2.x's `%l`: the line's name on the chip, or `unnamed`. */
  name?: string;
}

/** A tool could not do its part; the message is what health() shows. */
class ToolProblem extends Error {}

/** The formats given to gpiomon (`--format`): every field is a number but the last, so a line parses one way. */
const V1_FORMAT = '%o %e %s %n';
const V2_FORMAT = '%o %e %S %l';

/**
 * Door contacts, PIR motion sensors and buttons on GPIO lines, through the kernel's GPIO character device
 * (/dev/gpiochipN; never sysfs) by libgpiod's own tools, so no native addon: `gpioget` reads the levels at
 * start, then `gpiomon` prints each edge as a line in a `--format` chosen to parse one way. Raspberry Pi OS
 * bookworm ships libgpiod 1.6 tools and trixie 2.x; their command lines differ, so `gpiomon --version` decides
 * which are built:
 *
 * - 1.x: `gpioget [--active-low] [--bias=B] <chip> <offset>...`, `gpiomon --line-buffered [--active-low]
 *   [--bias=B] --format='%o %e %s %n' <chip> <offset>...` (%e: 1 rising, 0 falling; without --line-buffered
 *   its stdout is a full buffer on a pipe), `gpiofind <name>` for lines given by name.
 * - 2.x: `gpioget --numeric --chip=<chip> [--active-low] [--bias=B] --consumer=hearth <line>...`, `gpiomon
 *   --banner --chip=<chip> [--active-low] [--bias=B] --consumer=hearth --format='%o %e %S %l' <line>...`
 *   (%e: 1 rising, 2 falling; it flushes before each wait; the banner says the lines are requested).
 *
 * With --active-low the kernel reports edges of the logical level, so rising is always "became active".
 *
 * Readings (the line's `name`, else `<sensor>:<line>`): door `open`/`closed` (active = open), motion
 * `motion`/`still`, once at start from gpioget and on each debounced change; button `pressed` on the press
 * only (a release says nothing a household needs, and would double the outbox rows), never at start. A press
 * is also a text line `pressed:<sensor>` for `onLine` listeners (a safety check-in answered by a GPIO button).
 *
 * Debouncing is done here, the same for both versions (1.x has no --debounce-period): a level is reported once
 * it has held `debounceMs`, at the kernel's timestamp of the edge that began it (the last edge of a bounce);
 * judged by those timestamps, so edges delivered late in one batch are still told apart. The kernel stamps
 * events with CLOCK_MONOTONIC, as does process.hrtime, which turns them into wall-clock ms.
 *
 * gpioget must run while gpiomon is not holding the lines (the kernel answers EBUSY), so an edge in the
 * moment between the two is only seen at the next edge. When gpiomon exits (the chip gone, killed), health()
 * says why (its last stderr line) and it is started again after 1 s, doubling to 10 s; each start reads the
 * levels again with gpioget, so a change while it was down is reported then. Lines of output not in the
 * format are counted and ignored.
 */
export function gpioSensor(config: GpioSensorConfig, options: GpioDriverOptions = {}): SensorDriver {
  const now = options.now ?? Date.now;
  const restartMinMs = options.restartMinMs ?? 1000;
  const restartMaxMs = options.restartMaxMs ?? 10_000;
  const toolTimeoutMs = options.toolTimeoutMs ?? 10_000;
  const stopGraceMs = options.stopGraceMs ?? 2000;
  const chip = `gpiochip${/\d+$/.exec(config.chip)?.[0]}`;

  const states: LineState[] = config.lines.map((line) => ({
    config: line,
    sensor: gpioLineSensor(config.name, line),
    debounceMs: line.debounceMs ?? DEFAULT_DEBOUNCE_MS[line.kind],
    arg: String(line.line),
    offset: typeof line.line === 'number' ? line.line : null,
    reported: null,
    pending: null,
  }));
  const groups: Group[] = [];
  for (const state of states) {
    const { activeLow, bias } = state.config;
    let group = groups.find((g) => g.activeLow === activeLow && g.bias === bias);
    if (!group) {
      group = { activeLow, bias, lines: [], running: false, problem: null };
      groups.push(group);
    }
    group.lines.push(state);
  }

  let emit: ((reading: NewReading) => void) | null = null;
  let started = false;
  let stopped = false;
  let version: Version | null = null;
  let versionPending: Promise<Version> | null = null;
  let ignoredLines = 0;
  const children = new Set<ChildProcess>();
  const wakers = new Set<() => void>();
  const lineListeners = new Set<(line: string) => void>();
  let loops: Promise<void>[] = [];

  // --- the tools ---------------------------------------------------------------------------------------

  /** `/usr/local/bin/gpiomon: error …` as `gpiomon: error …`: the tools prefix their messages with argv[0]. */
  function tidy(tool: string, message: string): string {
    const text = message.trim();
    return text.startsWith(`${tool}:`) ? `${path.basename(tool)}${text.slice(tool.length)}` : text;
  }

  function notFound(tool: string) {
    return `${tool} not found (apt install gpiod)`;
  }

  /** Runs a tool to its end; rejects with a ToolProblem when it cannot be run, times out or fails. */
  function run(tool: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let stdout = '';
      let stderr = '';
      let failure: string | null = null;
      const timer = setTimeout(() => {
        failure = `${path.basename(tool)} did not finish within ${toolTimeoutMs} ms`;
        child.kill('SIGKILL');
      }, toolTimeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        if (stdout.length < 65_536) stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 65_536) stderr += chunk.toString('utf8');
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        failure ??= error.code === 'ENOENT' ? notFound(tool) : `${tool}: ${error.message}`;
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        if (failure) return reject(new ToolProblem(failure));
        if (code === 0) return resolve(stdout);
        const last = stderr
          .split('\n')
          .filter((line) => line.trim())
          .at(-1);
        reject(
          new ToolProblem(
            last
              ? tidy(tool, last)
              : `${path.basename(tool)} ${signal ? `was killed (${signal})` : `exited with code ${code}`}`,
          ),
        );
      });
    });
  }

  function detectVersion(): Promise<Version> {
    if (version) return Promise.resolve(version);
    versionPending ??= run(config.gpiomon, ['--version'])
      .then((output) => {
        const first = output.split('\n')[0] ?? '';
        // `gpiomon (libgpiod) v1.6.3`, `gpiomon (libgpiod) v2.1.3`
        const match = /\(libgpiod\) v(\d+)\.(\d+)(?:\.(\d+))?/.exec(first);
        if (!match)
          throw new ToolProblem(`${config.gpiomon} --version said ${JSON.stringify(first.slice(0, 80))}`);
        version = { major: Number(match[1]), text: match[0].slice('(libgpiod) '.length) };
        return version;
      })
      .finally(() => {
        versionPending = null;
      });
    return versionPending;
  }

  function requestArgs(group: Group, v: Version): string[] {
    const args = group.activeLow ? ['--active-low'] : [];
    if (group.bias !== 'as-is')
      args.push(`--bias=${v.major >= 2 && group.bias === 'disable' ? 'disabled' : group.bias}`);
    return args;
  }

  /** libgpiod 1.x tools take offsets only: a line given by name is looked up once with gpiofind. */
  async function findOffsets(group: Group) {
    for (const state of group.lines) {
      if (state.offset !== null) continue;
      let output: string;
      try {
        output = await run(config.gpiofind, [state.arg]);
      } catch (error) {
        // gpiofind exits 1 without a word when no chip has the name.
        if (error instanceof ToolProblem && /exited with code 1$/.test(error.message))
          throw new ToolProblem(`no GPIO line is named ${state.arg} (gpiofind)`);
        throw error;
      }
      const match = /^(\S+) (\d+)$/.exec(output.trim());
      if (!match) throw new ToolProblem(`gpiofind ${state.arg} said ${JSON.stringify(output.slice(0, 80))}`);
      if (match[1] !== chip) throw new ToolProblem(`${state.arg} is on ${match[1]}, not ${chip}`);
      state.offset = Number(match[2]);
    }
    const seen = new Map<number, LineState>();
    for (const state of states) {
      if (state.offset === null) continue;
      const other = seen.get(state.offset);
      if (other)
        throw new ToolProblem(`lines ${other.arg} and ${state.arg} are the same line (${state.offset})`);
      seen.set(state.offset, state);
    }
  }

  async function readLevels(group: Group, v: Version): Promise<Level[]> {
    const args =
      v.major >= 2
        ? [
            '--numeric',
            `--chip=${chip}`,
            ...requestArgs(group, v),
            '--consumer=hearth',
            ...group.lines.map((s) => s.arg),
          ]
        : [...requestArgs(group, v), chip, ...group.lines.map((s) => String(s.offset))];
    const output = await run(config.gpioget, args);
    // `0 1`, in the order asked (2.x without --numeric would say `"17"=active`).
    const words = output.trim().split(/\s+/);
    if (words.length !== group.lines.length || !words.every((word) => word === '0' || word === '1'))
      throw new ToolProblem(`gpioget said ${JSON.stringify(output.slice(0, 80))}`);
    return words.map((word) => (word === '1' ? 1 : 0));
  }

  /** Runs gpiomon until it exits; resolves with why it did. */
  function monitor(group: Group, v: Version): Promise<string> {
    const args =
      v.major >= 2
        ? [
            '--banner',
            `--chip=${chip}`,
            ...requestArgs(group, v),
            '--consumer=hearth',
            `--format=${V2_FORMAT}`,
            ...group.lines.map((s) => s.arg),
          ]
        : [
            '--line-buffered',
            ...requestArgs(group, v),
            `--format=${V1_FORMAT}`,
            chip,
            ...group.lines.map((s) => String(s.offset)),
          ];
    return new Promise((resolve) => {
      const child = spawn(config.gpiomon, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      const out = new LineSplitter();
      const err = new LineSplitter();
      let lastError = '';
      let failure: string | null = null;
      // 1.x prints nothing when it has the lines; 2.x prints the banner.
      if (v.major < 2) child.once('spawn', () => markRunning(group));
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of out.push(chunk)) onOutput(group, v, line);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        for (const line of err.push(chunk)) if (line.trim()) lastError = line;
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        failure ??=
          error.code === 'ENOENT' ? notFound(config.gpiomon) : `${config.gpiomon}: ${error.message}`;
      });
      child.once('close', (code, signal) => {
        children.delete(child);
        // A line cut off by the exit is not believed.
        ignoredLines += out.push(Buffer.from('\n')).filter((line) => line.trim()).length;
        group.running = false;
        for (const state of group.lines) clearTimeout(state.pending?.timer);
        const tool = path.basename(config.gpiomon);
        resolve(
          failure ??
            (signal
              ? `${tool} was killed (${signal})`
              : code !== 0 && lastError
                ? tidy(config.gpiomon, lastError)
                : `${tool} exited with code ${code}`),
        );
      });
    });
  }

  function markRunning(group: Group) {
    if (stopped) return;
    group.running = true;
    group.problem = null;
  }

  // --- output and debouncing ---------------------------------------------------------------------------

  function parse(v: Version, line: string): Event | null {
    if (v.major >= 2) {
      const match = /^(\d+) ([12]) (\d+)\.(\d{9}) (.+)$/.exec(line);
      if (!match) return null;
      return {
        offset: Number(match[1]),
        rising: match[2] === '1',
        ns: BigInt(match[3]!) * 1_000_000_000n + BigInt(match[4]!),
        name: match[5]!,
      };
    }
    // 1.x prints the nanoseconds without leading zeros, so `%s.%n` would not be a number.
    const match = /^(\d+) ([01]) (\d+) (\d{1,9})$/.exec(line);
    if (!match) return null;
    return {
      offset: Number(match[1]),
      rising: match[2] === '1',
      ns: BigInt(match[3]!) * 1_000_000_000n + BigInt(match[4]!),
    };
  }

  function onOutput(group: Group, v: Version, line: string) {
    const event = parse(v, line);
    if (!event) {
      if (v.major >= 2 && /^Monitoring lines? '/.test(line)) return markRunning(group);
      ignoredLines++;
      return;
    }
    const state =
      group.lines.find((s) => s.offset === event.offset) ??
      group.lines.find((s) => s.offset === null && s.arg === event.name);
    if (!state) {
      ignoredLines++;
      return;
    }
    state.offset = event.offset;
    onEdge(state, event.rising ? 1 : 0, eventTime(event.ns));
  }

  /** Wall-clock ms of a kernel timestamp: CLOCK_MONOTONIC normally; CLOCK_REALTIME before Linux 5.7. */
  function eventTime(ns: bigint): number {
    const wall = now();
    const asRealtime = Number(ns / 1_000_000n);
    if (Math.abs(asRealtime - wall) < 86_400_000) return asRealtime;
    const ageMs = Number(process.hrtime.bigint() - ns) / 1e6;
    return ageMs >= 0 && ageMs < 60_000 ? Math.round(wall - ageMs) : wall;
  }

  function onEdge(state: LineState, level: Level, at: number) {
    const pending = state.pending;
    // The pending level held until this edge (delivered late, with it in one batch): it counts.
    if (pending && at - pending.at >= state.debounceMs) commit(state);
    else if (pending) {
      clearTimeout(pending.timer);
      state.pending = null;
    }
    if (level === state.reported) return;
    state.pending = { level, at };
    if (state.debounceMs === 0) return commit(state);
    const wait = Math.min(state.debounceMs, Math.max(0, state.debounceMs - (now() - at)));
    state.pending.timer = setTimeout(() => commit(state), wait);
  }

  function commit(state: LineState) {
    const pending = state.pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    state.pending = null;
    if (pending.level === state.reported) return;
    state.reported = pending.level;
    report(state, pending.level, pending.at);
  }

  function report(state: LineState, level: Level, at: number) {
    if (stopped || !emit) return;
    const sensor = state.sensor;
    switch (state.config.kind) {
      case 'door':
        return emit({ at, sensor, kind: 'door', state: level ? 'open' : 'closed' });
      case 'motion':
        return emit({ at, sensor, kind: 'motion', state: level ? 'motion' : 'still' });
      case 'button':
        if (!level) return;
        emit({ at, sensor, kind: 'button', state: 'pressed' });
        for (const listener of [...lineListeners]) listener(`pressed:${sensor}`);
    }
  }

  /** gpioget's levels: the first are the initial state; after a restart, what changed while gpiomon was down. */
  function sync(group: Group, levels: Level[]) {
    group.lines.forEach((state, index) => {
      const level = levels[index]!;
      if (state.reported === null) {
        state.reported = level;
        if (state.config.kind !== 'button') report(state, level, now());
      } else if (state.pending?.level === level) {
        commit(state); // it began before gpiomon went: at its edge
      } else {
        clearTimeout(state.pending?.timer);
        state.pending = null;
        if (level === state.reported) return;
        state.reported = level;
        report(state, level, now());
      }
    });
  }

  // --- supervision -------------------------------------------------------------------------------------

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  /** One start: the version, the offsets (1.x), the levels, then gpiomon until it exits. */
  async function runOnce(group: Group): Promise<{ problem: string; ranMs: number }> {
    const v = await detectVersion();
    if (stopped) return { problem: 'stopped', ranMs: 0 };
    if (v.major < 2) await findOffsets(group);
    if (stopped) return { problem: 'stopped', ranMs: 0 };
    const levels = await readLevels(group, v);
    if (stopped) return { problem: 'stopped', ranMs: 0 };
    sync(group, levels);
    const since = now();
    const problem = await monitor(group, v);
    return { problem, ranMs: now() - since };
  }

  async function supervise(group: Group) {
    let failures = 0;
    while (!stopped) {
      let outcome: { problem: string; ranMs: number };
      try {
        outcome = await runOnce(group);
      } catch (error) {
        outcome = { problem: error instanceof Error ? error.message : String(error), ranMs: 0 };
      }
      if (stopped) break;
      group.running = false;
      group.problem = outcome.problem;
      // One that ran a good while before it died is restarted soon; one that keeps failing, less often.
      if (outcome.ranMs >= restartMaxMs) failures = 0;
      await pause(Math.min(restartMaxMs, restartMinMs * 2 ** failures));
      failures++;
    }
  }

  function terminate(child: ChildProcess): Promise<void> {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
      child.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  return {
    name: config.name,
    type: 'gpio',
    start(onReading) {
      if (started) return;
      started = true;
      emit = onReading;
      loops = groups.map((group) => supervise(group));
    },
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      for (const state of states) clearTimeout(state.pending?.timer);
      await Promise.all([...children].map(terminate));
      await Promise.all(loops);
    },
    health() {
      const down = groups.find((group) => !group.running);
      const healthy = started && !stopped && !down;
      let detail: string;
      if (!started) detail = 'not started';
      else if (down) detail = down.problem ?? 'starting';
      else
        detail = `libgpiod ${version?.text ?? '?'}${ignoredLines ? `; ${ignoredLines} lines not understood` : ''}`;
      return { name: config.name, kind: 'gpio', healthy, detail: detail.slice(0, 200) };
    },
    onLine(listener) {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
  };
}
