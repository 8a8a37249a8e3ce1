import { spawnSync } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Heartbeat } from '@hearth/hub/protocol';

async function disk(dir: string | null) {
  if (!dir) return null;
  try {
    const stats = await statfs(dir);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  } catch {
    return null; // a NAS that is not mounted: reported as null, not as an error
  }
}

async function cpuTemperature(): Promise<number | null> {
  try {
    const milli = Number((await readFile('/sys/class/thermal/thermal_zone0/temp', 'utf8')).trim());
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : null;
  } catch {
    return null;
  }
}

async function availableMemory(): Promise<number> {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

/** systemd's view of NTP (chrony on the Pi, pointed at the hub): null where it cannot say. */
function clockSynced(): boolean | null {
  const run = spawnSync('timedatectl', ['show', '--property=NTPSynchronized', '--value'], {
    encoding: 'utf8',
    timeout: 2000,
  });
  if (run.status !== 0) return null;
  const answer = run.stdout.trim();
  return answer === 'yes' ? true : answer === 'no' ? false : null;
}

/** The machine's side of a heartbeat; the agent adds sensors, cameras and the outbox. */
export async function machineHealth(stateDir: string, nasDir: string | null) {
  return {
    uptimeSeconds: Math.round(os.uptime()),
    cpuTemperatureC: await cpuTemperature(),
    load1: Math.round(os.loadavg()[0]! * 100) / 100,
    memory: { totalBytes: os.totalmem(), availableBytes: await availableMemory() },
    disks: { state: (await disk(stateDir)) ?? { freeBytes: 0, totalBytes: 0 }, nas: await disk(nasDir) },
    clockSynced: clockSynced(),
  } satisfies Omit<Heartbeat, 'version' | 'sensors' | 'cameras' | 'outbox'>;
}
