import { createPrivateKey, X509Certificate } from 'crypto';

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
  if (notAfter <= options.now) problems.push(`expired on ${notAfter.toISOString()}`);
  else if (daysLeft < options.minDaysLeft) problems.push(`expires in ${daysLeft} days (${notAfter.toISOString()}), under the ${options.minDaysLeft}-day threshold`);

  const cas = splitPemBundle(options.caPem).map((p) => new X509Certificate(p));
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) problems.push('does not chain to the CA');

  if (options.keyPem !== undefined && !cert.checkPrivateKey(createPrivateKey(options.keyPem))) {
    problems.push('its private key does not match the certificate');
  }

  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  for (const name of options.mustCover?.dnsNames ?? []) {
    if (cert.checkHost(name, { subject: 'never' }) === undefined) problems.push(`SANs miss ${name}`);
  }
  for (const ip of options.mustCover?.ips ?? []) {
    if (cert.checkIP(ip) === undefined) problems.push(`SANs miss IP ${ip}`);
  }
  return { label: options.label, subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', '), sans, notAfter, daysLeft, problems };
}

/** A certificate's SANs as `DNS:name` and `IP:address`, the form the daemon Secret's annotation lists. */
export function certificateSans(certPem: string): string[] {
  return (new X509Certificate(certPem).subjectAltName ?? '').split(', ').filter(Boolean).map((s) => s.replace(/^IP Address:/, 'IP:'));
}
