import { spawnSync } from 'node:child_process';

/**
 * The running tunnel, through wireguard-tools. Keys are made in-process (keys.ts), so `wg` is needed only
 * when the interface is up; without it (or without the interface) every change waits for the next start.
 */
function run(command: string, args: string[], input?: Buffer) {
  return spawnSync(command, args, { input, timeout: 10_000, maxBuffer: 1024 * 1024 });
}

export function interfaceUp(name: string): boolean {
  return run('wg', ['show', name]).status === 0;
}

/**
 * `wg syncconf NAME <(wg-quick strip FILE)`, as WireGuard documents it: peers added or removed change, the
 * others keep their sessions. The strip runs first on its own (in the one-liner its failure would reach
 * wg as an empty configuration, dropping every peer); bash's `<(cat)` then hands the text over as a pipe,
 * which wg can open where Node's stdin, a socket, cannot be. Throws with the tools' own words.
 */
export function applyLive(name: string, file: string): void {
  const stripped = run('wg-quick', ['strip', file]);
  if (stripped.status !== 0 || !stripped.stdout.length)
    throw new Error(`wg-quick strip: ${commandError(stripped)}`);
  const synced = run('bash', ['-c', 'wg syncconf "$1" <(cat)', 'bash', name], stripped.stdout);
  if (synced.status !== 0) throw new Error(`wg syncconf: ${commandError(synced)}`);
}

/** Seconds since the epoch of each peer's latest handshake (0: never), by public key; empty when down. */
export function latestHandshakes(name: string): Map<string, number> {
  const shown = run('wg', ['show', name, 'latest-handshakes']);
  const result = new Map<string, number>();
  if (shown.status !== 0) return result;
  for (const line of shown.stdout.toString().split('\n')) {
    const [key, seconds] = line.split('\t');
    if (key && seconds) result.set(key, Number(seconds));
  }
  return result;
}

function commandError(result: ReturnType<typeof run>): string {
  if (result.error) return result.error.message;
  return result.stderr.toString().trim() || `exit ${result.status}`;
}
