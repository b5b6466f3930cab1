import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import forge from 'node-forge';
import { certificateSans, checkCertificate, splitPemBundle } from '../lib/pki/check';
import { createCa, issueClientCertificate, issueServerCertificate, newKeyPair } from '../lib/pki/issue';
import { serverSans, serviceDnsNames } from '../lib/settings';
import { keyPool } from './support/keys';
import { describeWith, testWith } from './support/programs';
import { handshake } from './support/tls';

const endpoint = { names: ['buildkitd'], namespace: 'buildkit', clusterDomain: 'cluster.local', ips: ['192.168.80.110'], port: 1234 };
const now = new Date();
// The CA and server certificate get keys of their own: their key size is what openssl checks below. The other
// certificates here take pooled keys, six of them, so none shares a key with another.
const ca = createCa({ commonName: 'test CA', validityDays: 3650, now });
const server = issueServerCertificate(ca, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 365, now });
const pooled = keyPool(6);
const client = issueClientCertificate(ca, { commonName: 'ci', validityDays: 365, now, keyPair: pooled() });
const tlsServer = { key: server.keyPem, cert: server.certPem, ca: ca.certPem };

describeWith(['openssl'])('the certificates, checked by openssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildkit-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
  const caFile = file('ca.pem', ca.certPem);
  const serverFile = file('server.pem', server.certPem);
  const clientFile = file('client.pem', client.certPem);

  test('the server certificate verifies for TLS servers and the client certificate for TLS clients', () => {
    expect(openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', serverFile)).toContain('OK');
    expect(openssl('verify', '-CAfile', caFile, '-purpose', 'sslclient', clientFile)).toContain('OK');
  });

  test('each leaf is fit only for its side', () => {
    expect(() => openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', clientFile)).toThrow();
    expect(() => openssl('verify', '-CAfile', caFile, '-purpose', 'sslclient', serverFile)).toThrow();
  });

  test('extensions: a CA that signs leaves only, SHA-256, RSA 2048, every SAN', () => {
    const caText = openssl('x509', '-in', caFile, '-noout', '-text');
    expect(caText).toMatch(/CA:TRUE, pathlen:0/);
    expect(caText).toMatch(/Certificate Sign, CRL Sign/);
    const text = openssl('x509', '-in', serverFile, '-noout', '-text');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('CA:FALSE');
    expect(text).toContain('TLS Web Server Authentication');
    const sans = openssl('x509', '-in', serverFile, '-noout', '-ext', 'subjectAltName');
    for (const name of serviceDnsNames('buildkitd', endpoint)) expect(sans).toContain(`DNS:${name},`);
    expect(sans).toContain('IP Address:192.168.80.110');
    expect(sans).toContain('IP Address:127.0.0.1');
  });

  test('the private key matches the certificate', () => {
    const fromCert = openssl('x509', '-in', serverFile, '-noout', '-pubkey');
    const fromKey = openssl('pkey', '-in', file('server.key', server.keyPem), '-pubout');
    expect(fromKey).toBe(fromCert);
  });
});

describe('the daemon refuses clients without a certificate (real TLS on 127.0.0.1)', () => {
  test('a client with the client certificate is served', async () => {
    const result = await handshake({
      server: tlsServer,
      client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem },
      servername: 'buildkitd.buildkit.svc.cluster.local',
    });
    expect(result).toMatchObject({ ok: true });
  });

  test('a client without a certificate is refused', async () => {
    const result = await handshake({ server: tlsServer, client: { ca: ca.certPem }, servername: 'buildkitd.buildkit.svc.cluster.local' });
    expect(result.ok).toBe(false);
  });

  test('a client certificate from another CA is refused', async () => {
    const other = createCa({ commonName: 'other CA', validityDays: 10, now, keyPair: pooled() });
    const stranger = issueClientCertificate(other, { commonName: 'stranger', validityDays: 10, now, keyPair: pooled() });
    const result = await handshake({
      server: tlsServer,
      client: { key: stranger.keyPem, cert: stranger.certPem, ca: ca.certPem },
      servername: 'buildkitd',
    });
    expect(result.ok).toBe(false);
  });

  test('the server certificate verifies for the service DNS name, the LoadBalancer IP and localhost', async () => {
    const result = await handshake({
      server: tlsServer,
      client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem },
      servername: 'buildkitd.buildkit.svc.cluster.local',
    });
    const peer = result.peer as PeerCertificate;
    for (const host of ['buildkitd.buildkit.svc.cluster.local', 'buildkitd.buildkit', '192.168.80.110', '127.0.0.1', 'localhost']) {
      expect({ host, error: checkServerIdentity(host, peer) }).toEqual({ host, error: undefined });
    }
    expect(checkServerIdentity('192.168.80.111', peer)).toHaveProperty('code', 'ERR_TLS_CERT_ALTNAME_INVALID');
    expect(checkServerIdentity('evil.example.com', peer)).toHaveProperty('code', 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('a client dialling a name the certificate lacks refuses the server', async () => {
    const result = await handshake({
      server: tlsServer,
      client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem },
      servername: 'builder.example.com',
    });
    expect(result).toMatchObject({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test('an expired server certificate is refused', async () => {
    const old = issueServerCertificate(ca, {
      commonName: 'buildkitd',
      ...serverSans(endpoint),
      validityDays: 1,
      now: new Date(Date.now() - 3 * 86_400_000),
      keyPair: pooled(),
    });
    const result = await handshake({
      server: { ...tlsServer, key: old.keyPem, cert: old.certPem },
      client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem },
      servername: 'buildkitd',
    });
    expect(result).toMatchObject({ ok: false, error: 'CERT_HAS_EXPIRED' });
  });
});

describe('checkCertificate', () => {
  const base = {
    label: 'server',
    certPem: server.certPem,
    keyPem: server.keyPem,
    caPem: ca.certPem,
    mustCover: serverSans(endpoint),
    now,
    minDaysLeft: 30,
  };

  test('a good certificate has no problems and reports its facts', () => {
    const report = checkCertificate(base);
    expect(report.problems).toEqual([]);
    expect(report.subject).toContain('CN=buildkitd');
    expect(report.sans).toContain('IP Address:192.168.80.110');
    expect(report.daysLeft).toBeGreaterThanOrEqual(364);
  });

  test('finds each failure', () => {
    const other = createCa({ commonName: 'other', validityDays: 10, now, keyPair: pooled() });
    expect(checkCertificate({ ...base, caPem: other.certPem }).problems).toEqual(['does not chain to the CA']);
    expect(checkCertificate({ ...base, keyPem: client.keyPem }).problems).toEqual(['its private key does not match the certificate']);
    expect(checkCertificate({ ...base, mustCover: { dnsNames: ['buildkitd.ci.svc.cluster.local'], ips: ['10.0.0.1'] } }).problems).toEqual([
      'SANs miss buildkitd.ci.svc.cluster.local',
      'SANs miss IP 10.0.0.1',
    ]);
    expect(checkCertificate({ ...base, now: new Date(now.getTime() + 400 * 86_400_000) }).problems[0]).toMatch(/^expired on /);
    expect(checkCertificate({ ...base, minDaysLeft: 400 }).problems[0]).toMatch(/^expires in 36\d days .*under the 400-day threshold$/);
  });

  test('a CA bundle with a second CA still verifies', () => {
    const other = createCa({ commonName: 'other', validityDays: 10, now, keyPair: pooled() });
    expect(checkCertificate({ ...base, caPem: other.certPem + ca.certPem }).problems).toEqual([]);
  });
});

describe('certificates at their edges', () => {
  const key = keyPool(3);
  const at = new Date('2026-06-01T12:00:00.000Z');
  const minutes = (n: number) => new Date(at.getTime() + n * 60_000);
  const edgeCa = createCa({ commonName: 'edge CA', validityDays: 30, now: at, keyPair: key() });
  const leaf = issueServerCertificate(edgeCa, {
    commonName: 'buildkitd',
    dnsNames: ['buildkitd'],
    ips: ['10.0.0.5'],
    validityDays: 10,
    now: at,
    keyPair: key(),
  });
  const edgeClient = issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 10, now: at, keyPair: key() });
  const report = (certPem: string, now: Date, extra: object = {}) =>
    checkCertificate({ label: 'x', certPem, caPem: edgeCa.certPem, now, minDaysLeft: 0, ...extra }).problems;

  /** A leaf signed by the edge CA with exactly these extensions, as another tool might have written it. */
  function crafted(extensions: object[]): string {
    const cert = forge.pki.createCertificate();
    cert.publicKey = key().publicKey;
    cert.serialNumber = '01';
    cert.validity.notBefore = at;
    cert.validity.notAfter = minutes(60 * 24);
    cert.setSubject([{ name: 'commonName', value: 'crafted' }]);
    cert.setIssuer(forge.pki.certificateFromPem(edgeCa.certPem).subject.attributes);
    cert.setExtensions(extensions);
    cert.sign(forge.pki.privateKeyFromPem(edgeCa.keyPem), forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  }

  test('valid from five minutes before issue, to the millisecond, until validityDays after it', () => {
    const cert = new X509Certificate(leaf.certPem);
    expect(new Date(cert.validFrom)).toEqual(minutes(-5));
    expect(new Date(cert.validTo)).toEqual(minutes(10 * 24 * 60));
    expect(report(leaf.certPem, minutes(-5))).toEqual([]);
    expect(report(leaf.certPem, new Date(minutes(-5).getTime() - 1000))).toEqual([`not valid before ${cert.validFrom}`]);
  });

  test('expired from the last second of validity on; the warning threshold is counted in whole days', () => {
    const end = minutes(10 * 24 * 60);
    expect(report(leaf.certPem, end)).toEqual([`expired on ${end.toISOString()}`]);
    expect(report(leaf.certPem, new Date(end.getTime() - 1000))).toEqual([]);
    expect(report(leaf.certPem, at, { minDaysLeft: 10 })).toEqual([]);
    expect(report(leaf.certPem, at, { minDaysLeft: 11 })).toEqual([
      `expires in 10 days (${end.toISOString()}), under the 11-day threshold`,
    ]);
    expect(checkCertificate({ label: 'x', certPem: leaf.certPem, caPem: edgeCa.certPem, now: minutes(1), minDaysLeft: 0 }).daysLeft).toBe(
      9,
    );
  });

  test.each([0, -1, 1.5, Number.NaN, 36_501, 99_999_999_999])('%p validity days are refused', (validityDays) => {
    expect(() => issueClientCertificate(edgeCa, { commonName: 'ci', validityDays, now: at, keyPair: key() })).toThrow(
      `invalid validity ${validityDays} days for ci: use a whole number of days from 1 to 36500`,
    );
    expect(() => createCa({ commonName: 'edge CA', validityDays, now: at, keyPair: key() })).toThrow(/^invalid validity/);
  });

  test('100 years is the longest validity, and a CA of that many days ends on the day', () => {
    const cert = new X509Certificate(createCa({ commonName: 'long CA', validityDays: 36_500, now: at, keyPair: key() }).certPem);
    expect(new Date(cert.validTo)).toEqual(minutes(36_500 * 24 * 60));
  });

  test('a leaf may not outlive its CA: it may end with the CA, its last part-day counted whole; a day more is refused with the most there is', () => {
    // The edge CA ends 30 days after `at`.
    const caEnd = new X509Certificate(edgeCa.certPem).validTo;
    const last = issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 30, now: at, keyPair: key() });
    expect(new X509Certificate(last.certPem).validTo).toBe(caEnd);
    expect(() => issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 31, now: at, keyPair: key() })).toThrow(
      'invalid validity 31 days for ci: it would outlive its CA, which expires 2026-07-01T12:00:00.000Z: use at most 30 days, or rotate the CA first (`npm run certs -- rotate --ca`)',
    );
    // Issued a minute into a day, as many days as are left still end with the CA (a leaf issued just after its
    // CA, for as many days), and one more is refused.
    const later = minutes(10 * 24 * 60 + 1);
    const server = (validityDays: number) =>
      issueServerCertificate(edgeCa, { commonName: 'buildkitd', dnsNames: ['b'], ips: [], validityDays, now: later, keyPair: key() });
    expect(new X509Certificate(server(20).certPem).validTo).toBe(caEnd);
    expect(new Date(new X509Certificate(server(19).certPem).validTo)).toEqual(minutes(29 * 24 * 60 + 1));
    expect(() => server(21)).toThrow(/: use at most 20 days, /);
    // Past the CA's end nothing is left.
    expect(() =>
      issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 1, now: minutes(30 * 24 * 60 + 1), keyPair: key() }),
    ).toThrow(/: use at most 0 days, or rotate the CA first/);
  });

  test('a certificate whose end cannot be read is one problem named, not a failed check (test/fixtures/pki/unreadable-end)', () => {
    const fixture = (f: string) => readFileSync(join(__dirname, 'fixtures', 'pki', 'unreadable-end', f), 'utf8');
    const result = checkCertificate({
      label: 'big',
      certPem: fixture('cert.pem'),
      caPem: fixture('ca.pem'),
      now: new Date('2027-01-01'),
      minDaysLeft: 30,
    });
    expect(result.problems).toEqual(['its end of validity cannot be read ("Bad time value"): issue it again']);
    expect(result.daysLeft).toBeNaN();
  });

  test('one day is the shortest validity', () => {
    const cert = new X509Certificate(
      issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 1, now: at, keyPair: key() }).certPem,
    );
    expect(new Date(cert.validTo)).toEqual(minutes(24 * 60));
  });

  test('serials are 16 random bytes, positive (top bit clear) and never repeat', () => {
    const serials = Array.from(
      { length: 24 },
      () =>
        new X509Certificate(issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 1, now: at, keyPair: key() }).certPem)
          .serialNumber,
    );
    for (const serial of serials) {
      // Node prints a negative serial (top bit set) with a minus sign, which the pattern refuses.
      expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
      expect(BigInt(`0x${serial}`) < 2n ** 127n).toBe(true);
    }
    expect(new Set(serials).size).toBe(serials.length);
  });

  test.each([
    ['zeros', 0x00],
    ['ones', 0xff],
  ])('a serial drawn as all %s is still one OpenSSL reads: positive, minimal, 16 bytes', (_what, byte) => {
    // Drawn as zeros, node-forge once wrote the serial as a padded INTEGER, and Node's OpenSSL refused the
    // certificate: "asn1 encoding routines::illegal padding".
    // Node's own module object, which lib/pki/issue.ts calls into (an ES namespace import would be a frozen copy).
    const draw = jest.spyOn(require('node:crypto'), 'randomBytes').mockImplementation(((size: number) => Buffer.alloc(size, byte)) as any);
    try {
      const cert = issueClientCertificate(edgeCa, { commonName: 'ci', validityDays: 1, now: at, keyPair: key() });
      expect(new X509Certificate(cert.certPem).serialNumber).toBe(byte ? `7${'F'.repeat(31)}` : `40${'0'.repeat(30)}`);
    } finally {
      draw.mockRestore();
    }
  });

  test('a CA of the same name but another key is no issuer', () => {
    // No authority key identifier, so only the signature tells the two CAs apart.
    const bare = crafted([{ name: 'basicConstraints', cA: false }]);
    const impostor = createCa({ commonName: 'edge CA', validityDays: 30, now: at, keyPair: newKeyPair() });
    expect(new X509Certificate(bare).checkIssued(new X509Certificate(impostor.certPem))).toBe(true);
    expect(report(bare, minutes(1))).toEqual([]);
    expect(report(bare, minutes(1), { caPem: impostor.certPem })).toEqual(['does not chain to the CA']);
  });

  /** openssl x509's view of a certificate. */
  function openssl(pem: string, ...args: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'buildkit-pki-'));
    try {
      writeFileSync(join(dir, 'c.pem'), pem);
      return execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', ...args], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  testWith(['openssl'])('basic constraints and key usage are critical on the CA and on both leaves (openssl)', () => {
    for (const pem of [edgeCa.certPem, leaf.certPem, edgeClient.certPem]) {
      const text = openssl(pem, '-text');
      expect(text).toContain('X509v3 Basic Constraints: critical');
      expect(text).toContain('X509v3 Key Usage: critical');
    }
  });

  test('the report: subject and issuer on one line, SANs as Node lists them, none for a CA', () => {
    const server = checkCertificate({ label: 'x', certPem: leaf.certPem, caPem: edgeCa.certPem, now: at, minDaysLeft: 0 });
    expect(server.subject).toBe('CN=buildkitd, O=buildkit-service');
    expect(server.issuer).toBe('CN=edge CA, O=buildkit-service');
    expect(server.sans).toEqual(['DNS:buildkitd', 'IP Address:10.0.0.5']);
    expect(checkCertificate({ label: 'x', certPem: edgeCa.certPem, caPem: edgeCa.certPem, now: at, minDaysLeft: 0 }).sans).toEqual([]);
    expect(certificateSans(leaf.certPem)).toEqual(['DNS:buildkitd', 'IP:10.0.0.5']);
    expect(certificateSans(edgeCa.certPem)).toEqual([]);
  });

  test('a name counts as covered only by a SAN, never by the subject CN (as Go verifies)', () => {
    const named = crafted([{ name: 'basicConstraints', cA: false }]);
    expect(report(named, minutes(1), { mustCover: { dnsNames: ['crafted'], ips: [] } })).toEqual(['SANs miss crafted']);
  });

  test('a CA bundle with no certificate in it trusts nothing', () => {
    expect(splitPemBundle('')).toEqual([]);
    expect(report(leaf.certPem, at, { caPem: 'not a certificate' })).toEqual(['does not chain to the CA']);
  });

  testWith(['openssl'])('leaves allow key encipherment, for clients that still use RSA key transport (openssl)', () => {
    expect(openssl(leaf.certPem, '-ext', 'keyUsage')).toMatch(/critical\n\s+Digital Signature, Key Encipherment\n/);
  });

  describe('role: the CA flag, key usage and extended key usage say what a certificate is for', () => {
    const role = (certPem: string, r: 'ca' | 'server' | 'client') => report(certPem, minutes(1), { role: r });
    const serverAuth = '1.3.6.1.5.5.7.3.1';
    const clientAuth = '1.3.6.1.5.5.7.3.2';

    test('each certificate issued here fits its own role', () => {
      expect(role(edgeCa.certPem, 'ca')).toEqual([]);
      expect(role(leaf.certPem, 'server')).toEqual([]);
      expect(role(edgeClient.certPem, 'client')).toEqual([]);
    });

    test('a server certificate is no client certificate, and the reverse', () => {
      expect(role(leaf.certPem, 'client')).toEqual([
        `its extended key usage is ${serverAuth}; a client certificate must have clientAuth (${clientAuth}) alone`,
      ]);
      expect(role(edgeClient.certPem, 'server')).toEqual([
        `its extended key usage is ${clientAuth}; a server certificate must have serverAuth (${serverAuth}) alone`,
      ]);
    });

    test('a CA used as a leaf fails every leaf rule', () => {
      expect(role(edgeCa.certPem, 'server')).toEqual([
        'is a CA certificate, yet it is used as a leaf',
        'its key usage allows signing certificates',
        'its key usage lacks digitalSignature',
        `its extended key usage is missing; a server certificate must have serverAuth (${serverAuth}) alone`,
      ]);
    });

    test('a leaf used as a CA fails both CA rules', () => {
      expect(role(leaf.certPem, 'ca')).toEqual([
        'is not a CA (basicConstraints CA:false), yet it is used as one',
        'its key usage does not allow signing certificates (keyCertSign)',
      ]);
    });

    test('certificates written elsewhere: two purposes, CRL signing, no key usage at all', () => {
      const leafFlags = { name: 'basicConstraints', cA: false };
      expect(
        role(
          crafted([leafFlags, { name: 'keyUsage', digitalSignature: true }, { name: 'extKeyUsage', serverAuth: true, clientAuth: true }]),
          'server',
        ),
      ).toEqual([
        `its extended key usage is ${serverAuth}, ${clientAuth}; a server certificate must have serverAuth (${serverAuth}) alone`,
      ]);
      expect(
        role(
          crafted([leafFlags, { name: 'keyUsage', digitalSignature: true, cRLSign: true }, { name: 'extKeyUsage', clientAuth: true }]),
          'client',
        ),
      ).toEqual(['its key usage allows signing certificates']);
      expect(role(crafted([leafFlags, { name: 'extKeyUsage', clientAuth: true }]), 'client')).toEqual([
        'its key usage lacks digitalSignature',
      ]);
      expect(role(crafted([{ name: 'basicConstraints', cA: true }]), 'ca')).toEqual([
        'its key usage does not allow signing certificates (keyCertSign)',
      ]);
    });
  });
});
