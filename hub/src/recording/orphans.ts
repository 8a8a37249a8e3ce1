import { readdirSync, readFileSync } from 'node:fs';

/**
 * ffmpeg processes a killed hub left behind still write into staging; a new recorder for the
 * same camera would race them. Under systemd the unit's cgroup is killed whole, but `npm start`
 * and a crashed dev hub have no such net, so start-up ends any ffmpeg whose command line
 * writes into this hub's staging folder. Linux only (/proc); elsewhere it finds nothing.
 */
export function reapOrphanRecorders(stagingDir: string): number[] {
  const reaped: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return reaped;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const program = args[0]?.split('/').pop();
    if (program !== 'ffmpeg' || !args.some((arg) => arg.startsWith(`${stagingDir}/`))) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      reaped.push(Number(pid));
    } catch {
      // gone already, or not ours to kill
    }
  }
  return reaped;
}
