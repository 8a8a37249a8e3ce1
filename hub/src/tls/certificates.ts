import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import type { JsonName, X509CertificateCreateWithKeyParams } from '@peculiar/x509';
import type { CertNames, Permitted } from './names.js';

/**
 * Making certificates (ECDSA P-256, SHA-256) with @peculiar/x509 on Node's WebCrypto. The library (and
 * the Reflect polyfill its dependency injection needs) is loaded only when something has to be issued:
 * a hub restarting with valid certificates reads them with `node:crypto` alone.
 */

const DAY = 86_400_000;
/** Under Apple's 398-day limit for TLS server certificates (measured from notBefore to notAfter). */
export const SERVER_VALIDITY_DAYS = 397;
export const CA_VALIDITY_DAYS = 3650;
/**
 * notBefore lies a day back: a Raspberry Pi has no real-time clock, and one that booted without a time
 * server may run somewhat behind the phones; a certificate "not yet valid" for them would lock them out.
 */
const BACKDATE_MS = DAY;

const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;

type Libraries = {
  x509: typeof import('@peculiar/x509');
  asn1X509: typeof import('@peculiar/asn1-x509');
  asn1Schema: typeof import('@peculiar/asn1-schema');
};
let libraries: Promise<Libraries> | undefined;

function load(): Promise<Libraries> {
  libraries ??= (async () => {
    // tsyringe (inside @peculiar/x509) needs Reflect.getMetadata before it is first imported.
    await import('reflect-metadata');
    const [x509, asn1X509, asn1Schema] = await Promise.all([
      import('@peculiar/x509'),
      import('@peculiar/asn1-x509'),
      import('@peculiar/asn1-schema'),
    ]);
    x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);
    return { x509, asn1X509, asn1Schema };
  })();
  return libraries;
}

/** A new P-256 private key as PKCS#8 PEM (synchronous, so it can feed `readOrCreateSecret`). */
export function newPrivateKeyPem(): Buffer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }));
}

function spkiOf(privateKeyPem: string | Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' }));
}

/** The private key for the library's `signingKey` (a WebCrypto key; Node's type and the DOM's are one thing). */
async function signingKey(privateKeyPem: string | Buffer) {
  const der = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
  return key as unknown as X509CertificateCreateWithKeyParams['signingKey'];
}

/** A positive 128-bit serial number, in hex. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * The household's root: CA:true with pathlen 0 (it signs only leaf certificates), keyCertSign and
 * cRLSign, 10 years, and critical nameConstraints limiting it to home names and private addresses.
 */
export async function createCaCertificate(params: {
  keyPem: string | Buffer;
  commonName: string;
  permitted: Permitted;
  now: number;
}): Promise<string> {
  const { x509, asn1X509, asn1Schema } = await load();
  const spki = spkiOf(params.keyPem);
  const subject: JsonName = [{ CN: [params.commonName] }, { O: ['Hearth'] }];
  const subtrees = [
    ...params.permitted.dns.map((dNSName) => new asn1X509.GeneralName({ dNSName })),
    ...params.permitted.ips.map((iPAddress) => new asn1X509.GeneralName({ iPAddress })),
  ].map((base) => new asn1X509.GeneralSubtree({ base }));
  const constraints = new asn1X509.NameConstraints({
    permittedSubtrees: new asn1X509.GeneralSubtrees(subtrees),
  });
  const notBefore = new Date(params.now - BACKDATE_MS);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY),
    signingAlgorithm: SIGNING,
    publicKey: spki,
    signingKey: await signingKey(params.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      new x509.Extension(asn1X509.id_ce_nameConstraints, true, asn1Schema.AsnConvert.serialize(constraints)),
    ],
  });
  return certificate.toString('pem');
}

/** The permitted trees of a CA certificate's nameConstraints; null when it has none. */
export async function permittedOf(caPem: string): Promise<Permitted | null> {
  const { x509, asn1X509, asn1Schema } = await load();
  const extension = new x509.X509Certificate(caPem).getExtension(asn1X509.id_ce_nameConstraints);
  if (!extension) return null;
  const parsed = asn1Schema.AsnConvert.parse(extension.value, asn1X509.NameConstraints);
  const permitted: Permitted = { dns: [], ips: [] };
  for (const subtree of parsed.permittedSubtrees ?? []) {
    if (subtree.base.dNSName) permitted.dns.push(subtree.base.dNSName);
    if (subtree.base.iPAddress) permitted.ips.push(subtree.base.iPAddress);
  }
  return permitted;
}

/**
 * A TLS server certificate as iOS and Chrome require it: names only in subjectAltName, extendedKeyUsage
 * serverAuth, keyUsage digitalSignature (ECDSA), CA:false, at most 397 days, SHA-256.
 */
export async function issueServerCertificate(params: {
  caKeyPem: string | Buffer;
  caPem: string;
  serverKeyPem: string | Buffer;
  names: CertNames;
  now: number;
}): Promise<string> {
  const { x509 } = await load();
  const ca = new x509.X509Certificate(params.caPem);
  const caKeyId = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const spki = spkiOf(params.serverKeyPem);
  const notBefore = new Date(params.now - BACKDATE_MS);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [params.names.dns[0] ?? 'localhost'] }, { O: ['Hearth'] }],
    issuer: ca.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + SERVER_VALIDITY_DAYS * DAY),
    signingAlgorithm: SIGNING,
    publicKey: spki,
    signingKey: await signingKey(params.caKeyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...params.names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...params.names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      ...(caKeyId ? [new x509.AuthorityKeyIdentifierExtension(caKeyId)] : []),
    ],
  });
  return certificate.toString('pem');
}
