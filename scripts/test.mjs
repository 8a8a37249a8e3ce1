#!/usr/bin/env node
// `npm test`: brings the build up to date (some tests run the compiled hub as a real process,
// as production does), then runs every workspace's tests with Node's own runner on the sources.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

function testFiles(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(relative));
    else if (/\.test\.ts$/.test(entry.name)) out.push(relative);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = ['hub/src', 'node/src', 'ui/src', 'ui/e2e', 'firmware/test', 'scripts', 'systemd']
  .flatMap(testFiles)
  .sort();
if (filter.length) files = files.filter((file) => filter.some((part) => file.includes(part)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Every test's temporary folders (data dirs, fake NAS folders, browser profiles) go under one folder
// that is removed afterwards, so repeated runs never fill the disk. Mounts a test left behind are
// detached (lazily, so a hung one cannot block) before anything is deleted.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'hearth-tests-'));
// Like /tmp itself, passable by other users: tests that drop to the hub's own user (`hearth doctor` as
// root switches to the data folder's owner; the installer writes the NAS marker as `hearth`) must reach
// their folders inside it.
chmodSync(scratch, 0o755);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--conditions=development', '--test', '--test-concurrency=2', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', TMPDIR: scratch } },
);
const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .map((line) => line.split(' ')[4])
  .filter((point) => point?.startsWith(`${scratch}/`));
for (const point of mounted.reverse()) spawnSync('umount', ['-l', point]);
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
