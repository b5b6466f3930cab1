import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { checkServerIdentity, PeerCertificate } from 'tls';
import { serverSans, serviceDnsNames } from '../lib';
import { checkCertificate } from '../lib/pki/check';
import { createCa, issueClientCertificate, issueServerCertificate } from '../lib/pki/issue';
import { handshake } from './support/tls';

const endpoint = { names: ['buildkitd'], namespace: 'buildkit', clusterDomain: 'cluster.local', ips: ['192.168.80.110'], port: 1234 };
const now = new Date();
const ca = createCa({ commonName: 'test CA', validityDays: 3650, now });
const server = issueServerCertificate(ca, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 365, now });
const client = issueClientCertificate(ca, { commonName: 'ci', validityDays: 365, now });
const tlsServer = { key: server.keyPem, cert: server.certPem, ca: ca.certPem };

describe('the certificates, checked by openssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildkit-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => { const p = join(dir, name); writeFileSync(p, content); return p; };
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
    const result = await handshake({ server: tlsServer, client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem }, servername: 'buildkitd.buildkit.svc.cluster.local' });
    expect(result).toMatchObject({ ok: true });
  });

  test('a client without a certificate is refused', async () => {
    const result = await handshake({ server: tlsServer, client: { ca: ca.certPem }, servername: 'buildkitd.buildkit.svc.cluster.local' });
    expect(result.ok).toBe(false);
  });

  test('a client certificate from another CA is refused', async () => {
    const other = createCa({ commonName: 'other CA', validityDays: 10, now });
    const stranger = issueClientCertificate(other, { commonName: 'stranger', validityDays: 10, now });
    const result = await handshake({ server: tlsServer, client: { key: stranger.keyPem, cert: stranger.certPem, ca: ca.certPem }, servername: 'buildkitd' });
    expect(result.ok).toBe(false);
  });

  test('the server certificate verifies for the service DNS name, the LoadBalancer IP and localhost', async () => {
    const result = await handshake({ server: tlsServer, client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem }, servername: 'buildkitd.buildkit.svc.cluster.local' });
    const peer = result.peer as PeerCertificate;
    for (const host of ['buildkitd.buildkit.svc.cluster.local', 'buildkitd.buildkit', '192.168.80.110', '127.0.0.1', 'localhost']) {
      expect({ host, error: checkServerIdentity(host, peer) }).toEqual({ host, error: undefined });
    }
    expect(checkServerIdentity('192.168.80.111', peer)).toHaveProperty('code', 'ERR_TLS_CERT_ALTNAME_INVALID');
    expect(checkServerIdentity('evil.example.com', peer)).toHaveProperty('code', 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('a client dialling a name the certificate lacks refuses the server', async () => {
    const result = await handshake({ server: tlsServer, client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem }, servername: 'builder.example.com' });
    expect(result).toMatchObject({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test('an expired server certificate is refused', async () => {
    const old = issueServerCertificate(ca, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    const result = await handshake({ server: { ...tlsServer, key: old.keyPem, cert: old.certPem }, client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem }, servername: 'buildkitd' });
    expect(result).toMatchObject({ ok: false, error: 'CERT_HAS_EXPIRED' });
  });
});

describe('checkCertificate', () => {
  const base = { label: 'server', certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem, mustCover: serverSans(endpoint), now, minDaysLeft: 30 };

  test('a good certificate has no problems and reports its facts', () => {
    const report = checkCertificate(base);
    expect(report.problems).toEqual([]);
    expect(report.subject).toContain('CN=buildkitd');
    expect(report.sans).toContain('IP Address:192.168.80.110');
    expect(report.daysLeft).toBeGreaterThanOrEqual(364);
  });

  test('finds each failure', () => {
    const other = createCa({ commonName: 'other', validityDays: 10, now });
    expect(checkCertificate({ ...base, caPem: other.certPem }).problems).toEqual(['does not chain to the CA']);
    expect(checkCertificate({ ...base, keyPem: client.keyPem }).problems).toEqual(['its private key does not match the certificate']);
    expect(checkCertificate({ ...base, mustCover: { dnsNames: ['buildkitd.ci.svc.cluster.local'], ips: ['10.0.0.1'] } }).problems)
      .toEqual(['SANs miss buildkitd.ci.svc.cluster.local', 'SANs miss IP 10.0.0.1']);
    expect(checkCertificate({ ...base, now: new Date(now.getTime() + 400 * 86_400_000) }).problems[0]).toMatch(/^expired on /);
    expect(checkCertificate({ ...base, minDaysLeft: 400 }).problems[0]).toMatch(/^expires in 36\d days .*under the 400-day threshold$/);
  });

  test('a CA bundle with a second CA still verifies', () => {
    const other = createCa({ commonName: 'other', validityDays: 10, now });
    expect(checkCertificate({ ...base, caPem: other.certPem + ca.certPem }).problems).toEqual([]);
  });
});
