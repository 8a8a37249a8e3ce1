#!/usr/bin/env node
/**
 * Stand-ins for libgpiod's command-line tools (gpiomon, gpioget, gpiofind), for tests on machines without a
 * GPIO chip. They take the real tools' command lines for one version (FAKE_LIBGPIOD_VERSION: 1.6.3 as on
 * Raspberry Pi OS bookworm, 2.x as on trixie), answer wrong ones as the real tool does (its message on stderr,
 * exit code 1), honour `--format`, and print what the real one prints; the chips, their lines and levels are
 * the test's (index.ts), asked over a unix socket (FAKE_GPIO_SOCKET) as a tool asks the kernel.
 *
 * Written from libgpiod's sources: v1.6.x tools/{gpiomon,gpioget,gpiofind,tools-common}.c, lib/helpers.c;
 * v2.1/v2.2 tools/{gpiomon,gpioget,tools-common}.c (github.com/brgl/libgpiod).
 *
 *   FAKE_LIBGPIOD_VERSION=2.1.3 FAKE_GPIO_SOCKET=/tmp/x/kernel.sock fake-libgpiod.mjs gpiomon <argv0> [args…]
 *
 * `argv0` is the name it was run by (the wrappers pass `$0`): the real tools begin their messages with it.
 */
import net from 'node:net';
import path from 'node:path';

const [tool, argv0 = tool, ...args] = process.argv.slice(2);
const version = process.env.FAKE_LIBGPIOD_VERSION ?? '2.1.3';
const major = Number(version.split('.')[0]);
const socketPath = process.env.FAKE_GPIO_SOCKET;

const STRERROR = {
  ENOENT: 'No such file or directory',
  EBUSY: 'Device or resource busy',
  EINVAL: 'Invalid argument',
  ENODEV: 'No such device',
  EACCES: 'Permission denied',
};

/** tools-common.c `die()`: `<argv0>: message`, exit 1. */
function die(message) {
  process.stderr.write(`${argv0}: ${message}\n`);
  process.exit(1);
}

/** `die_perror()`: the message, then strerror(errno). */
function diePerror(message, errno) {
  die(`${message}: ${STRERROR[errno] ?? errno}`);
}

/**
 * glibc getopt_long as the tools call it (shortopts begin with '+': options end at the first operand). Its
 * complaints are glibc's, then the tool's `try <argv0> --help`.
 */
function getopt(argv, shortopts, longopts) {
  const spec = shortopts.replace(/^\+/, '');
  const found = [];
  const complain = (message) => {
    process.stderr.write(`${argv0}: ${message}\n`);
    die(`try ${argv0} --help`);
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      let option = longopts.find((o) => o.name === name);
      if (!option) {
        const candidates = longopts.filter((o) => o.name.startsWith(name));
        if (candidates.length > 1 && !candidates.every((c) => c.key === candidates[0].key))
          complain(
            `option '--${name}' is ambiguous; possibilities:${candidates.map((c) => ` '--${c.name}'`).join('')}`,
          );
        option = candidates[0];
      }
      if (!option) complain(`unrecognized option '${arg}'`);
      if (option.arg) {
        let value;
        if (eq >= 0) value = arg.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else complain(`option '--${option.name}' requires an argument`);
        found.push({ key: option.key, value });
      } else {
        if (eq >= 0) complain(`option '--${option.name}' doesn't allow an argument`);
        found.push({ key: option.key });
      }
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j];
        const at = spec.indexOf(ch);
        if (at < 0 || ch === ':') complain(`invalid option -- '${ch}'`);
        if (spec[at + 1] === ':') {
          let value = arg.slice(j + 1);
          if (!value) {
            if (i + 1 < argv.length) value = argv[++i];
            else complain(`option requires an argument -- '${ch}'`);
          }
          found.push({ key: ch, value });
          break;
        }
        found.push({ key: ch });
      }
      continue;
    }
    break; // the first operand
  }
  return { found, operands: argv.slice(i) };
}

const long = (name, arg, key) => ({ name, arg, key });

/** tools-common.c print_version(). */
function printVersion() {
  const short = path.basename(argv0);
  const lines =
    major >= 2
      ? [
          `${short} (libgpiod) v${version}`,
          'Copyright (C) 2017-2023 Bartosz Golaszewski',
          'License: GPL-2.0-or-later',
        ]
      : [
          `${short} (libgpiod) v${version}`,
          'Copyright (C) 2017-2018 Bartosz Golaszewski',
          'License: LGPLv2.1',
        ];
  lines.push(
    'This is free software: you are free to change and redistribute it.',
    'There is NO WARRANTY, to the extent permitted by law.',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(0);
}

// --- the "kernel": the test's server -------------------------------------------------------------------

/** One connection to the test's fake kernel: JSON lines, answers in order; pushes (edges) to `onPush`. */
async function connectKernel(onPush = () => {}) {
  if (!socketPath) die('FAKE_GPIO_SOCKET is not set');
  const socket = net.createConnection(socketPath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject)).catch(
    (error) => die(`cannot reach the fake kernel at ${socketPath}: ${error.message}`),
  );
  const waiting = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const message = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      if ('reply' in message) waiting.shift()?.(message.reply);
      else onPush(message);
      newline = buffer.indexOf('\n');
    }
  });
  socket.on('error', () => {});
  return {
    socket,
    ask(message) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        socket.write(`${JSON.stringify(message)}\n`);
      });
    },
  };
}

// --- chips and lines -----------------------------------------------------------------------------------

const isUint = (text) => /^\d*$/.test(text);
/** tools-common.c parse_uint(): the number, or -1. */
const parseUint = (text) => (/^\d+$/.test(text) && Number(text) <= 2 ** 31 - 1 ? Number(text) : -1);

/** v1 lib/helpers.c gpiod_chip_open_lookup(): a number, a label, a name or a /dev path. */
function lookupChipV1(chips, descr) {
  if (isUint(descr)) return chips.find((c) => c.name === `gpiochip${Number(descr)}`) ?? null;
  const byLabel = chips.find((c) => c.label === descr);
  if (byLabel) return byLabel;
  const devicePath = descr.startsWith('/dev/') ? descr : `/dev/${descr}`;
  return chips.find((c) => `/dev/${c.name}` === devicePath) ?? null;
}

/** v2 tools-common.c chip_path_lookup(): a number, a path or a name; no labels. */
function lookupChipV2(chips, id) {
  const devicePath = isUint(id) ? `/dev/gpiochip${id}` : id.includes('/') ? id : `/dev/${id}`;
  return chips.find((c) => `/dev/${c.name}` === devicePath) ?? null;
}

/** v2 tools-common.c resolve_lines() and validate_resolution(). */
function resolveLinesV2(chips, ids, chipId, byName) {
  let scope;
  if (chipId !== undefined) {
    const chip = lookupChipV2(chips, chipId);
    if (!chip) die(`cannot find GPIO chip character device '${chipId}'`);
    scope = [chip];
  } else {
    byName = true;
    scope = [...chips].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }
  const lines = ids.map((id) => ({ id, asOffset: byName ? -1 : parseUint(id), chip: null, offset: -1 }));
  scope.forEach((chip, index) => {
    if (index === 0 && chipId !== undefined && !byName)
      for (const line of lines)
        if (line.asOffset !== -1 && line.asOffset < chip.lines)
          Object.assign(line, { chip, offset: line.asOffset });
    for (let offset = 0; offset < chip.lines; offset++)
      for (const line of lines)
        if (!line.chip && chip.names[offset] && chip.names[offset] === line.id)
          Object.assign(line, { chip, offset });
  });
  let valid = true;
  lines.forEach((line, i) => {
    if (line.chip) {
      const previous = lines.slice(0, i).find((p) => p.chip === line.chip && p.offset === line.offset);
      if (previous) {
        process.stderr.write(`${argv0}: lines '${previous.id}' and '${line.id}' are the same line\n`);
        valid = false;
      }
      return;
    }
    valid = false;
    process.stderr.write(
      chipId !== undefined && line.asOffset !== -1
        ? `${argv0}: offset ${line.id} is out of range on chip '${chipId}'\n`
        : `${argv0}: cannot find line '${line.id}'\n`,
    );
  });
  if (!valid) process.exit(1);
  return lines;
}

function parseBiasV1(option) {
  if (['pull-down', 'pull-up', 'disable'].includes(option)) return option;
  if (option !== 'as-is') die(`invalid bias: ${option}`);
  return 'as-is';
}

function parseBiasV2(option) {
  if (['pull-down', 'pull-up'].includes(option)) return option;
  if (option !== 'disabled') die(`invalid bias: ${option}`);
  return 'disable';
}

/** v2 tools-common.c parse_period(), in µs (ms without a unit). */
function parsePeriodOrDie(option) {
  const match = /^(\d+)(us|ms|s|m)?$/.exec(option);
  if (!match) die(`invalid period: ${option}`);
  const unit = { us: 1, ms: 1000, s: 1_000_000, m: 60_000_000 }[match[2] ?? 'ms'];
  return Number(match[1]) * unit;
}

/** v1 strtoul(…, 10) with the whole word a number, as gpioget/gpiomon check offsets. */
function offsetsV1(words) {
  return words.map((word) => {
    if (!/^\d+$/.test(word) || Number(word) > 2 ** 31 - 1) die(`invalid GPIO offset: ${word}`);
    return Number(word);
  });
}

// --- output --------------------------------------------------------------------------------------------

/**
 * stdout as glibc's stdio has it on a pipe: fully buffered (4096 bytes) unless line-buffered. libgpiod 1.x
 * gpiomon makes it line-buffered only with --line-buffered; 2.x calls fflush() before each wait.
 */
function makeStdout(lineBuffered) {
  let pending = '';
  return {
    write(text) {
      if (lineBuffered) return void process.stdout.write(text);
      pending += text;
      while (Buffer.byteLength(pending) >= 4096) {
        const bytes = Buffer.from(pending);
        process.stdout.write(bytes.subarray(0, 4096));
        pending = bytes.subarray(4096).toString();
      }
    },
    flush() {
      if (pending) process.stdout.write(pending);
      pending = '';
    },
  };
}

/** The `--format` loop of both versions: `%x` known to the version, `%%`, a trailing `%`, others as they are. */
function formatEvent(fmt, fields) {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '%') {
      out += fmt[i];
      continue;
    }
    const spec = fmt[i + 1];
    if (spec === undefined) {
      out += '%';
      break;
    }
    if (spec === '%') out += '%';
    else if (spec in fields) out += fields[spec];
    else out += `%${spec}`;
    i++;
  }
  return `${out}\n`;
}

const splitNs = (ns) => ({ sec: ns / 1_000_000_000n, nsec: ns % 1_000_000_000n });

/** v2 print_event_time(): 0 raw `s.nnnnnnnnn`, 1 UTC, 2 local time. */
function eventTimeV2(ns, format) {
  const { sec, nsec } = splitNs(ns);
  const frac = String(nsec).padStart(9, '0');
  if (!format) return `${sec}.${frac}`;
  const date = new Date(Number(sec) * 1000);
  if (format === 1) return `${date.toISOString().slice(0, 19)}.${frac}Z`;
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return `${local.toISOString().slice(0, 19)}.${frac}`;
}

// --- the tools -----------------------------------------------------------------------------------------

async function gpiomonV1() {
  const { found, operands } = getopt(args, '+hvlB:n:srfbF:', [
    long('help', false, 'h'),
    long('version', false, 'v'),
    long('active-low', false, 'l'),
    long('bias', true, 'B'),
    long('num-events', true, 'n'),
    long('silent', false, 's'),
    long('rising-edge', false, 'r'),
    long('falling-edge', false, 'f'),
    long('line-buffered', false, 'b'),
    long('format', true, 'F'),
  ]);
  const cfg = { activeLow: false, bias: 'as-is', wanted: 0, silent: false, rising: false, falling: false };
  let lineBuffered = false;
  let fmt = null;
  for (const { key, value } of found) {
    if (key === 'h') {
      process.stdout.write(`Usage: ${argv0} [OPTIONS] <chip name/number> <offset 1> <offset 2> ...\n`);
      process.exit(0);
    } else if (key === 'v') printVersion();
    else if (key === 'l') cfg.activeLow = true;
    else if (key === 'B') cfg.bias = parseBiasV1(value);
    else if (key === 'n') {
      if (!/^\d+$/.test(value)) die(`invalid number: ${value}`);
      cfg.wanted = Number(value);
    } else if (key === 's') cfg.silent = true;
    else if (key === 'r') cfg.rising = true;
    else if (key === 'f') cfg.falling = true;
    else if (key === 'b') lineBuffered = true;
    else if (key === 'F') fmt = value;
  }
  const edges = cfg.rising && !cfg.falling ? 'rising' : cfg.falling && !cfg.rising ? 'falling' : 'both';
  if (operands.length < 1) die('gpiochip must be specified');
  if (operands.length < 2) die('at least one GPIO line offset must be specified');
  const offsets = offsetsV1(operands.slice(1));
  const out = makeStdout(lineBuffered);
  // make_signalfd(): SIGTERM and SIGINT end the loop, and main() returns 0 (stdout flushed).
  const finish = () => {
    out.flush();
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
  let done = 0;
  const kernel = await connectKernel((message) => {
    if (message.raw !== undefined) return out.write(message.raw);
    if (message.gone) {
      out.flush();
      diePerror('error waiting for events', message.gone);
    }
    if (!message.edge) return;
    const { offset, rising, ns } = message.edge;
    const { sec, nsec } = splitNs(BigInt(ns));
    if (!cfg.silent)
      out.write(
        fmt !== null
          ? formatEvent(fmt, { o: offset, e: rising ? '1' : '0', s: sec, n: nsec })
          : `event: ${rising ? ' RISING EDGE' : 'FALLING EDGE'} offset: ${offset} timestamp: [${String(sec).padStart(8)}.${String(nsec).padStart(9, '0')}]\n`,
      );
    if (cfg.wanted && ++done >= cfg.wanted) finish();
  });
  kernel.socket.on('close', () => {
    out.flush();
    diePerror('error waiting for events', 'ENODEV');
  });
  const { chips } = await kernel.ask({ op: 'chips' });
  const chip = lookupChipV1(chips, operands[0]);
  if (!chip) diePerror('error waiting for events', 'ENOENT');
  const answer = await kernel.ask({
    op: 'request',
    tool: 'gpiomon',
    pid: process.pid,
    chip: chip.name,
    offsets,
    activeLow: cfg.activeLow,
    bias: cfg.bias,
    consumer: 'gpiomon',
    edges,
    debounceUs: 0,
  });
  if (answer.error) diePerror('error waiting for events', answer.error);
}

async function gpiomonV2() {
  const { found, operands } = getopt(args, '+b:c:C:e:E:hF:ln:p:qshv', [
    long('active-low', false, 'l'),
    long('banner', false, 'banner'),
    long('bias', true, 'b'),
    long('by-name', false, 'by-name'),
    long('chip', true, 'c'),
    long('consumer', true, 'C'),
    long('debounce-period', true, 'p'),
    long('edges', true, 'e'),
    long('event-clock', true, 'E'),
    long('format', true, 'F'),
    long('help', false, 'h'),
    long('idle-timeout', true, 'idle-timeout'),
    long('localtime', false, 'localtime'),
    long('num-events', true, 'n'),
    long('quiet', false, 'q'),
    long('silent', false, 'q'),
    long('strict', false, 's'),
    long('unquoted', false, 'unquoted'),
    long('utc', false, 'utc'),
    long('version', false, 'v'),
  ]);
  const cfg = {
    activeLow: false,
    banner: false,
    bias: 'as-is',
    byName: false,
    chipId: undefined,
    consumer: 'gpiomon',
    debounceUs: 0,
    edges: 'both',
    fmt: null,
    wanted: 0,
    quiet: false,
    unquoted: false,
    timestampFmt: 0,
  };
  for (const { key, value } of found) {
    if (key === 'h') {
      process.stdout.write(`Usage: ${argv0} [OPTIONS] <line>...\n`);
      process.exit(0);
    } else if (key === 'v') printVersion();
    else if (key === 'l') cfg.activeLow = true;
    else if (key === 'banner') cfg.banner = true;
    else if (key === 'b') cfg.bias = parseBiasV2(value);
    else if (key === 'by-name') cfg.byName = true;
    else if (key === 'c') cfg.chipId = value;
    else if (key === 'C') cfg.consumer = value;
    else if (key === 'p') cfg.debounceUs = parsePeriodOrDie(value);
    else if (key === 'e') {
      if (!['rising', 'falling', 'both'].includes(value)) die(`invalid edges: ${value}`);
      cfg.edges = value;
    } else if (key === 'E') {
      if (!['realtime', 'hte', 'monotonic'].includes(value)) die(`invalid event clock: ${value}`);
      if (value !== 'monotonic') die(`the fake supports only the monotonic event clock, not ${value}`);
    } else if (key === 'F') cfg.fmt = value;
    else if (key === 'idle-timeout') parsePeriodOrDie(value);
    else if (key === 'localtime') cfg.timestampFmt = 2;
    else if (key === 'utc') cfg.timestampFmt = 1;
    else if (key === 'n') {
      if (parseUint(value) < 0) die(`invalid number: '${value}'`);
      cfg.wanted = parseUint(value);
    } else if (key === 'q') cfg.quiet = true;
    else if (key === 'unquoted') cfg.unquoted = true;
  }
  if (operands.length < 1) die('at least one GPIO line must be specified');
  if (operands.length > 64) die('too many lines given');
  if (cfg.debounceUs > 2 ** 32 - 1)
    die(`maximum debounce period is ${2 ** 32 - 1}us, got ${cfg.debounceUs}us`);
  // The fflush() before each ppoll(): every event is out before it waits again.
  let done = 0;
  let lines = [];
  const kernel = await connectKernel((message) => {
    if (message.raw !== undefined) return void process.stdout.write(message.raw);
    if (message.gone) diePerror('error reading line events', message.gone);
    if (!message.edge || cfg.quiet) return;
    const { offset, rising, ns } = message.edge;
    const line = lines.find((l) => l.offset === offset);
    const name = line?.chip.names[offset] || null;
    if (cfg.fmt !== null)
      process.stdout.write(
        formatEvent(cfg.fmt, {
          c: line?.chip.name,
          e: rising ? '1' : '2',
          E: rising ? 'rising' : 'falling',
          l: name ?? 'unnamed',
          L: eventTimeV2(BigInt(ns), 2),
          o: offset,
          S: eventTimeV2(BigInt(ns), 0),
          U: eventTimeV2(BigInt(ns), 1),
        }),
      );
    else {
      const q = cfg.unquoted ? '' : '"';
      const id = !name
        ? `${line?.chip.name} ${offset}`
        : `${cfg.chipId !== undefined ? `${line?.chip.name} ${offset} ` : ''}${q}${name}${q}`;
      process.stdout.write(
        `${eventTimeV2(BigInt(ns), cfg.timestampFmt)}\t${rising ? 'rising' : 'falling'}\t${id}\n`,
      );
    }
    if (cfg.wanted && ++done >= cfg.wanted) process.exit(0);
  });
  kernel.socket.on('close', () => diePerror('error reading line events', 'ENODEV'));
  const { chips } = await kernel.ask({ op: 'chips' });
  lines = resolveLinesV2(chips, operands, cfg.chipId, cfg.byName);
  for (const chip of new Set(lines.map((l) => l.chip))) {
    const answer = await kernel.ask({
      op: 'request',
      tool: 'gpiomon',
      pid: process.pid,
      chip: chip.name,
      offsets: lines.filter((l) => l.chip === chip).map((l) => l.offset),
      activeLow: cfg.activeLow,
      bias: cfg.bias,
      consumer: cfg.consumer,
      edges: cfg.edges,
      debounceUs: cfg.debounceUs,
    });
    if (answer.error) diePerror(`unable to request lines on chip /dev/${chip.name}`, answer.error);
  }
  if (cfg.banner)
    process.stdout.write(
      operands.length > 1
        ? `Monitoring lines ${operands
            .slice(0, -1)
            .map((l) => `'${l}'`)
            .join(', ')} and '${operands.at(-1)}'...\n`
        : `Monitoring line '${operands[0]}'...\n`,
    );
}

async function gpiogetV1() {
  const { found, operands } = getopt(args, '+hvlB:', [
    long('help', false, 'h'),
    long('version', false, 'v'),
    long('active-low', false, 'l'),
    long('bias', true, 'B'),
  ]);
  let activeLow = false;
  let bias = 'as-is';
  for (const { key, value } of found) {
    if (key === 'h') {
      process.stdout.write(`Usage: ${argv0} [OPTIONS] <chip name/number> <offset 1> <offset 2> ...\n`);
      process.exit(0);
    } else if (key === 'v') printVersion();
    else if (key === 'l') activeLow = true;
    else if (key === 'B') bias = parseBiasV1(value);
  }
  if (operands.length < 1) die('gpiochip must be specified');
  if (operands.length < 2) die('at least one GPIO line offset must be specified');
  const offsets = offsetsV1(operands.slice(1));
  const kernel = await connectKernel();
  const { chips } = await kernel.ask({ op: 'chips' });
  const chip = lookupChipV1(chips, operands[0]);
  if (!chip) diePerror('error reading GPIO values', 'ENOENT');
  const answer = await kernel.ask({
    op: 'request',
    tool: 'gpioget',
    pid: process.pid,
    chip: chip.name,
    offsets,
    activeLow,
    bias,
    consumer: 'gpioget',
    edges: null,
  });
  if (answer.error) diePerror('error reading GPIO values', answer.error);
  process.stdout.write(`${answer.values.join(' ')}\n`);
  process.exit(0);
}

async function gpiogetV2() {
  const { found, operands } = getopt(args, '+ab:c:C:hlp:sv', [
    long('active-low', false, 'l'),
    long('as-is', false, 'a'),
    long('bias', true, 'b'),
    long('by-name', false, 'by-name'),
    long('chip', true, 'c'),
    long('consumer', true, 'C'),
    long('help', false, 'h'),
    long('hold-period', true, 'p'),
    long('numeric', false, 'numeric'),
    long('strict', false, 's'),
    long('unquoted', false, 'unquoted'),
    long('version', false, 'v'),
  ]);
  const cfg = { activeLow: false, bias: 'as-is', byName: false, chipId: undefined, consumer: 'gpioget' };
  let numeric = false;
  let unquoted = false;
  for (const { key, value } of found) {
    if (key === 'h') {
      process.stdout.write(`Usage: ${argv0} [OPTIONS] <line>...\n`);
      process.exit(0);
    } else if (key === 'v') printVersion();
    else if (key === 'l') cfg.activeLow = true;
    else if (key === 'b') cfg.bias = parseBiasV2(value);
    else if (key === 'by-name') cfg.byName = true;
    else if (key === 'c') cfg.chipId = value;
    else if (key === 'C') cfg.consumer = value;
    else if (key === 'p') parsePeriodOrDie(value);
    else if (key === 'numeric') numeric = true;
    else if (key === 'unquoted') unquoted = true;
  }
  if (operands.length < 1) die('at least one GPIO line must be specified');
  const kernel = await connectKernel();
  const { chips } = await kernel.ask({ op: 'chips' });
  const lines = resolveLinesV2(chips, operands, cfg.chipId, cfg.byName);
  for (const chip of new Set(lines.map((l) => l.chip))) {
    const mine = lines.filter((l) => l.chip === chip);
    const answer = await kernel.ask({
      op: 'request',
      tool: 'gpioget',
      pid: process.pid,
      chip: chip.name,
      offsets: mine.map((l) => l.offset),
      activeLow: cfg.activeLow,
      bias: cfg.bias,
      consumer: cfg.consumer,
      edges: null,
    });
    if (answer.error) diePerror('unable to request lines', answer.error);
    mine.forEach((line, i) => {
      line.value = answer.values[i];
    });
  }
  const q = unquoted ? '' : '"';
  process.stdout.write(
    `${lines.map((l) => (numeric ? String(l.value) : `${q}${l.id}${q}=${l.value ? 'active' : 'inactive'}`)).join(' ')}\n`,
  );
  process.exit(0);
}

async function gpiofindV1() {
  const { found, operands } = getopt(args, '+hv', [long('help', false, 'h'), long('version', false, 'v')]);
  for (const { key } of found) {
    if (key === 'h') {
      process.stdout.write(`Usage: ${argv0} [OPTIONS] <name>\n`);
      process.exit(0);
    } else if (key === 'v') printVersion();
  }
  if (operands.length !== 1) die('exactly one GPIO line name must be specified');
  const kernel = await connectKernel();
  const { chips } = await kernel.ask({ op: 'chips' });
  for (const chip of [...chips].sort((a, b) => a.name.localeCompare(b.name))) {
    const offset = chip.names.indexOf(operands[0]);
    if (offset >= 0) {
      process.stdout.write(`${chip.name} ${offset}\n`);
      process.exit(0);
    }
  }
  process.exit(1); // not found: no message
}

const tools = {
  gpiomon: major >= 2 ? gpiomonV2 : gpiomonV1,
  gpioget: major >= 2 ? gpiogetV2 : gpiogetV1,
  // libgpiod 2 has no gpiofind (gpioinfo finds lines by name).
  gpiofind: major >= 2 ? null : gpiofindV1,
};
const main = tools[tool];
if (!main) {
  process.stderr.write(`fake-libgpiod: no ${tool} in libgpiod ${version}\n`);
  process.exit(127);
}
await main();
