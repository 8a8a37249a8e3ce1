/**
 * `hearth remote …` through the compiled CLI (needs `npm run build -w hub`), writing under a temporary
 * `--root`. wireguard-tools judge the files: `wg-quick strip` (the wg-quick layer), `wg pubkey` (keys), and
 * `wg setconf|showconf|syncconf|show` against a fake userspace interface (fixtures/fake-wg-device.ts: the real `wg`
 * parses everything, no kernel module, no network change). zbarimg (zbar-tools) decodes the QR code.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, mock, test } from 'node:test';
import { promisify } from 'node:util';
import QRCode from 'qrcode';
import { UsageError } from '../cli/command.js';
import { HEARTH_BIN, runCli, tempDir } from '../testing/spawn-hub.js';
import { type FakeWgDevice, startFakeWgDevice } from './fixtures/fake-wg-device.js';
import { QR_OPTIONS, remoteCommand } from './remote.cli.js';

const run = promisify(execFile);
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const NO_WG = has('wg') && has('wg-quick') ? false : 'wireguard-tools (wg, wg-quick) is not installed';
const NO_ZBAR = has('zbarimg') ? false : 'zbarimg (zbar-tools) is not installed';

// Made before the tests are declared: whether it exists decides which of them run.
const device: FakeWgDevice | null = NO_WG ? null : await startFakeWgDevice(`hthd${process.pid % 100000}`);
after(async () => {
  await device?.close();
});

/** No such interface: the command finds the tunnel stopped. Children inherit it through runCli. */
process.env.HEARTH_WG_INTERFACE = `htho${process.pid % 100000}`;

function setup(interfaceName = process.env.HEARTH_WG_INTERFACE!) {
  const root = tempDir('hearth-remote-');
  const dir = path.join(root, 'etc', 'wireguard');
  const cli = (...args: string[]) =>
    runCli(['remote', ...args, '--root', root], {
      dataDir: root,
      env: { HEARTH_WG_INTERFACE: interfaceName },
    });
  /**
   * Refusals, in this process: they end before any `wg` runs, and each CLI start costs about a second.
   * A UsageError is what main.ts turns into exit 64 with the usage text.
   */
  const direct = async (...args: string[]) => {
    const errors = mock.method(console, 'error', () => {});
    const logs = mock.method(console, 'log', () => {});
    const outer = process.env.HEARTH_WG_INTERFACE;
    process.env.HEARTH_WG_INTERFACE = interfaceName;
    try {
      const code = await remoteCommand([...args, '--root', root]);
      const text = (calls: typeof logs.mock.calls) =>
        calls.map((call) => `${call.arguments.join(' ')}\n`).join('');
      return { code, stdout: text(logs.mock.calls), stderr: text(errors.mock.calls) };
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return { code: 64, stdout: '', stderr: error.message };
    } finally {
      errors.mock.restore();
      logs.mock.restore();
      process.env.HEARTH_WG_INTERFACE = outer;
    }
  };
  return {
    root,
    cli,
    direct,
    conf: path.join(dir, `${interfaceName}.conf`),
    state: path.join(dir, `${interfaceName}.json`),
    dir,
  };
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** `Key = value` pairs of one kind of section, in order, as wg reads them. */
function sections(text: string, kind: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  let current: Record<string, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.split('#')[0]!.trim();
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = header[1] === kind ? {} : null;
      if (current) found.push(current);
    } else if (current && line.includes('=')) {
      const at = line.indexOf('=');
      current[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return found;
}

function wgPubkey(privateKey: string): string {
  return execFileSync('wg', ['pubkey'], { input: `${privateKey}\n` })
    .toString()
    .trim();
}

/** wg-quick insists on `<interface>.conf` and 0600; writes the text so and returns the stripped part. */
function wgQuickStrip(text: string, name: string): string {
  const file = path.join(tempDir('hearth-wgq-'), `${name}.conf`);
  writeFileSync(file, text, { mode: 0o600 });
  const result = spawnSync('wg-quick', ['strip', file]);
  assert.equal(result.status, 0, result.stderr.toString());
  assert.doesNotMatch(result.stderr.toString(), /Warning/);
  return result.stdout.toString();
}

/** Through the fake interface: `wg setconf` parses and sends it, `wg showconf` prints what was applied. */
async function wgRoundTrip(stripped: string): Promise<string> {
  const file = path.join(tempDir('hearth-wgs-'), 'wg.conf');
  writeFileSync(file, stripped, { mode: 0o600 });
  await run('wg', ['setconf', device!.name, file]);
  return (await run('wg', ['showconf', device!.name])).stdout;
}

/** Terminal colour escapes (SGR); built from a string, as Biome rightly dislikes control characters in literals. */
const ESC = String.fromCharCode(27);
const SGR = new RegExp(`${ESC}\\[(\\d+)m`, 'g');

const phoneConfOf = (stdout: string, name: string) =>
  new RegExp(`----- BEGIN ${name}\\.conf -----\\n([^]*?)----- END ${name}\\.conf -----`).exec(stdout)?.[1];

test('enable: a 0600 hub config that wg-quick and wg accept, with a key wg agrees on', {
  skip: NO_WG,
}, async () => {
  const { cli, direct, conf, state, dir } = setup();
  const enabled = await cli('enable', '--endpoint', '203.0.113.7');
  assert.equal(enabled.code, 0, enabled.stderr);
  // The hub's LAN address, or a placeholder where it has none (the tests run with loopback only).
  assert.match(
    enabled.stdout,
    /forward UDP port 51820 to (\d+\.\d+\.\d+\.\d+|<this hub's LAN address>) port 51820/,
  );
  assert.match(enabled.stdout, /sudo systemctl enable --now wg-quick@htho\d+/);
  assert.equal(mode(conf), 0o600);
  assert.equal(mode(state), 0o600);
  assert.equal(mode(dir), 0o700);

  const text = readFileSync(conf, 'utf8');
  const [hub] = sections(text, 'Interface');
  assert.equal(hub!.Address, '10.87.0.1/24');
  assert.equal(hub!.ListenPort, '51820');
  const printedKey = /hub public key (\S+)/.exec(enabled.stdout)?.[1];
  assert.equal(wgPubkey(hub!.PrivateKey!), printedKey, 'wg derives the public key the command printed');

  const stripped = wgQuickStrip(text, 'hearth');
  assert.doesNotMatch(stripped, /Address/, 'wg-quick took its own keys out');
  if (device) {
    const shown = await wgRoundTrip(stripped);
    assert.deepEqual(sections(shown, 'Interface'), sections(stripped, 'Interface'));
  }

  // A second enable may not move the tunnel under existing phones; the file stays as it was.
  const moved = await direct('enable', '--endpoint', '203.0.113.7', '--subnet', '10.88.0.0/24');
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, /enabled already with 10\.87\.0\.0\/24/);
  assert.equal(readFileSync(conf, 'utf8'), text);
  const renamed = await direct('enable', '--endpoint', 'home.example.net');
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).endpoint, 'home.example.net:51820');
  assert.equal(readFileSync(conf, 'utf8'), text, 'a new endpoint name leaves the keys alone');

  for (const args of [
    ['--endpoint', 'not a host'],
    ['--endpoint', 'host:99999'],
    ['--endpoint', '203.0.113.7', '--subnet', '8.8.8.0/24'],
    ['--endpoint', '203.0.113.7', '--subnet', '10.87.0.1/24'],
    ['--endpoint', '203.0.113.7', '--allowed-ips', '192.168.1.0'],
  ]) {
    const refused = await direct('enable', ...args);
    assert.equal(refused.code, 64, `enable ${args.join(' ')}: ${refused.stderr}`);
  }
  const usage = await cli('enable');
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /^hearth: remote enable needs --endpoint.*hearth remote add-phone <name>/s);
  assert.equal(readFileSync(conf, 'utf8'), text);
});

test('add-phone: a phone config wg accepts, paired with the hub; QR of exactly that text; remove-phone revokes it', {
  skip: NO_WG,
}, async () => {
  const { cli, direct, conf, root } = setup();
  const enabled = await direct(
    'enable',
    '--endpoint',
    '203.0.113.7:51999',
    '--allowed-ips',
    '192.168.1.0/24',
  );
  assert.equal(enabled.code, 0, enabled.stderr);
  const hubKey = /hub public key (\S+)/.exec(enabled.stdout)![1]!;

  const added = await cli('add-phone', 'anna');
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /The tunnel is not running; this takes effect when it starts/);
  const phoneConf = phoneConfOf(added.stdout, 'anna');
  assert.ok(phoneConf, added.stdout);

  const strippedPhone = wgQuickStrip(phoneConf, 'anna');
  const [phone] = sections(phoneConf, 'Interface');
  const [toHub] = sections(phoneConf, 'Peer');
  assert.equal(phone!.Address, '10.87.0.2/32');
  assert.deepEqual(toHub, {
    PublicKey: hubKey,
    PresharedKey: toHub!.PresharedKey!,
    Endpoint: '203.0.113.7:51999',
    AllowedIPs: '10.87.0.0/24, 192.168.1.0/24',
    PersistentKeepalive: '25',
  });
  if (device) {
    const shown = await wgRoundTrip(strippedPhone);
    assert.equal(sections(shown, 'Interface')[0]!.PrivateKey, phone!.PrivateKey);
    assert.deepEqual(sections(shown, 'Peer'), [toHub], 'wg read the peer as written');
  }

  const hubText = readFileSync(conf, 'utf8');
  assert.equal(mode(conf), 0o600);
  const phoneKey = wgPubkey(phone!.PrivateKey!);
  assert.deepEqual(sections(hubText, 'Peer'), [
    { PublicKey: phoneKey, PresharedKey: toHub!.PresharedKey!, AllowedIPs: '10.87.0.2/32' },
  ]);
  assert.match(hubText, /\[Peer\]\n# hearth: anna\n/);
  for (const file of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (file.isFile())
      assert.ok(
        !readFileSync(path.join(file.parentPath, file.name), 'utf8').includes(phone!.PrivateKey!),
        `the phone's private key is kept nowhere (${file.name})`,
      );
  if (device) {
    const shown = await wgRoundTrip(wgQuickStrip(hubText, 'hearth'));
    assert.deepEqual(sections(shown, 'Peer'), sections(wgQuickStrip(hubText, 'hearth'), 'Peer'));
  }

  // The QR code: the same text rendered by qrcode with the command's options, and (with zbarimg) decoded.
  const qr = added.stdout.slice(
    added.stdout.indexOf(`${ESC}[47m`),
    added.stdout.lastIndexOf(`${ESC}[0m`) + 4,
  );
  assert.equal(qr, await QRCode.toString(phoneConf, QR_OPTIONS));
  const columns = qr
    .replace(SGR, '')
    .split('\n')
    .map((line) => line.length);
  assert.ok(Math.max(...columns) <= 80, 'fits an 80-column terminal');
  if (!NO_ZBAR) assert.equal(decodeTerminalQr(qr), phoneConf);
  else
    console.log(`# QR decode skipped: ${NO_ZBAR}; checked the QR is qrcode's rendering of the printed text`);

  const bob = await direct('add-phone', 'bob');
  assert.equal(bob.code, 0, bob.stderr);
  assert.match(bob.stdout, /as 10\.87\.0\.3\./);
  const bobPeer = sections(readFileSync(conf, 'utf8'), 'Peer')[1]!;

  const before = readFileSync(conf, 'utf8');
  for (const [args, code, message] of [
    [['add-phone', 'Anna'], 1, /named "Anna" exists already/],
    [['add-phone', 'a b'], 64, /needs a name/],
    [['add-phone', '-x'], 64, /./],
    [['add-phone', 'x'.repeat(33)], 64, /needs a name/],
    [['add-phone'], 64, /needs a name/],
    [['remove-phone', 'carol'], 1, /no phone named "carol"/],
  ] as const) {
    const refused = await direct(...args);
    assert.equal(refused.code, code, `${args.join(' ')}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, message);
    assert.equal(readFileSync(conf, 'utf8'), before, `${args.join(' ')} left the file alone`);
  }

  const removed = await cli('remove-phone', 'anna');
  assert.equal(removed.code, 0, removed.stderr);
  const afterText = readFileSync(conf, 'utf8');
  assert.deepEqual(sections(afterText, 'Peer'), [bobPeer], 'only anna went');
  assert.ok(!afterText.includes(phoneKey));
  assert.ok(!afterText.includes('# hearth: anna'));
  assert.deepEqual(sections(afterText, 'Interface'), sections(hubText, 'Interface'));
  wgQuickStrip(afterText, 'hearth');

  const listed = await cli('list');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /not running; tunnel 10\.87\.0\.0\/24, hub 10\.87\.0\.1, UDP 51999/);
  assert.match(listed.stdout, /\nbob\s+10\.87\.0\.3\s+\S{10}…\s+-\n?$/);
  assert.doesNotMatch(listed.stdout, /anna/);

  const again = await direct('add-phone', 'anna');
  assert.match(again.stdout, /as 10\.87\.0\.2\./, 'the freed address is used again');
});

test('before enable: add-phone, remove-phone and disable explain; list says off; nothing is written', async () => {
  const { direct, dir } = setup();
  for (const action of [['add-phone', 'anna'], ['remove-phone', 'anna'], ['disable']]) {
    const refused = await direct(...action);
    assert.equal(refused.code, 1, action.join(' '));
    assert.match(refused.stderr, /remote access is not enabled .* sudo hearth remote enable --endpoint/);
  }
  const listed = await direct('list');
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, /remote access: off/);
  assert.throws(() => statSync(dir), /ENOENT/);
});

test('the running tunnel takes phones and revocations at once; disable refuses while it runs', {
  skip: NO_WG || (!device && 'cannot make /var/run/wireguard for the fake interface (not root)'),
}, async () => {
  const live = device!;
  const { cli, direct, conf, state } = setup(live.name);
  // In this process only what never runs `wg`: the fake interface answers from this event loop.
  assert.equal((await direct('enable', '--endpoint', '203.0.113.7')).code, 0);
  // What `systemctl start wg-quick@…` does to the interface, minus the address and routes.
  await wgRoundTrip(wgQuickStrip(readFileSync(conf, 'utf8'), 'hearth'));
  assert.equal(live.peers.size, 0);

  const added = await cli('add-phone', 'anna');
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /Applied to the running tunnel/);
  const phoneKey = wgPubkey(sections(phoneConfOf(added.stdout, 'anna')!, 'Interface')[0]!.PrivateKey!);
  assert.deepEqual(live.peers.get(phoneKey)?.allowedIps, ['10.87.0.2/32']);
  assert.equal(
    live.peers.get(phoneKey)?.presharedKey,
    sections(phoneConfOf(added.stdout, 'anna')!, 'Peer')[0]!.PresharedKey,
  );
  const hubKey = sections(readFileSync(conf, 'utf8'), 'Interface')[0]!.PrivateKey;
  assert.equal(live.privateKey(), hubKey, 'syncconf kept the running key');

  live.peers.get(phoneKey)!.lastHandshake = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
  assert.equal((await cli('add-phone', 'bob')).code, 0);
  const listed = await cli('list');
  assert.match(listed.stdout, /remote access: running/);
  assert.match(listed.stdout, /anna\s+10\.87\.0\.2\s+\S{10}…\s+2026-01-02T03:04:05\.000Z/);
  assert.match(listed.stdout, /bob\s+10\.87\.0\.3\s+\S{10}…\s+never/);

  const removed = await cli('remove-phone', 'anna');
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /Applied to the running tunnel/);
  assert.ok(!live.peers.has(phoneKey), 'anna can no longer connect');
  assert.equal(live.peers.size, 1);

  const refused = await cli('disable');
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /the tunnel is running; stop it first: sudo systemctl disable --now wg-quick@/,
  );
  assert.ok(statSync(conf).isFile());
  await live.close();
  const disabled = await direct('disable');
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.match(disabled.stdout, /1 phone\(s\) are deleted/);
  assert.throws(() => statSync(conf), /ENOENT/);
  assert.throws(() => statSync(state), /ENOENT/);
});

test('without root: a clear "run it with sudo", not a stack trace', {
  skip: process.getuid?.() !== 0 || !has('setpriv') ? 'needs root and setpriv to run as nobody' : false,
}, async () => {
  const { root } = setup();
  const denied = await run(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      HEARTH_BIN,
      'remote',
      'enable',
    ].concat(['--endpoint', '203.0.113.7', '--root', root]),
    { env: { ...process.env, HEARTH_DATA_DIR: root }, encoding: 'utf8' },
  ).catch((error: { code: number; stderr: string }) => error);
  assert.equal((denied as { code: number }).code, 1);
  assert.match((denied as { stderr: string }).stderr, /cannot (read|write) .*EACCES.*run it with sudo/);
  assert.doesNotMatch((denied as { stderr: string }).stderr, /\n\s+at /);
});

/**
 * The terminal QR back into pixels, honouring the colour escapes as a terminal would (default colours
 * count as light), then zbarimg reads it from a PBM image: the round trip a phone camera makes.
 */
function decodeTerminalQr(qr: string): string {
  const rows: boolean[][] = [];
  let fg: boolean | null = null;
  let bg: boolean | null = null;
  let top: boolean[] = [];
  let bottom: boolean[] = [];
  for (const token of qr.match(new RegExp(`${SGR.source}|[\\s\\S]`, 'g'))!) {
    const sgr = new RegExp(`^${SGR.source}$`).exec(token);
    if (sgr) {
      const code = Number(sgr[1]);
      if (code === 0) fg = bg = null;
      else if (code === 30 || code === 37) fg = code === 30;
      else if (code === 40 || code === 47) bg = code === 40;
      continue;
    }
    if (token === '\n') {
      rows.push(top, bottom);
      top = [];
      bottom = [];
      continue;
    }
    const dark = (value: boolean | null) => value === true;
    const [upper, lower] =
      token === '█' ? [fg, fg] : token === '▀' ? [fg, bg] : token === '▄' ? [bg, fg] : [bg, bg];
    top.push(dark(upper));
    bottom.push(dark(lower));
  }
  if (top.length) rows.push(top, bottom);
  const scale = 4;
  const margin = 4;
  const width = Math.max(...rows.map((row) => row.length)) + 2 * margin;
  const height = rows.length + 2 * margin;
  const pixels: string[] = [];
  for (let y = 0; y < height * scale; y++) {
    const row = rows[Math.floor(y / scale) - margin] ?? [];
    const line: string[] = [];
    for (let x = 0; x < width * scale; x++) line.push(row[Math.floor(x / scale) - margin] ? '1' : '0');
    pixels.push(line.join(' '));
  }
  const file = path.join(tempDir('hearth-qr-'), 'qr.pbm');
  writeFileSync(file, `P1\n${width * scale} ${height * scale}\n${pixels.join('\n')}\n`);
  const decoded = execFileSync('zbarimg', ['--nodbus', '--raw', '-q', file]).toString();
  // zbarimg ends what it read with a newline of its own.
  return decoded.endsWith('\n') ? decoded.slice(0, -1) : decoded;
}
