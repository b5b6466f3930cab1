import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as forge from 'node-forge';

/** What a person asks of a certificate, answered without trusting the library that wrote it. */
export interface CertificateReport {
  readonly label: string;
  readonly subject: string;
  readonly issuer: string;
  readonly sans: string[];
  readonly notAfter: Date;
  readonly daysLeft: number;
  /** One line each; empty when the certificate is fit for use. */
  readonly problems: string[];
}

export interface CheckOptions {
  /** Names the report by, such as "server (buildkit-daemon-certs)". */
  readonly label: string;
  readonly certPem: string;
  /** The private key the certificate must match. */
  readonly keyPem?: string;
  /** CA certificates (a PEM bundle) one of which must have signed it. */
  readonly caPem: string;
  /** DNS names and IPs the certificate must cover. */
  readonly mustCover?: { readonly dnsNames: readonly string[]; readonly ips: readonly string[] };
  readonly now: Date;
  /** Fewer days left than this is a problem. */
  readonly minDaysLeft: number;
  /**
   * What the certificate is for: its CA flag, key usage and extended key usage must say exactly that.
   * @default - not checked
   */
  readonly role?: 'ca' | 'server' | 'client';
}

const EKU = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' };

/** A CA signs certificates and is marked a CA; a leaf is not, and serves its one purpose alone. */
function roleProblems(cert: X509Certificate, role: 'ca' | 'server' | 'client'): string[] {
  const problems: string[] = [];
  // Node exposes the CA flag and the extended key usages; the key usage bits need the DER (node-forge only reads it here).
  const keyUsage = forge.pki.certificateFromPem(cert.toString()).getExtension('keyUsage') as Record<string, boolean> | undefined;
  if (role === 'ca') {
    if (!cert.ca) problems.push('is not a CA (basicConstraints CA:false), yet it is used as one');
    if (!keyUsage?.keyCertSign) problems.push('its key usage does not allow signing certificates (keyCertSign)');
    return problems;
  }
  if (cert.ca) problems.push('is a CA certificate, yet it is used as a leaf');
  if (keyUsage?.keyCertSign || keyUsage?.cRLSign) problems.push('its key usage allows signing certificates');
  if (!keyUsage?.digitalSignature) problems.push('its key usage lacks digitalSignature');
  const usages = cert.keyUsage ?? [];
  if (usages.length !== 1 || usages[0] !== EKU[role]) {
    problems.push(
      `its extended key usage is ${usages.length ? usages.join(', ') : 'missing'}; a ${role} certificate must have ${role === 'server' ? 'serverAuth' : 'clientAuth'} (${EKU[role]}) alone`,
    );
  }
  return problems;
}

/** Splits a PEM bundle into its certificates. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export function checkCertificate(options: CheckOptions): CertificateReport {
  const cert = new X509Certificate(options.certPem);
  const problems: string[] = [];
  const notAfter = new Date(cert.validTo);
  const daysLeft = Math.floor((notAfter.getTime() - options.now.getTime()) / 86_400_000);
  if (new Date(cert.validFrom) > options.now) problems.push(`not valid before ${cert.validFrom}`);
  // Written by another tool, or by an old issue-client with no bound on --days: it holds no usable end.
  if (Number.isNaN(notAfter.getTime())) problems.push(`its end of validity cannot be read ("${cert.validTo}"): issue it again`);
  else if (notAfter <= options.now) problems.push(`expired on ${notAfter.toISOString()}`);
  else if (daysLeft < options.minDaysLeft)
    problems.push(`expires in ${daysLeft} days (${notAfter.toISOString()}), under the ${options.minDaysLeft}-day threshold`);

  const cas = splitPemBundle(options.caPem).map((p) => new X509Certificate(p));
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) problems.push('does not chain to the CA');

  if (options.keyPem !== undefined && !cert.checkPrivateKey(createPrivateKey(options.keyPem))) {
    problems.push('its private key does not match the certificate');
  }

  if (options.role) problems.push(...roleProblems(cert, options.role));

  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  for (const name of options.mustCover?.dnsNames ?? []) {
    if (cert.checkHost(name, { subject: 'never' }) === undefined) problems.push(`SANs miss ${name}`);
  }
  for (const ip of options.mustCover?.ips ?? []) {
    if (cert.checkIP(ip) === undefined) problems.push(`SANs miss IP ${ip}`);
  }
  return {
    label: options.label,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    sans,
    notAfter,
    daysLeft,
    problems,
  };
}

/** A certificate's SANs as `DNS:name` and `IP:address`, the form the daemon Secret's annotation lists. */
export function certificateSans(certPem: string): string[] {
  return (new X509Certificate(certPem).subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((s) => s.replace(/^IP Address:/, 'IP:'));
}
