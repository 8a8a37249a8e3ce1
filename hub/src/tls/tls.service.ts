import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readOrCreateSecret } from '../config/secret-file.js';
import type { Logger } from '../log/logger.js';
import {
  CA_VALIDITY_DAYS,
  createCaCertificate,
  issueServerCertificate,
  newPrivateKeyPem,
  permittedOf,
} from './certificates.js';
import {
  type CertNames,
  canonicalIp,
  mdnsName,
  partitionByConstraints,
  permittedFor,
  sameNames,
  wantedNames,
} from './names.js';

export const CA_KEY_FILE = 'ca.key';
export const SERVER_KEY_FILE = 'tls-server.key';
const DAY = 86_400_000;
/** A certificate this close to its end is replaced (the hourly check sees it in time). */
const RENEW_BEFORE_MS = 30 * DAY;

export interface TlsStatus {
  /** SHA-256 of the CA certificate (DER), as phones show it: `AB:CD:…`. */
  caFingerprintSha256: string;
  caSubject: string;
  caNotAfter: string;
  serverNames: string[];
  serverAddresses: string[];
  serverNotAfter: string;
}

interface Loaded {
  caPem: string;
  ca: X509Certificate;
  serverPem: string;
  server: X509Certificate;
  serverKeyPem: Buffer;
}

/** The names a certificate carries, read with node:crypto (`DNS:a, IP Address:1.2.3.4`). */
function namesIn(certificate: X509Certificate): CertNames {
  const names: CertNames = { dns: [], ips: [] };
  for (const part of (certificate.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) names.dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) {
      const ip = canonicalIp(part.slice(11));
      if (ip) names.ips.push(ip);
    }
  }
  return names;
}

/** SubjectPublicKeyInfo (DER) of a certificate's public key or of a private key's public half. */
const spki = (key: KeyObject | Buffer) =>
  (key instanceof KeyObject && key.type === 'public' ? key : createPublicKey(key)).export({
    type: 'spki',
    format: 'der',
  });

function readCertificate(file: string): { pem: string; certificate: X509Certificate } | null {
  try {
    const pem = readFileSync(file, 'utf8');
    return { pem, certificate: new X509Certificate(pem) };
  } catch {
    return null;
  }
}

/** Written under a temporary name, flushed, then renamed: a crash leaves the old file or the new one. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

/**
 * The hub's local certificate authority and its HTTPS certificate.
 *
 * - CA key `<secrets>/ca.key` and server key `<secrets>/tls-server.key`: PKCS#8 PEM, 0600, folder 0700,
 *   made once, never in the database or its backups, never served.
 * - CA certificate `<data>/tls/ca.crt` (10 years), server certificate `<data>/tls/server.crt` (397 days)
 *   and `<data>/tls/server.json` (the names it was asked for, some of which the CA may not permit).
 *
 * `ensure()` runs at start and hourly: the server certificate is issued again (same CA, same key) when
 * the wanted names or addresses changed, when it ends within 30 days, or when it no longer matches the
 * CA or its key. Listeners hear of every new certificate (the HTTPS server swaps its context).
 */
export function createTlsService(deps: {
  dataDir: string;
  secretsDir: string;
  /** `https.names` from the config. */
  names: readonly string[];
  log: Logger;
  /** Real time: certificates are judged by the phones' clocks, not a test's manual one. */
  now?: () => number;
  hostname?: () => string;
  interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}) {
  const now = deps.now ?? Date.now;
  const hostname = deps.hostname ?? os.hostname;
  const interfaces = deps.interfaces ?? os.networkInterfaces;
  const dir = path.join(deps.dataDir, 'tls');
  const files = {
    ca: path.join(dir, 'ca.crt'),
    server: path.join(dir, 'server.crt'),
    requested: path.join(dir, 'server.json'),
  };
  const listeners = new Set<() => void>();
  let loaded: Loaded | undefined;
  let running: Promise<boolean> | undefined;

  function readRequested(): CertNames | null {
    try {
      const value = JSON.parse(readFileSync(files.requested, 'utf8')) as CertNames;
      return Array.isArray(value.dns) && Array.isArray(value.ips) ? value : null;
    } catch {
      return null;
    }
  }

  async function ensureCa(caKeyPem: Buffer): Promise<{ pem: string; certificate: X509Certificate }> {
    const existing = readCertificate(files.ca);
    const keySpki = spki(caKeyPem);
    if (existing) {
      const sameKey = spki(existing.certificate.publicKey).equals(keySpki);
      const endsAt = new Date(existing.certificate.validTo).getTime();
      if (sameKey && endsAt - now() > RENEW_BEFORE_MS) return existing;
      deps.log.warn(
        { sameKey, caNotAfter: existing.certificate.validTo },
        'the CA certificate no longer fits its key or is ending: making a new one (devices must install it again)',
      );
    }
    const host = mdnsName(hostname())?.replace(/\.local$/, '') ?? 'hub';
    const pem = await createCaCertificate({
      keyPem: caKeyPem,
      commonName: `Hearth local CA (${host})`,
      permitted: permittedFor(deps.names),
      now: now(),
    });
    writeAtomically(files.ca, pem);
    deps.log.info(
      { file: files.ca, years: CA_VALIDITY_DAYS / 365 },
      'created the local certificate authority',
    );
    return { pem, certificate: new X509Certificate(pem) };
  }

  /** Whether the server certificate on disk can stay; the reason it cannot otherwise. */
  function serverProblem(
    server: X509Certificate,
    ca: X509Certificate,
    serverKeyPem: Buffer,
    wanted: CertNames,
  ): string | null {
    if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) return 'not issued by this CA';
    if (!spki(server.publicKey).equals(spki(serverKeyPem))) return 'not for the server key';
    if (new Date(server.validTo).getTime() - now() < RENEW_BEFORE_MS) return 'ends within 30 days';
    if (new Date(server.validFrom).getTime() > now()) return 'not valid yet (the clock went back)';
    const requested = readRequested();
    if (!requested || !sameNames(requested, wanted)) return 'names or addresses changed';
    return null;
  }

  async function ensureOnce(): Promise<boolean> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const caKeyPem = readOrCreateSecret(deps.secretsDir, CA_KEY_FILE, newPrivateKeyPem);
    const serverKeyPem = readOrCreateSecret(deps.secretsDir, SERVER_KEY_FILE, newPrivateKeyPem);
    // A damaged key file stops the hub here with the reason, rather than serving something half-made.
    createPrivateKey(caKeyPem);
    createPrivateKey(serverKeyPem);
    const ca = await ensureCa(caKeyPem);
    const wanted = wantedNames({ hostname: hostname(), extraNames: deps.names, interfaces: interfaces() });
    const existing = readCertificate(files.server);
    const problem = existing
      ? serverProblem(existing.certificate, ca.certificate, serverKeyPem, wanted)
      : 'none yet';
    if (existing && !problem) {
      const changed = loaded?.serverPem !== existing.pem;
      loaded = {
        caPem: ca.pem,
        ca: ca.certificate,
        serverPem: existing.pem,
        server: existing.certificate,
        serverKeyPem,
      };
      return changed;
    }
    const { granted, omitted } = partitionByConstraints(wanted, await permittedOf(ca.pem));
    if (omitted.length)
      deps.log.warn(
        { omitted },
        'left out of the HTTPS certificate: outside the names and private addresses the CA may vouch for (see docs/operations.md)',
      );
    const pem = await issueServerCertificate({
      caKeyPem,
      caPem: ca.pem,
      serverKeyPem,
      names: granted,
      now: now(),
    });
    writeAtomically(files.server, pem);
    writeAtomically(files.requested, `${JSON.stringify(wanted, null, 2)}\n`);
    const server = new X509Certificate(pem);
    loaded = { caPem: ca.pem, ca: ca.certificate, serverPem: pem, server, serverKeyPem };
    deps.log.info(
      { reason: problem, names: granted.dns, addresses: granted.ips, notAfter: server.validTo },
      'issued the HTTPS certificate',
    );
    return true;
  }

  /** Makes or checks everything; resolves true when a new server certificate is in place. One at a time. */
  async function ensure(): Promise<boolean> {
    while (running) await running.catch(() => undefined);
    running = ensureOnce();
    try {
      const changed = await running;
      if (changed) for (const listener of listeners) listener();
      return changed;
    } finally {
      running = undefined;
    }
  }

  function current(): Loaded {
    if (!loaded) throw new Error('TLS is not ready: ensure() has not run');
    return loaded;
  }

  return {
    ensure,
    /** Key and certificate for `tls.createSecureContext` / `server.setSecureContext`. */
    secureContext: () => ({ key: current().serverKeyPem, cert: current().serverPem }),
    caPem: () => current().caPem,
    caDer: () => Buffer.from(current().ca.raw),
    ready: () => loaded !== undefined,
    status(): TlsStatus {
      const { ca, server } = current();
      const names = namesIn(server);
      return {
        caFingerprintSha256: ca.fingerprint256,
        caSubject: ca.subject.split('\n').join(', '),
        caNotAfter: new Date(ca.validTo).toISOString(),
        serverNames: names.dns,
        serverAddresses: names.ips,
        serverNotAfter: new Date(server.validTo).toISOString(),
      };
    },
    /** Called after each new server certificate. */
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    files,
  };
}

export type TlsService = ReturnType<typeof createTlsService>;
