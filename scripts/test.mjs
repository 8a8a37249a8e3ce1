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
// Nothing the hub or its tests do may reach beyond this machine, so the tests run without a network: in a
// network namespace of their own, where this machine allows one (as root, and in CI), holding loopback and
// a stand-in LAN (a veth pair on 192.168.207.0/24 with nothing behind it, and no default route), because
// the hub's LAN features (LAN-only access, the address phones are told to reach) need an address to find.
// Otherwise on this machine's network, said here and seen by the test that checks it.
const NAMESPACE_SETUP = [
  'ip link set lo up || exit 1',
  '{ ip link add lan0 type veth peer name lan1 && ip addr add 192.168.207.2/24 dev lan0 && ip link set lan1 up && ip link set lan0 up; } 2>/dev/null',
  'exec "$@"',
].join('; ');
const isolate = (command) => ['unshare', '--net', 'sh', '-c', NAMESPACE_SETUP, 'sh', ...command];
const [probeCommand, ...probeArgs] = isolate(['true']);
const probe = spawnSync(probeCommand, probeArgs, { encoding: 'utf8' });
const network = probe.status === 0 ? 'isolated' : 'host';
console.log(
  network === 'isolated'
    ? 'tests run in a network namespace of their own: loopback and a stand-in LAN, no route out'
    : `tests run on this machine's network (no namespace: ${(probe.error?.message ?? probe.stderr).trim() || `exit ${probe.status}`})`,
);
const runner = [
  process.execPath,
  ...['--import', 'tsx', '--conditions=development', '--test', '--test-concurrency=2', ...files],
];
const command = network === 'isolated' ? isolate(runner) : runner;
const result = spawnSync(command[0], command.slice(1), {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test', TMPDIR: scratch, HEARTH_TEST_NETWORK: network },
});
const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .map((line) => line.split(' ')[4])
  .filter((point) => point?.startsWith(`${scratch}/`));
for (const point of mounted.reverse()) spawnSync('umount', ['-l', point]);
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
