import { randomBytes, sign } from 'node:crypto';
import * as forge from 'node-forge';

export type KeyPair = forge.pki.rsa.KeyPair;

/** A certificate and its private key, PEM-encoded. */
export interface CertifiedKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface IssueOptions {
  readonly commonName: string;
  readonly validityDays: number;
  /** Start of validity (backdated five minutes for clock skew). */
  readonly now: Date;
  /**
   * The certificate's key pair.
   * @default - a new RSA 2048 key pair
   */
  readonly keyPair?: forge.pki.rsa.KeyPair;
}

export interface ServerOptions extends IssueOptions {
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
}

const RSA_BITS = 2048;
const SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
/** The longest validity: 100 years, well within the dates X.509 (to 9999) and JavaScript can write. */
export const MAX_VALIDITY_DAYS = 36_500;

function baseCertificate(publicKey: forge.pki.PublicKey, options: IssueOptions): forge.pki.Certificate {
  const days = options.validityDays;
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new Error(`invalid validity ${days} days for ${options.commonName}: use a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`);
  }
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // 16 random bytes, the first in 0x40-0x7f: a positive serial no two certificates share, in exactly 16 bytes.
  // Drawn as 00 00 and a byte under 0x80, node-forge wrote a non-minimal INTEGER (1 in 65,536), which OpenSSL refuses.
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x3f) | 0x40;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(options.now.getTime() - SKEW_MS);
  cert.validity.notAfter = new Date(options.now.getTime() + days * DAY_MS);
  cert.setSubject([
    { name: 'commonName', value: options.commonName },
    { name: 'organizationName', value: 'buildkit-service' },
  ]);
  return cert;
}

/** A new RSA key pair of the size every certificate here uses (node-forge hands it to Node's native keygen). */
export function newKeyPair(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: RSA_BITS });
}

interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

/**
 * Signs with SHA-256 and RSA as forge's cert.sign does, but with Node's native RSA: forge's pure-JavaScript
 * modular exponentiation takes ~30 ms a signature, most of a certificate command's time once keys exist.
 */
function signCertificate(cert: forge.pki.Certificate, signerKeyPem: string): void {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.tbsCertificate = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert); // exported, though @types/node-forge omits it
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, signerKeyPem).toString('binary');
}

function pem(cert: forge.pki.Certificate, keys: forge.pki.rsa.KeyPair): CertifiedKey {
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** A self-signed CA that may sign leaf certificates only. */
export function createCa(options: IssueOptions): CertifiedKey {
  const keys = options.keyPair ?? newKeyPair();
  const cert = baseCertificate(keys.publicKey, options);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, forge.pki.privateKeyToPem(keys.privateKey));
  return pem(cert, keys);
}

function issueLeaf(ca: CertifiedKey, options: IssueOptions, extensions: object[]): CertifiedKey {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const keys = options.keyPair ?? newKeyPair();
  const cert = baseCertificate(keys.publicKey, options);
  // A leaf that outlives its CA fails every handshake from the CA's last day on, whatever its own dates say.
  // Days count to the CA's end, its last part-day whole, and a leaf in that day ends with the CA: one issued
  // just after its CA, for as many days, is taken.
  const caEnd = caCert.validity.notAfter;
  const most = Math.ceil((caEnd.getTime() - options.now.getTime()) / DAY_MS);
  if (options.validityDays > most) {
    throw new Error(
      `invalid validity ${options.validityDays} days for ${options.commonName}: it would outlive its CA, which expires ${caEnd.toISOString()}: use at most ${most} days, or rotate the CA first (\`npm run certs -- rotate --ca\`)`,
    );
  }
  cert.validity.notAfter = new Date(Math.min(cert.validity.notAfter.getTime(), caEnd.getTime()));
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, ca.keyPem);
  return pem(cert, keys);
}

/** The daemon's certificate: serverAuth, with every name and IP a client may dial as SANs. */
export function issueServerCertificate(ca: CertifiedKey, options: ServerOptions): CertifiedKey {
  const altNames = [...options.dnsNames.map((value) => ({ type: 2, value })), ...options.ips.map((ip) => ({ type: 7, ip }))];
  return issueLeaf(ca, options, [
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
}

/** A client certificate: clientAuth, named by its common name. */
export function issueClientCertificate(ca: CertifiedKey, options: IssueOptions): CertifiedKey {
  return issueLeaf(ca, options, [{ name: 'extKeyUsage', clientAuth: true }]);
}
