// The installer scripts against throwaway roots (`--root`): the files, modes, owners, users and unit
// links they make, that a second run changes nothing, removal, and update.sh's swap and rollback with
// a stand-in for systemctl that runs the root's hub as a plain process answering real HTTP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../hub/src/testing/wait.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const needs = !isRoot
  ? 'the scripts create users and chown files: run as root'
  : !has('systemd-escape') || !has('systemctl')
    ? 'systemd-escape and systemctl are missing (package systemd)'
    : false;

const MOUNT_UNIT = 'mnt-hearth\\x2dnas.mount';
const AUTOMOUNT_UNIT = 'mnt-hearth\\x2dnas.automount';

let work: string;
before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'hearth-setup-'));
  // The scripts run the backup as the root's hearth user (uid ~999): it must be able to reach the tree.
  for (let dir = work; dir !== path.dirname(dir); dir = path.dirname(dir))
    chmodSync(dir, statSync(dir).mode | 0o011);
});
after(() => rmSync(work, { recursive: true, force: true }));

let counter = 0;
function fresh(name: string): string {
  const dir = path.join(work, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function seedRoot(
  codename = 'trixie',
  groups = ['video:x:44:', 'dialout:x:20:', 'bluetooth:x:112:'],
): string {
  const root = fresh('root');
  mkdirSync(path.join(root, 'etc'));
  const version = { trixie: '13', bookworm: '12' }[codename] ?? '13';
  writeFileSync(
    path.join(root, 'etc/os-release'),
    `PRETTY_NAME="Debian"\nID=debian\nVERSION_ID="${version}"\nVERSION_CODENAME=${codename}\n`,
  );
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(path.join(root, 'etc/group'), `root:x:0:\n${groups.join('\n')}\n`);
  return root;
}

/**
 * A built-looking source tree: the real scripts and units, and a tiny app whose hub serves /api/health
 * (or exits at once when `broken`) and whose `hearth backup` writes a file (or fails when asked).
 */
function sourceTree(version: string, options: { broken?: boolean } = {}): string {
  const tree = fresh(`tree-${version}`);
  cpSync(path.join(repo, 'scripts'), path.join(tree, 'scripts'), {
    recursive: true,
    filter: (file) => !file.endsWith('.test.ts'),
  });
  cpSync(path.join(repo, 'systemd'), path.join(tree, 'systemd'), { recursive: true });
  if (!existsSync(path.join(tree, 'systemd/hearth-node.service')))
    writeFileSync(
      path.join(tree, 'systemd/hearth-node.service'),
      '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
    );
  writeFileSync(path.join(tree, 'package.json'), '{ "name": "hearth", "type": "module" }\n');
  mkdirSync(path.join(tree, 'hub/dist'), { recursive: true });
  mkdirSync(path.join(tree, 'hub/bin'), { recursive: true });
  writeFileSync(
    path.join(tree, 'hub/dist/main.js'),
    options.broken
      ? `console.error('migration 0042 failed'); process.exit(1);\n`
      : `import http from 'node:http';
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(req.url === '/api/health' ? { status: 'ok', version: ${JSON.stringify(version)} } : {}));
}).listen(Number(process.env.HEARTH_PORT), '127.0.0.1');
`,
  );
  writeFileSync(
    path.join(tree, 'hub/bin/hearth.js'),
    `import { mkdirSync, writeFileSync } from 'node:fs';
if (process.argv[2] !== 'backup' || process.env.FAKE_BACKUP_FAIL) {
  console.error('backup: no space left on device');
  process.exit(1);
}
mkdirSync(process.env.HEARTH_DATA_DIR + '/backups', { recursive: true });
writeFileSync(process.env.HEARTH_DATA_DIR + '/backups/hearth-${version}.tar', 'backup');
console.log('backup written');
`,
  );
  return tree;
}

function run(tree: string, script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('bash', [path.join(tree, 'scripts', script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/** Every path under a root with its type, mode, owner, mtime and content hash (or link target). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const info = lstatSync(full);
      const rel = path.relative(root, full);
      const what = info.isSymbolicLink()
        ? `-> ${readlinkSync(full)}`
        : info.isFile()
          ? createHash('sha256').update(readFileSync(full)).digest('hex')
          : 'dir';
      out.set(rel, `${info.mode.toString(8)} ${info.uid}:${info.gid} ${info.mtimeMs} ${what}`);
      if (info.isDirectory() && !info.isSymbolicLink()) walk(full);
    }
  };
  walk(root);
  return out;
}

function idsOf(root: string, name: string) {
  const line = readFileSync(path.join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid, , home, shell] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), home, shell };
}

function modeOf(file: string) {
  const info = statSync(file);
  return { mode: (info.mode & 0o7777).toString(8), uid: info.uid, gid: info.gid };
}

/** Exists, without following symbolic links (unit links in a root point at paths inside it, not here). */
const present = (file: string) => lstatSync(file, { throwIfNoEntry: false }) !== undefined;

const read = (root: string, rel: string) => readFileSync(path.join(root, rel), 'utf8');

test('shellcheck passes on every script', {
  skip: has('shellcheck') ? false : 'shellcheck is not installed',
}, () => {
  const files = ['setup.sh', 'setup-node.sh', 'update.sh', 'lib/common.sh', 'lib/nas.sh', 'setup/hearth'];
  const result = spawnSync('shellcheck', ['-x', ...files], {
    cwd: path.join(repo, 'scripts'),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

describe('setup.sh', { skip: needs }, () => {
  test('--dry-run prints every action and writes nothing', () => {
    const tree = sourceTree('a');
    const root = seedRoot();
    const before = snapshot(root);
    const { code, out } = run(tree, 'setup.sh', [
      '--root',
      root,
      '--dry-run',
      '--prebuilt',
      '--nas-source',
      'nas.local:/export/hearth',
    ]);
    assert.equal(code, 0, out);
    for (const line of [
      'would: create system user hearth',
      'would: add hearth to group video',
      'would: create /var/lib/hearth (0700 hearth:hearth)',
      'would: build the app from',
      'would: write /etc/hearth/hearth.env (0640 root:hearth)',
      'would: write /etc/systemd/system/hearth-hub.service',
      'would: write /etc/avahi/services/hearth.service',
      'would: write /etc/chrony/conf.d/hearth.conf',
      `would: write /etc/systemd/system/${MOUNT_UNIT}`,
      `would: enable ${AUTOMOUNT_UNIT}`,
      'would: enable hearth-hub.service',
      'would run: systemctl restart hearth-hub.service',
      'nothing was changed',
    ])
      assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    assert.deepEqual(snapshot(root), before);
  });

  test('a run against a throwaway root installs everything; a second changes nothing; uninstall and purge', (t) => {
    const tree = sourceTree('a');
    const root = seedRoot();
    // A tmpfs at the mount point plays the mounted NAS, so the marker gets written.
    const nas = path.join(root, 'mnt/hearth-nas');
    mkdirSync(nas, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', nas]).status === 0;
    t.after(() => mounted && spawnSync('umount', ['-l', nas]));
    const args = [
      '--root',
      root,
      '--prebuilt',
      '--staging',
      'tmpfs',
      '--nas-source',
      'nas.local:/export/hearth',
    ];

    const first = run(tree, 'setup.sh', args);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /group gpio does not exist here: skipped/);

    const hearth = idsOf(root, 'hearth');
    assert.ok(hearth, 'hearth user created');
    assert.equal(hearth.shell, '/usr/sbin/nologin');
    assert.equal(hearth.home, '/var/lib/hearth');
    const groups = read(root, 'etc/group');
    for (const group of ['video', 'dialout', 'bluetooth'])
      assert.match(groups, new RegExp(`^${group}:x:\\d+:hearth$`, 'm'));

    assert.deepEqual(modeOf(path.join(root, 'var/lib/hearth')), {
      mode: '700',
      uid: hearth.uid,
      gid: hearth.gid,
    });
    assert.deepEqual(modeOf(path.join(root, 'etc/hearth')), { mode: '750', uid: 0, gid: hearth.gid });
    for (const file of ['hearth.env', 'config.json'])
      assert.deepEqual(modeOf(path.join(root, 'etc/hearth', file)), { mode: '640', uid: 0, gid: hearth.gid });
    assert.equal(
      read(root, 'etc/hearth/hearth.env').replace(/^#.*\n/gm, ''),
      'HEARTH_PORT=8080\nHEARTH_HTTPS_PORT=8443\nHEARTH_DATA_DIR=/var/lib/hearth\nHEARTH_NAS_DIR=/mnt/hearth-nas\nHEARTH_CONFIG=/etc/hearth/config.json\n',
    );
    assert.deepEqual(JSON.parse(read(root, 'etc/hearth/config.json')), {
      storage: { stagingDir: '/run/hearth/staging' },
      // Nightly backups come from hearth-backup.timer; the hub must not take a second one.
      backup: { schedule: 'timer' },
    });

    const units = 'etc/systemd/system';
    assert.equal(read(root, `${units}/hearth-hub.service`), read(repo, 'systemd/hearth-hub.service'));
    assert.ok(!present(path.join(root, units, 'hearth-node.service')), 'the node unit stays off the hub');
    assert.match(read(root, `${units}/hearth-hub.service.d/setup.conf`), /^RuntimeDirectory=hearth$/m);
    assert.equal(
      readlinkSync(path.join(root, units, 'multi-user.target.wants/hearth-hub.service')),
      '/etc/systemd/system/hearth-hub.service',
    );

    // `sudo hearth …` on the appliance: the maintenance command with the hub's settings.
    assert.equal(read(root, 'usr/local/bin/hearth'), read(repo, 'scripts/setup/hearth'));
    assert.equal(statSync(path.join(root, 'usr/local/bin/hearth')).mode & 0o777, 0o755);

    const avahi = read(root, 'etc/avahi/services/hearth.service');
    assert.match(avahi, /<type>_http\._tcp<\/type>\s*<port>8080<\/port>/);
    assert.match(avahi, /<type>_https\._tcp<\/type>\s*<port>8443<\/port>/);
    const chrony = read(root, 'etc/chrony/conf.d/hearth.conf');
    assert.match(chrony, /^local stratum 10$/m);
    assert.match(chrony, /^allow 192\.168\.0\.0\/16$/m);

    const mount = read(root, `${units}/${MOUNT_UNIT}`);
    assert.match(mount, /^What=nas\.local:\/export\/hearth$/m);
    assert.match(mount, /^Where=\/mnt\/hearth-nas$/m);
    assert.match(mount, /^Type=nfs$/m);
    assert.match(mount, /^Options=soft,timeo=150,retrans=3,_netdev,nofail$/m);
    assert.match(mount, /^TimeoutSec=30$/m);
    assert.match(read(root, `${units}/${AUTOMOUNT_UNIT}`), /^Where=\/mnt\/hearth-nas$/m);
    assert.ok(present(path.join(root, units, 'remote-fs.target.wants', AUTOMOUNT_UNIT)));
    const allUnits = readdirSync(path.join(root, units))
      .filter((name) => name.includes('.'))
      .map((name) => {
        const file = path.join(root, units, name);
        return statSync(file).isFile() ? readFileSync(file, 'utf8') : '';
      })
      .join('\n');
    assert.doesNotMatch(allUnits, /^RequiresMountsFor=/m);

    if (mounted) {
      const marker = path.join(nas, '.hearth-nas');
      assert.equal(statSync(marker).uid, hearth.uid, 'the marker is written as the hearth user');
      assert.equal(JSON.parse(readFileSync(marker, 'utf8')).createdBy, 'hearth-setup');
    }
    assert.match(read(root, 'opt/hearth/.hearth-build'), /^stamp=[0-9a-f]{16}$/m);
    assert.ok(present(path.join(root, 'opt/hearth/hub/dist/main.js')));

    const before = snapshot(root);
    const second = run(tree, 'setup.sh', args);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /nothing to change/);
    assert.doesNotMatch(second.out, /done:/);
    assert.deepEqual(snapshot(root), before, 'a second run leaves every file byte-identical, mtimes too');

    const removed = run(tree, 'setup.sh', ['--root', root, '--uninstall']);
    assert.equal(removed.code, 0, removed.out);
    for (const gone of [
      `${units}/hearth-hub.service`,
      `${units}/hearth-hub.service.d`,
      `${units}/${MOUNT_UNIT}`,
      `${units}/${AUTOMOUNT_UNIT}`,
      `${units}/multi-user.target.wants/hearth-hub.service`,
      'etc/avahi/services/hearth.service',
      'etc/chrony/conf.d/hearth.conf',
      'opt/hearth',
      'usr/local/bin/hearth',
    ])
      assert.ok(!present(path.join(root, gone)), `${gone} removed`);
    for (const kept of ['var/lib/hearth', 'etc/hearth/hearth.env'])
      assert.ok(present(path.join(root, kept)), `${kept} kept`);
    assert.ok(idsOf(root, 'hearth'), 'the user stays without --purge');
    assert.match(run(tree, 'setup.sh', ['--root', root, '--uninstall']).out, /nothing to change/);

    const purged = run(tree, 'setup.sh', ['--root', root, '--purge']);
    assert.equal(purged.code, 0, purged.out);
    assert.ok(!present(path.join(root, 'var/lib/hearth')));
    assert.ok(!present(path.join(root, 'etc/hearth')));
    assert.equal(idsOf(root, 'hearth'), undefined);
    if (mounted) assert.ok(existsSync(path.join(nas, '.hearth-nas')), 'nothing on the NAS is touched');
  });

  test('bookworm is refused without --nodesource, and gets NodeSource with it', () => {
    const tree = sourceTree('a');
    const root = seedRoot('bookworm');
    const before = snapshot(root);
    const refused = run(tree, 'setup.sh', ['--root', root, '--prebuilt']);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /bookworm ships Node\.js 18/);
    assert.match(refused.out, /--nodesource/);
    assert.deepEqual(snapshot(root), before, 'a refusal changes nothing');

    const accepted = run(tree, 'setup.sh', ['--root', root, '--prebuilt', '--nodesource']);
    assert.equal(accepted.code, 0, accepted.out);
    assert.match(
      read(root, 'etc/apt/sources.list.d/nodesource.sources'),
      /^URIs: https:\/\/deb\.nodesource\.com\/node_\d+\.x$/m,
    );
    assert.match(read(root, 'etc/apt/preferences.d/nodesource'), /^Pin: origin deb\.nodesource\.com$/m);
    assert.match(
      accepted.out,
      /root mode, not installing packages: nodejs ffmpeg/,
      'NodeSource’s nodejs carries npm',
    );
  });

  test('CIFS: credentials in a 0600 file, never on the command line or in the output; port 80 gets the capability', () => {
    const tree = sourceTree('a');
    const root = seedRoot();
    const { code, out } = run(
      tree,
      'setup.sh',
      [
        '--root',
        root,
        '--prebuilt',
        '--port',
        '80',
        '--nas-source',
        '//nas.local/hearth',
        '--nas-user',
        'bob',
      ],
      { HEARTH_NAS_PASSWORD: 's3cret-pw' },
    );
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /s3cret-pw/);
    const credentials = path.join(root, 'etc/hearth/nas-credentials');
    assert.deepEqual(modeOf(credentials), { mode: '600', uid: 0, gid: 0 });
    assert.equal(readFileSync(credentials, 'utf8'), 'username=bob\npassword=s3cret-pw\n');
    const mount = read(root, `etc/systemd/system/${MOUNT_UNIT}`);
    assert.match(mount, /^What=\/\/nas\.local\/hearth$/m);
    assert.match(mount, /^Type=cifs$/m);
    assert.match(
      mount,
      /^Options=credentials=\/etc\/hearth\/nas-credentials,uid=hearth,gid=hearth,.*nofail$/m,
    );
    assert.match(
      read(root, 'etc/systemd/system/hearth-hub.service.d/setup.conf'),
      /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m,
    );
    // A later run without --port keeps the port chosen.
    const again = run(tree, 'setup.sh', ['--root', root, '--prebuilt']);
    assert.match(again.out, /nothing to change/, again.out);
    assert.match(read(root, 'etc/hearth/hearth.env'), /^HEARTH_PORT=80$/m);
  });
});

describe('setup-node.sh', { skip: needs }, () => {
  test('points chrony at the hub, records the NAS, enables the agent only once enrolled', () => {
    const tree = sourceTree('a');
    const root = seedRoot('trixie', ['video:x:44:', 'dialout:x:20:', 'gpio:x:997:']);
    const args = [
      '--root',
      root,
      '--prebuilt',
      '--hub',
      'http://hearth.local:8080',
      '--nas-source',
      'nas:/x',
    ];
    const first = run(tree, 'setup-node.sh', args);
    assert.equal(first.code, 0, first.out);
    assert.match(read(root, 'etc/chrony/conf.d/hearth-node.conf'), /^server hearth\.local iburst prefer$/m);
    const hearth = idsOf(root, 'hearth');
    assert.ok(hearth);
    assert.match(read(root, 'etc/group'), /^gpio:x:997:hearth$/m);
    const config = path.join(root, 'var/lib/hearth-node/config.json');
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { nasDir: '/mnt/hearth-nas' });
    assert.deepEqual(modeOf(config), { mode: '600', uid: hearth.uid, gid: hearth.gid });
    assert.ok(present(path.join(root, 'etc/systemd/system/hearth-node.service')));
    assert.ok(!present(path.join(root, 'etc/systemd/system/hearth-hub.service')));
    assert.ok(!present(path.join(root, 'etc/systemd/system/multi-user.target.wants/hearth-node.service')));
    assert.match(first.out, /not enrolled yet/);

    // An operator's own keys survive; the enrolment (node.json) lets the unit be enabled.
    writeFileSync(config, `${JSON.stringify({ nasDir: '/mnt/hearth-nas', sensors: [] }, null, 2)}\n`);
    writeFileSync(path.join(root, 'var/lib/hearth-node/node.json'), '{}\n');
    const second = run(tree, 'setup-node.sh', args);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /enrolled already/);
    assert.ok(
      present(path.join(root, 'etc/systemd/system/multi-user.target.wants/hearth-node.service')),
      second.out,
    );
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { nasDir: '/mnt/hearth-nas', sensors: [] });

    const before = snapshot(root);
    assert.match(run(tree, 'setup-node.sh', args).out, /nothing to change/);
    assert.deepEqual(snapshot(root), before);

    assert.equal(run(tree, 'setup-node.sh', ['--root', root, '--hub', 'ftp://x']).code, 1);
  });
});

describe('update.sh', { skip: needs }, () => {
  async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  const waitForHealth = (port: number) => waitFor(`the hub on port ${port}`, () => health(port), 10_000, 100);

  async function health(port: number): Promise<string | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`);
      return ((await response.json()) as { version: string }).version;
    } catch {
      return undefined;
    }
  }

  test('backs up, swaps, and rolls back a build that does not start; a failed backup changes nothing', async (t) => {
    const root = seedRoot();
    const port = await freePort();
    const state = fresh('systemctl');
    const systemctl = path.join(state, 'systemctl');
    // Stands in for systemd: `start` runs the root's hub as a plain process, `is-active` asks whether it lives.
    writeFileSync(
      systemctl,
      `#!/usr/bin/env bash
state=${JSON.stringify(state)} root=${JSON.stringify(root)}
pid() { cat "$state/pid" 2>/dev/null; }
alive() { local p; p=$(pid) && [ -n "$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ]; }
stop() { if alive; then kill "$(pid)"; for _ in $(seq 100); do alive || break; sleep 0.05; done; fi; rm -f "$state/pid"; }
args=(); for a in "$@"; do [ "$a" = --quiet ] || args+=("$a"); done
echo "\${args[*]}" >>"$state/calls"
case \${args[0]} in
  stop) stop ;;
  start | restart) stop; (set -a; . "$root/etc/hearth/hearth.env"; exec node "$root/opt/hearth/hub/dist/main.js") </dev/null >>"$state/log" 2>&1 & echo $! >"$state/pid" ;;
  is-active) alive ;;
esac
`,
    );
    chmodSync(systemctl, 0o755);
    const env = { HEARTH_SYSTEMCTL: systemctl };
    t.after(() => {
      const pid = existsSync(path.join(state, 'pid')) ? Number(read(state, 'pid')) : 0;
      if (pid) spawnSync('kill', [String(pid)]);
    });

    const installed = run(
      sourceTree('one'),
      'setup.sh',
      ['--root', root, '--prebuilt', '--port', String(port)],
      env,
    );
    assert.equal(installed.code, 0, installed.out);
    assert.equal(await waitForHealth(port), 'one');
    const stampOne = read(root, 'opt/hearth/.hearth-build');

    const failedBackup = run(
      sourceTree('two'),
      'update.sh',
      ['--root', root, '--prebuilt', '--timeout', '10'],
      {
        ...env,
        FAKE_BACKUP_FAIL: '1',
      },
    );
    assert.equal(failedBackup.code, 1, failedBackup.out);
    assert.match(failedBackup.out, /backup: no space left on device/);
    assert.match(failedBackup.out, /the backup failed \(above\), so nothing was changed/);
    assert.equal(read(root, 'opt/hearth/.hearth-build'), stampOne);
    assert.ok(!present(path.join(root, 'opt/hearth.new')));
    assert.equal(await waitForHealth(port), 'one', 'the old build runs again');

    const broken = run(
      sourceTree('three', { broken: true }),
      'update.sh',
      ['--root', root, '--prebuilt', '--timeout', '3'],
      env,
    );
    assert.equal(broken.code, 1, broken.out);
    assert.match(broken.out, /rolling back/);
    assert.match(broken.out, /upgrade failed and was rolled back/);
    assert.equal(read(root, 'opt/hearth/.hearth-build'), stampOne);
    assert.ok(present(path.join(root, 'opt/hearth.failed/hub/dist/main.js')));
    assert.equal(await waitForHealth(port), 'one');
    assert.ok(present(path.join(root, 'var/lib/hearth/backups/hearth-one.tar')), 'backed up before the swap');

    const good = run(sourceTree('four'), 'update.sh', ['--root', root, '--prebuilt', '--timeout', '20'], env);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /answers ok/);
    assert.equal(await health(port), 'four');
    assert.equal(read(root, 'opt/hearth.prev/.hearth-build'), stampOne);
    assert.match(
      run(sourceTree('four'), 'update.sh', ['--root', root, '--prebuilt'], env).out,
      /nothing to do/,
    );
  });

  test('--dry-run names every step and changes nothing', () => {
    const root = seedRoot();
    assert.equal(run(sourceTree('one'), 'setup.sh', ['--root', root, '--prebuilt']).code, 0);
    const before = snapshot(root);
    const { code, out } = run(sourceTree('two'), 'update.sh', ['--root', root, '--prebuilt', '--dry-run']);
    assert.equal(code, 0, out);
    for (const line of [
      'would: build the app',
      'would run: systemctl stop hearth-hub.service',
      'would run: node /opt/hearth/hub/bin/hearth.js backup',
      'would: move /opt/hearth to /opt/hearth.prev',
      'would run: systemctl start hearth-hub.service',
    ])
      assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    assert.deepEqual(snapshot(root), before);
  });
});
