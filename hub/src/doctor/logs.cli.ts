import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { prettyFactory } from 'pino-pretty';
import { type Command, UsageError } from '../cli/command.js';
import { parsedOrUsage } from './doctor.cli.js';

const USAGE = 'hearth logs [-f] [-n N] [--since TIME] [--unit hearth-hub|hearth-node]';
/** Without -n or --since, journalctl would print every line the journal still holds. */
const DEFAULT_LINES = '200';

/** A pino line (the hub's and the node's logs) pretty-printed; anything else exactly as it came. */
export function prettyLine(line: string, pretty: (input: object) => string): string {
  if (line.startsWith('{')) {
    try {
      const entry = JSON.parse(line) as unknown;
      if (entry && typeof entry === 'object' && 'level' in entry) return pretty(entry);
    } catch {
      // Not JSON after all: shown as it is.
    }
  }
  return `${line}\n`;
}

/** `hearth logs`: `journalctl -u hearth-hub -o cat` with the JSON lines made readable. */
export const logsCommand: Command = async (argv) => {
  const { values } = parsedOrUsage(
    () =>
      parseArgs({
        args: argv,
        options: {
          follow: { type: 'boolean', short: 'f' },
          lines: { type: 'string', short: 'n' },
          since: { type: 'string' },
          unit: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const unit = values.unit ?? 'hearth-hub';
  if (!/^[A-Za-z0-9][A-Za-z0-9@._:-]*$/.test(unit))
    throw new UsageError(`--unit: not a unit name (${USAGE})`);
  if (values.lines !== undefined && !/^(\d+|all)$/.test(values.lines))
    throw new UsageError(`-n takes a number of lines or "all" (${USAGE})`);
  const args = ['-u', unit, '-o', 'cat', '--no-pager'];
  if (values.follow) args.push('-f');
  const lines = values.lines ?? (values.since ? undefined : DEFAULT_LINES);
  if (lines) args.push('-n', lines);
  if (values.since) args.push('--since', values.since);

  const pretty = prettyFactory({
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  const child = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<NodeJS.ErrnoException | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  const failure = await started;
  if (failure) {
    console.error(
      failure.code === 'ENOENT'
        ? 'hearth: journalctl not found: `hearth logs` reads the systemd journal. Without systemd the hub logs JSON to its standard output (e.g. `npm start`).'
        : `hearth: cannot run journalctl: ${failure.message}`,
    );
    return 1;
  }
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
  let readerGone = false;
  // `hearth logs | head`: the reader went away; stop journalctl and end quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    readerGone = true;
    child.kill();
  });
  for await (const line of createInterface({ input: child.stdout!, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (readerGone) break;
    if (!process.stdout.write(prettyLine(line, pretty)))
      await new Promise((resolve) => {
        process.stdout.once('drain', resolve);
        process.stdout.once('error', resolve);
      });
  }
  const code = await exited;
  return readerGone ? 0 : code;
};
