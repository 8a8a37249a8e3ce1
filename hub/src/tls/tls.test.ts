/**
 * HTTPS from the hub's own CA: the files it makes (and their modes), what the certificates hold (iOS and
 * Chrome rules, checked by openssl), when the server certificate is issued again, HTTPS with only that CA
 * trusted under the non-loopback name `hearth.test` (loopback counts as secure in browsers and would hide
 * a broken setup), HTTP/2 by ALPN with SSE and Range downloads over both protocols, the opt-in redirect,
 * and the public routes.
 *
 *   node --import tsx --conditions=development --test hub/src/tls/tls.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { createHub, type Hub } from '../hub.js';
import { createLogger } from '../log/logger.js';
import { esp32Image } from '../testing/esp32-image.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';
import { issueServerCertificate } from './certificates.js';
import { createTlsService } from './tls.service.js';

const NAME = 'hearth.test';
const DAY = 86_400_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  protocol: string;
}

/** HTTPS/1.1 to 127.0.0.1 with `hearth.test` as SNI and Host, trusting only `ca`. */
function h1(
  port: number,
  requestPath: string,
  options: { ca?: Buffer; servername?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<Answer> {
  const servername = options.servername ?? NAME;
  const requestOptions: https.RequestOptions & Pick<tls.ConnectionOptions, 'ALPNProtocols'> = {
    host: '127.0.0.1',
    port,
    path: requestPath,
    method: options.method ?? 'GET',
    servername,
    ALPNProtocols: ['http/1.1'],
    ...(options.ca ? { ca: options.ca } : {}),
    headers: { host: `${servername}:${port}`, ...options.headers },
    agent: false,
  };
  return new Promise((resolve, reject) => {
    const request = https.request(requestOptions, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
          protocol: `${(response.socket as tls.TLSSocket).alpnProtocol}/${response.httpVersion}`,
        }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

/** Plain HTTP to the hub's HTTP port with any Host (fetch may not set Host). */
function plain(
  port: number,
  requestPath: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: requestPath,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
            protocol: `http/${response.httpVersion}`,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** An HTTP/2 session to 127.0.0.1 as `https://hearth.test:<port>`, negotiated by ALPN. */
function h2session(port: number, ca: Buffer): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${NAME}:${port}`, {
      createConnection: () =>
        tls.connect({ host: '127.0.0.1', port, servername: NAME, ca, ALPNProtocols: ['h2', 'http/1.1'] }),
    });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function h2request(
  session: http2.ClientHttp2Session,
  requestPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': requestPath, ...headers });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () =>
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        body: Buffer.concat(chunks),
        protocol: `${(session.socket as tls.TLSSocket).alpnProtocol}`,
      }),
    );
    stream.on('error', reject);
    stream.end(body);
  });
}

/** Reads a live stream until `done` holds for what arrived; resolves with the text. */
function readUntil(stream: NodeJS.ReadableStream, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`stream stalled; got: ${text}`)), 10_000);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    stream.on('error', reject);
  });
}

function openssl(args: string[]): { ok: boolean; out: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: result.status === 0, out: `${result.stdout}${result.stderr}` };
}

const certText = (file: string) =>
  execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
const mode = (file: string) => statSync(file).mode & 0o777;

/** The real hub on a given data folder (startTestHub always takes a fresh one), for restarts. */
async function startHubAt(dataDir: string, overrides: ConfigInput = {}): Promise<Hub> {
  const config = loadConfig(
    {},
    {
      ...overrides,
      dataDir,
      server: { port: 0, host: '127.0.0.1' },
      photos: { demoCamera: false },
      log: { level: 'silent' },
    },
  );
  const hub = createHub({ config, log: createLogger('silent') });
  await hub.start();
  return hub;
}

describe('the hub over HTTPS', () => {
  let t: TestHub;
  let ca: Buffer;
  let httpsPort: number;
  let httpPort: number;
  let tlsDir: string;
  let secretsDir: string;

  before(async () => {
    t = await startTestHub({ https: { names: [NAME] } });
    tlsDir = path.join(t.dataDir, 'tls');
    secretsDir = path.join(t.dataDir, 'secrets');
    ca = readFileSync(path.join(tlsDir, 'ca.crt'));
    httpsPort = t.hub.httpsPort()!;
    httpPort = Number(new URL(t.url).port);
  });
  after(() => t.stop());

  test('first start makes the CA and the server certificate; private keys 0600 in a 0700 folder', () => {
    assert.equal(mode(secretsDir), 0o700);
    for (const name of ['ca.key', 'tls-server.key']) {
      const file = path.join(secretsDir, name);
      assert.equal(mode(file), 0o600, `${name} mode`);
      const pem = readFileSync(file, 'utf8');
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/, `${name} is PKCS#8 PEM`);
      const key = createPrivateKey(pem);
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1', `${name} is P-256`);
    }
    const caFile = path.join(tlsDir, 'ca.crt');
    const caCert = new X509Certificate(readFileSync(caFile));
    assert.equal(caCert.ca, true);
    assert.match(caCert.subject, /^CN=Hearth local CA \(.+\)\nO=Hearth$/);
    const years = (new Date(caCert.validTo).getTime() - new Date(caCert.validFrom).getTime()) / (365 * DAY);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ${years} years`);
    const text = certText(caFile);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /Name Constraints: critical\s+Permitted:/);
    for (const tree of [
      'DNS:local',
      'DNS:localhost',
      'DNS:home.arpa',
      `DNS:${NAME}`,
      'IP:192.168.0.0/255.255.0.0',
      'IP:127.0.0.0/255.0.0.0',
    ])
      assert.ok(text.includes(tree), `the CA may vouch for ${tree}`);
    assert.equal(
      mode(path.join(tlsDir, 'server.crt')) & 0o077,
      0o044,
      'certificates are readable, not secret',
    );
  });

  test('the chain verifies with openssl, and the server certificate meets iOS and Chrome rules', async () => {
    const caFile = path.join(tlsDir, 'ca.crt');
    const serverFile = path.join(tlsDir, 'server.crt');
    const verified = openssl(['verify', '-CAfile', caFile, serverFile]);
    assert.ok(verified.ok, verified.out);
    assert.match(verified.out, /server\.crt: OK/);
    for (const [flag, value] of [
      ['-verify_hostname', NAME],
      ['-verify_hostname', 'localhost'],
      ['-verify_ip', '127.0.0.1'],
      ['-verify_ip', '::1'],
    ] as const) {
      const check = openssl(['verify', '-purpose', 'sslserver', '-CAfile', caFile, flag, value, serverFile]);
      assert.ok(check.ok, `${flag} ${value}: ${check.out}`);
    }
    assert.equal(
      openssl(['verify', '-CAfile', caFile, '-verify_hostname', 'bank.example', serverFile]).ok,
      false,
    );

    // The name constraints are real: a certificate this CA signed for another site fails verification.
    const rogueFile = path.join(tlsDir, 'rogue.crt');
    writeFileSync(
      rogueFile,
      await issueServerCertificate({
        caKeyPem: readFileSync(path.join(secretsDir, 'ca.key')),
        caPem: ca.toString(),
        serverKeyPem: readFileSync(path.join(secretsDir, 'tls-server.key')),
        names: { dns: ['bank.example'], ips: ['8.8.8.8'] },
        now: Date.now(),
      }),
    );
    const rogue = openssl(['verify', '-CAfile', caFile, rogueFile]);
    rmSync(rogueFile);
    assert.equal(rogue.ok, false);
    assert.match(rogue.out, /permitted subtree violation/);

    const server = new X509Certificate(readFileSync(serverFile));
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(new X509Certificate(ca)));
    // iOS 13+: names in subjectAltName (the CN is not trusted), EKU serverAuth, ≤ 825 days (Apple: 398), SHA-2, EC ≥ 256.
    const san = server.subjectAltName ?? '';
    for (const name of [`DNS:${NAME}`, 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1'])
      assert.ok(san.includes(name), `SAN has ${name}: ${san}`);
    assert.match(san, /DNS:[a-z0-9-]+\.local/, 'the mDNS name');
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extendedKeyUsage is serverAuth');
    const days = (new Date(server.validTo).getTime() - new Date(server.validFrom).getTime()) / DAY;
    assert.equal(days, 397);
    assert.ok(new Date(server.validFrom).getTime() <= Date.now());
    assert.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const text = certText(serverFile);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication\n/);
    const keyId = (pem: string, label: string) =>
      new RegExp(`${label}:\\s+(?:keyid:)?([0-9A-F:]+)`).exec(pem)?.[1];
    assert.equal(keyId(text, 'Authority Key Identifier'), keyId(certText(caFile), 'Subject Key Identifier'));
  });

  test('HTTPS by the name hearth.test trusting only the hub’s CA (HTTP/1.1 by ALPN)', async () => {
    const answer = await h1(httpsPort, '/api/health', { ca });
    assert.equal(answer.status, 200);
    assert.equal(answer.protocol, 'http/1.1/1.1');
    await assert.rejects(h1(httpsPort, '/api/health'), (error: NodeJS.ErrnoException) =>
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN'].includes(error.code ?? ''),
    );
    await assert.rejects(
      h1(httpsPort, '/api/health', { ca, servername: 'elsewhere.test' }),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  test('HTTP/2 by ALPN carries API calls, cookie writes (Host from :authority) and SSE; so does HTTP/1.1', async () => {
    const owner = await t.owner();
    const session = await h2session(httpsPort, ca);
    try {
      assert.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');
      const health = await h2request(session, '/api/health');
      assert.equal(health.status, 200);
      assert.equal(health.headers.connection, undefined);
      // The CSRF guard compares Origin with Host: over HTTP/2 the host travels as :authority.
      const write = await h2request(
        session,
        '/api/tls/redirect',
        {
          ':method': 'PUT',
          cookie: owner.cookie,
          origin: `https://${NAME}:${httpsPort}`,
          'content-type': 'application/json',
        },
        JSON.stringify({ enabled: false }),
      );
      assert.equal(write.status, 200, write.body.toString());
      const forged = await h2request(
        session,
        '/api/tls/redirect',
        {
          ':method': 'PUT',
          cookie: owner.cookie,
          origin: 'https://evil.test',
          'content-type': 'application/json',
        },
        JSON.stringify({ enabled: false }),
      );
      assert.equal(forged.status, 403);

      const sse = session.request({ ':path': '/api/events/stream?topics=system', cookie: owner.cookie });
      const head = await new Promise<http2.IncomingHttpHeaders>((resolve) => sse.once('response', resolve));
      assert.equal(head[':status'], 200);
      assert.match(String(head['content-type']), /^text\/event-stream/);
      await readUntil(sse, (text) => text.includes('event: hello'));
      const arrived = readUntil(sse, (text) => text.includes('"over":"h2"'));
      t.hub.bus.publish('system', { over: 'h2' });
      await arrived;
      sse.close();
    } finally {
      session.close();
    }

    const sse1 = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https
        .get(
          {
            host: '127.0.0.1',
            port: httpsPort,
            path: '/api/events/stream?topics=system',
            servername: NAME,
            ca,
            agent: false,
            headers: { host: `${NAME}:${httpsPort}`, cookie: owner.cookie },
          },
          resolve,
        )
        .on('error', reject),
    );
    assert.equal(sse1.statusCode, 200);
    assert.equal(sse1.httpVersion, '1.1');
    await readUntil(sse1, (text) => text.includes('event: hello'));
    const arrived = readUntil(sse1, (text) => text.includes('"over":"h1"'));
    t.hub.bus.publish('system', { over: 'h1' });
    await arrived;
    sse1.destroy();
  });

  test('a Range download over HTTP/2 and HTTP/1.1', async () => {
    const image = esp32Image({ version: '1.4.0', bytes: 256 * 1024 });
    await t.hub.firmware.add({ data: image, fileName: 'firmware.bin' });
    const { device, token } = t.hub.devices.create({ name: 'range-cam', kind: 'camera' });
    const offer = t.hub.firmware.offerFor(device.id, { firmware: '1.3.0' });
    assert.ok(offer);
    const auth = { authorization: `Bearer ${token}` };

    const session = await h2session(httpsPort, ca);
    try {
      const part = await h2request(session, offer.url, { ...auth, range: 'bytes=1000-1999' });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 1000-1999/${image.length}`);
      assert.deepEqual(part.body, image.subarray(1000, 2000));
      const whole = await h2request(session, offer.url, auth);
      assert.equal(whole.status, 200);
      assert.deepEqual(whole.body, image);
    } finally {
      session.close();
    }
    const part = await h1(httpsPort, offer.url, {
      ca,
      headers: { ...auth, range: `bytes=${image.length - 500}-` },
    });
    assert.equal(part.status, 206);
    assert.equal(part.protocol, 'http/1.1/1.1');
    assert.deepEqual(part.body, image.subarray(image.length - 500));
    const outside = await h1(httpsPort, offer.url, {
      ca,
      headers: { ...auth, range: `bytes=${image.length + 10}-` },
    });
    assert.equal(outside.status, 416);
  });

  test('plain HTTP sends browsers’ page loads to HTTPS once the owner opts in; never the API or devices', async () => {
    const owner = await t.owner();
    const page = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', host: `${NAME}:${httpPort}` };
    assert.notEqual((await plain(httpPort, '/cameras', { headers: page })).status, 308, 'off by default');
    assert.equal((await t.client().get('/api/tls')).body.redirect, false);

    const on = await owner.put('/api/tls/redirect', { enabled: true });
    assert.equal(on.status, 200);
    assert.deepEqual(on.body, { redirect: true });
    assert.equal((await t.client().get('/api/tls')).body.redirect, true);
    assert.equal((await owner.get('/api/settings')).body.settings.httpsRedirect, true);

    const moved = await plain(httpPort, '/cameras/front?day=2026-01-02', { headers: page });
    assert.equal(moved.status, 308);
    assert.equal(moved.headers.location, `https://${NAME}:${httpsPort}/cameras/front?day=2026-01-02`);
    assert.equal(moved.headers['cache-control'], 'no-store', 'not cached: turning it off must work at once');
    assert.equal((await plain(httpPort, '/', { method: 'HEAD', headers: page })).status, 308);
    const v6 = await plain(httpPort, '/', { headers: { ...page, host: `[::1]:${httpPort}` } });
    assert.equal(v6.headers.location, `https://[::1]:${httpsPort}/`);

    // Never: the API, devices (no CA on an ESP32), writes, and requests that do not ask for a page.
    const kept = [
      await plain(httpPort, '/api/health', { headers: page }),
      await plain(httpPort, '/api/device/commands', { headers: page }),
      await plain(httpPort, '/api/device/firmware/1', { headers: page }),
      await plain(httpPort, '/', { method: 'POST', headers: page }),
      await plain(httpPort, '/', { headers: { host: page.host, accept: 'application/json' } }),
      await plain(httpPort, '/', { headers: { host: page.host } }),
    ];
    for (const answer of kept) assert.notEqual(answer.status, 308);
    assert.equal(kept[0]!.status, 200);
    assert.equal(kept[1]!.status, 401, 'a device route answers on plain HTTP');
    // HTTPS itself serves pages.
    assert.notEqual((await h1(httpsPort, '/cameras', { ca, headers: { accept: page.accept } })).status, 308);

    const member = await t.userWithRole('member');
    assert.equal((await member.put('/api/tls/redirect', { enabled: false })).status, 403);
    assert.equal((await owner.put('/api/tls/redirect', { enabled: 'yes' })).status, 400);
    assert.deepEqual((await owner.put('/api/tls/redirect', { enabled: false })).body, { redirect: false });
    assert.notEqual((await plain(httpPort, '/cameras', { headers: page })).status, 308);
  });

  test('a certificate issued again is served at once, without a restart', async () => {
    const peer = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: NAME, ca }, () => {
          resolve(socket.getPeerX509Certificate()!.fingerprint256);
          socket.end();
        });
        socket.on('error', reject);
      });
    const before = await peer();
    assert.equal(before, fingerprint(path.join(tlsDir, 'server.crt')));
    // As if the hourly check found the names changed (server.json holds the names it was asked for).
    rmSync(path.join(tlsDir, 'server.json'));
    assert.equal(await t.hub.tls!.ensure(), true);
    const after = await peer();
    assert.notEqual(after, before);
    assert.equal(after, fingerprint(path.join(tlsDir, 'server.crt')));
  });

  test('the CA certificate is public (DER and PEM) with the fingerprint to compare; its key never is', async () => {
    const anyone = t.client();
    const der = await fetch(`${t.url}/api/tls/ca.crt`);
    assert.equal(der.status, 200);
    assert.equal(der.headers.get('content-type'), 'application/x-x509-ca-cert');
    assert.equal(der.headers.get('content-disposition'), 'attachment; filename="hearth-ca.crt"');
    const bytes = Buffer.from(await der.arrayBuffer());
    assert.deepEqual(bytes, Buffer.from(new X509Certificate(ca).raw));

    const pem = await anyone.get('/api/tls/ca.pem');
    assert.equal(pem.status, 200);
    assert.equal(pem.body, ca.toString());
    assert.doesNotMatch(pem.body, /PRIVATE KEY/);

    const info = await anyone.get('/api/tls');
    assert.equal(info.status, 200);
    const digest = createHash('sha256').update(bytes).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.equal(info.body.caFingerprintSha256, digest);
    assert.match(info.body.caSubject, /^CN=Hearth local CA \(.+\), O=Hearth$/);
    assert.ok(Date.parse(info.body.caNotAfter) > Date.now() + 9 * 365 * DAY);
    assert.ok(info.body.serverNames.includes(NAME) && info.body.serverNames.includes('localhost'));
    assert.ok(info.body.serverAddresses.includes('127.0.0.1') && info.body.serverAddresses.includes('::1'));
    assert.ok(Date.parse(info.body.serverNotAfter) > Date.now() + 390 * DAY);
    assert.equal(info.body.httpsPort, httpsPort);
    assert.equal(info.body.httpPort, httpPort);
    assert.equal(typeof info.body.redirect, 'boolean');
    // The same over HTTPS.
    const overHttps = await h1(httpsPort, '/api/tls', { ca });
    assert.equal(JSON.parse(overHttps.body.toString()).caFingerprintSha256, digest);
  });
});

test('a restart keeps the CA and the server certificate; a new name re-issues only the server certificate', async () => {
  const dataDir = tempDir();
  const files = {
    ca: path.join(dataDir, 'tls', 'ca.crt'),
    server: path.join(dataDir, 'tls', 'server.crt'),
    caKey: path.join(dataDir, 'secrets', 'ca.key'),
  };
  try {
    let hub = await startHubAt(dataDir, { https: { names: [NAME] } });
    const first = {
      ca: fingerprint(files.ca),
      server: fingerprint(files.server),
      key: readFileSync(files.caKey),
    };
    await hub.stop();

    hub = await startHubAt(dataDir, { https: { names: [NAME] } });
    assert.equal(fingerprint(files.ca), first.ca, 'same CA after a restart');
    assert.equal(fingerprint(files.server), first.server, 'same server certificate after a restart');
    await hub.stop();

    // hub.home.arpa lies inside the CA's trees; hearth.example does not and is left out (with a warning).
    hub = await startHubAt(dataDir, { https: { names: [NAME, 'hub.home.arpa', 'hearth.example'] } });
    assert.equal(fingerprint(files.ca), first.ca, 'the CA stays');
    assert.deepEqual(readFileSync(files.caKey), first.key);
    assert.notEqual(fingerprint(files.server), first.server, 'the server certificate is new');
    const san = new X509Certificate(readFileSync(files.server)).subjectAltName ?? '';
    assert.ok(san.includes('DNS:hub.home.arpa'), san);
    assert.ok(!san.includes('hearth.example'), san);
    const verified = openssl([
      'verify',
      '-CAfile',
      files.ca,
      '-verify_hostname',
      'hub.home.arpa',
      files.server,
    ]);
    assert.ok(verified.ok, verified.out);
    const port = hub.httpsPort()!;
    const answer = await h1(port, '/api/health', { ca: readFileSync(files.ca), servername: 'hub.home.arpa' });
    assert.equal(answer.status, 200, 'served under the new name');
    await hub.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the hourly check issues again when an address appears or the end nears, and only then', async () => {
  const dataDir = tempDir();
  let now = Date.now();
  let interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
    lo: [
      {
        address: '127.0.0.1',
        netmask: '255.0.0.0',
        family: 'IPv4',
        mac: '00:00:00:00:00:00',
        internal: true,
        cidr: '127.0.0.1/8',
      },
    ],
  };
  const lan = (address: string): os.NetworkInterfaceInfo => ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal: false,
    cidr: `${address}/24`,
  });
  const service = createTlsService({
    dataDir,
    secretsDir: path.join(dataDir, 'secrets'),
    names: [],
    log: createLogger('silent'),
    now: () => now,
    hostname: () => 'Hearth',
    interfaces: () => interfaces,
  });
  let swaps = 0;
  service.onChange(() => {
    swaps += 1;
  });
  try {
    assert.equal(await service.ensure(), true, 'first issue');
    const caFingerprint = service.status().caFingerprintSha256;
    assert.match(service.status().caSubject, /^CN=Hearth local CA \(hearth\)/);
    assert.deepEqual(service.status().serverNames, ['hearth.local', 'localhost']);
    assert.equal(await service.ensure(), false, 'nothing changed');

    interfaces = { ...interfaces, eth0: [lan('192.168.1.50')] };
    assert.equal(await service.ensure(), true, 'a new LAN address');
    assert.ok(service.status().serverAddresses.includes('192.168.1.50'));
    assert.equal(await service.ensure(), false);

    // A public address is outside what the CA may vouch for: left out, and not asked for again every hour.
    interfaces = { ...interfaces, eth1: [lan('203.0.113.7')] };
    assert.equal(await service.ensure(), true);
    assert.ok(!service.status().serverAddresses.includes('203.0.113.7'));
    assert.equal(await service.ensure(), false);

    const firstEnd = Date.parse(service.status().serverNotAfter);
    now += 360 * DAY;
    assert.equal(await service.ensure(), false, 'still more than 30 days left');
    now += 10 * DAY;
    assert.equal(await service.ensure(), true, 'under 30 days left');
    assert.ok(Date.parse(service.status().serverNotAfter) > firstEnd + 300 * DAY);
    assert.equal(service.status().caFingerprintSha256, caFingerprint, 'the CA is not renewed with it');
    assert.equal(swaps, 4);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('configuration: HEARTH_HTTPS_PORT, and any free HTTPS port when the HTTP port is any free one', () => {
  assert.equal(loadConfig({}).https.port, 8443);
  assert.equal(loadConfig({}).https.enabled, true);
  assert.equal(loadConfig({}).https.redirectHttp, false);
  assert.equal(loadConfig({ HEARTH_HTTPS_PORT: '9443' }).https.port, 9443);
  assert.equal(loadConfig({ HEARTH_PORT: '0' }).https.port, 0);
  assert.equal(loadConfig({ HEARTH_PORT: '0', HEARTH_HTTPS_PORT: '8444' }).https.port, 8444);
  assert.equal(loadConfig({ HEARTH_PORT: '9000' }).https.port, 8443);
  assert.throws(() => loadConfig({ HEARTH_HTTPS_PORT: 'secure' }), /HEARTH_HTTPS_PORT/);
  assert.throws(() => loadConfig({}, { https: { names: ['not a name'] } }), /not a DNS name/);
  assert.deepEqual(loadConfig({}, { https: { names: ['Hearth.Test'] } }).https.names, ['hearth.test']);
});

test('with https.enabled false: no certificates, no HTTPS server, and the routes say so', async () => {
  const t = await startTestHub({ https: { enabled: false } });
  try {
    assert.equal(t.hub.httpsPort(), null);
    const info = await t.client().get('/api/tls');
    assert.equal(info.status, 404);
    assert.equal(info.body.error.code, 'https_disabled');
    const owner = await t.owner();
    assert.equal((await owner.put('/api/tls/redirect', { enabled: true })).status, 409);
    assert.throws(() => statSync(path.join(t.dataDir, 'tls')), /ENOENT/);
  } finally {
    await t.stop();
  }
});

test('stop() closes the HTTPS server promptly with an HTTP/2 client and an event stream still open', async () => {
  const t = await startTestHub({ https: { names: [NAME] }, server: { shutdownGraceMs: 5000 } });
  const ca = readFileSync(path.join(t.dataDir, 'tls', 'ca.crt'));
  const port = t.hub.httpsPort()!;
  const owner = await t.owner();
  const session = await h2session(port, ca);
  session.on('error', () => {});
  const sse = session.request({ ':path': '/api/events/stream', cookie: owner.cookie });
  sse.on('error', () => {});
  await readUntil(sse, (text) => text.includes('event: hello'));
  const started = performance.now();
  await t.stop();
  const took = performance.now() - started;
  assert.ok(took < 3000, `stop took ${Math.round(took)} ms`);
  await assert.rejects(h1(port, '/api/health', { ca }), /ECONNREFUSED/);
  session.destroy();
});
