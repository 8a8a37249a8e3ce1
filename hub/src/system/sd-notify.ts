import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';

/**
 * systemd's notify protocol (sd_notify(3)) for `Type=notify` units: READY=1 once the service is up,
 * STOPPING=1 when it begins to stop, STATUS= for `systemctl status`, and WATCHDOG=1 pings while it runs.
 *
 * The messages are datagrams on the unix socket named by $NOTIFY_SOCKET, which Node's `dgram` cannot
 * send; `unix-dgram` (a small native addon) does, from this very process, so the sender's pid is the
 * unit's main pid and the unit can keep `NotifyAccess=main`. (`systemd-notify` would send from a
 * short-lived child: the unit would need `NotifyAccess=all`, and systemd can drop a message whose sender
 * is gone before it is read, no longer knowing its unit.) Abstract sockets (`@name`) are out of reach: unix-dgram copies the address with strncpy,
 * so a leading NUL empties it. systemd itself always hands services a path (/run/systemd/notify).
 *
 * The pings come from a timer on the main event loop, so a loop that stays blocked stops them and
 * systemd kills and restarts the service after `WatchdogSec`.
 *
 * This module is shared with the edge-node agent (`@hearth/hub/systemd`); it imports nothing else of the hub.
 */

export interface ServiceNotifierLog {
  warn(message: string): void;
}

export interface ServiceNotifier {
  /** False when no service manager listens (no $NOTIFY_SOCKET): every call is then a no-op. */
  readonly active: boolean;
  /** Milliseconds between watchdog pings; null when systemd asked for none (or asked another pid). */
  readonly watchdogIntervalMs: number | null;
  /** READY=1 (with an optional STATUS= line); starts the watchdog pings. */
  ready(status?: string): void;
  /** A line for `systemctl status`, e.g. "Listening on http://…; recording 3 cameras". */
  status(text: string): void;
  /** STOPPING=1: the stop has begun. The pings go on, so a shutdown that hangs the loop is still caught. */
  stopping(status?: string): void;
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (error?: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/** The variables systemd sets for the main process; removed once read, so children never act as the service. */
const VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** A STATUS= value is one line. */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

export function systemdNotifier(
  options: { env?: NodeJS.ProcessEnv; pid?: number; log?: ServiceNotifierLog } = {},
): ServiceNotifier {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const log = options.log ?? { warn: (message: string) => process.emitWarning(message) };
  const [socketPath, watchdogUsec, watchdogPid] = VARIABLES.map((name) => env[name]);
  for (const name of VARIABLES) delete env[name];

  const inactive: ServiceNotifier = {
    active: false,
    watchdogIntervalMs: null,
    ready() {},
    status() {},
    stopping() {},
  };
  if (!socketPath) return inactive;
  if (socketPath.startsWith('@')) {
    log.warn(
      `NOTIFY_SOCKET ${socketPath} is an abstract socket, which unix-dgram cannot address; not notifying`,
    );
    return inactive;
  }
  let unixDgram: UnixDgram;
  try {
    unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  } catch (error) {
    log.warn(`unix-dgram did not load (${(error as Error).message}); not notifying systemd`);
    return inactive;
  }

  const usec = Number(watchdogUsec);
  const forUs = !watchdogPid || Number(watchdogPid) === pid;
  const watchdogIntervalMs =
    forUs && Number.isSafeInteger(usec) && usec > 0 ? Math.max(1, Math.floor(usec / 2000)) : null;

  // One failure per kind is worth a line; the same one every ping would only flood the journal.
  const reported = new Set<string>();
  function warnOnce(what: string) {
    if (reported.has(what)) return;
    reported.add(what);
    log.warn(`systemd notification failed: ${what}`);
  }

  // A socket per message: sending is one synchronous sendmsg, and no open handle is left to keep the
  // process alive or to close on every way out.
  function send(lines: string[]) {
    const message = Buffer.from(lines.join('\n'));
    let socket: UnixDgramSocket;
    try {
      socket = unixDgram.createSocket('unix_dgram');
    } catch (error) {
      warnOnce((error as Error).message);
      return;
    }
    socket.send(message, 0, message.length, socketPath!, (error) => {
      if (!error) return;
      const errno = (error as NodeJS.ErrnoException).errno;
      warnOnce(`${typeof errno === 'number' ? getSystemErrorName(errno) : error.message} (${socketPath})`);
    });
    try {
      socket.close();
    } catch {
      // The datagram is already sent or refused; a failed close of a datagram socket changes neither.
    }
  }

  let pings: NodeJS.Timeout | undefined;
  const withStatus = (line: string, status?: string) =>
    status === undefined ? [line] : [line, `STATUS=${oneLine(status)}`];

  return {
    active: true,
    watchdogIntervalMs,
    ready(status) {
      send(withStatus('READY=1', status));
      if (watchdogIntervalMs !== null && !pings) {
        // Unref'd: the pings never keep a process alive that has nothing else left to do.
        pings = setInterval(() => send(['WATCHDOG=1']), watchdogIntervalMs).unref();
      }
    },
    status(text) {
      send([`STATUS=${oneLine(text)}`]);
    },
    stopping(status) {
      send(withStatus('STOPPING=1', status));
    },
  };
}
