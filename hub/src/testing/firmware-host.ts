import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './spawn-hub.js';

export const FIRMWARE_HOST_DIR = path.join(REPO_ROOT, 'firmware', 'test', 'host');

/**
 * Builds (or runs) a target of the firmware core's host Makefile. Test files run two at a time and
 * several of them need the core; one lock keeps two makes from writing the same object file at once.
 */
export function makeFirmwareHost(target: string) {
  const run = spawnSync(
    'flock',
    [path.join(FIRMWARE_HOST_DIR, '.build.lock'), 'make', '-C', FIRMWARE_HOST_DIR, '-j2', target],
    { encoding: 'utf8' },
  );
  return { status: run.status, output: `${run.stdout}\n${run.stderr}`, error: run.error };
}

/** Path of a program the host Makefile builds (`build/ble-engine`…), built if stale. */
export function firmwareHostProgram(name: string): string {
  const built = makeFirmwareHost(`build/${name}`);
  if (built.status !== 0) throw new Error(`building ${name} failed:\n${built.output.slice(-4000)}`);
  return path.join(FIRMWARE_HOST_DIR, 'build', name);
}
