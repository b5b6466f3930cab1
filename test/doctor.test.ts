import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { App } from 'cdk8s';
import { config } from '../config';
import { runDoctor } from '../lib/cli/doctor';
import { daemonReport, diagnose, parseAddr } from '../lib/doctor/doctor';
import { type DoctorService, doctorHints, doctorServices, SEED_DOCTOR_SERVICE } from '../lib/doctor/service';
import { type CertifiedKey, createCa, issueClientCertificate, issueServerCertificate } from '../lib/pki/issue';
import { serverSans } from '../lib/settings';
import { type ServiceSettings, serviceCharts } from '../lib/tenants';
import { ROOT } from './support/dist';
import { type FakeBuildkitd, NO_ANSWER, REAL_WORKERS, startFakeBuildkitd } from './support/fake-buildkitd';
import { keyPool } from './support/keys';
import { namespacesMissingReason, testUnless } from './support/programs';

// Every test dials only 127.0.0.1.
const now = new Date();
const keys = keyPool(4); // keygen is test/pki.test.ts's subject, not the doctor's
const endpoint = { names: ['buildkitd'], namespace: 'buildkit', clusterDomain: 'cluster.local', ips: ['192.168.80.110'], port: 1234 };
const ca = createCa({ commonName: 'test CA', validityDays: 365, now, keyPair: keys() });
// 20 days: well inside the doctor's 30-day "renew soon" warning, whatever the clock's milliseconds.
const server = issueServerCertificate(ca, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 20, now, keyPair: keys() });
const client = issueClientCertificate(ca, { commonName: 'ci', validityDays: 30, now, keyPair: keys() });
const otherCa = createCa({ commonName: 'other CA', validityDays: 365, now, keyPair: keys() });

const work = mkdtempSync(join(tmpdir(), 'buildkit-doctor-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
function tlsDir(files: { ca?: string; cert?: CertifiedKey }): string {
  const dir = join(work, `bundle-${n++}`);
  require('node:fs').mkdirSync(dir);
  if (files.ca) writeFileSync(join(dir, 'ca.pem'), files.ca);
  if (files.cert) {
    writeFileSync(join(dir, 'cert.pem'), files.cert.certPem);
    writeFileSync(join(dir, 'key.pem'), files.cert.keyPem);
  }
  return dir;
}
const goodBundle = tlsDir({ ca: ca.certPem, cert: client });

let daemon: FakeBuildkitd;
beforeAll(async () => {
  daemon = await startFakeBuildkitd({ caPem: ca.certPem, ...server });
});
afterAll(() => daemon.stop());

const run = (addr: string, dir: string, servername?: string) => diagnose({ addr, tlsDir: dir, servername, now, timeoutMs: 60_000 }); // only a hang reaches it: no test waits for it
// For the tests that wait for a timeout on purpose: far above what a step on loopback takes, busy machine
// included (tens of milliseconds), and short enough to wait for.
const WAITED_FOR_MS = 1000;
// Listens, prints its port, then blocks its only thread for good: the kernel completes handshakes into the accept
// queue, and nothing ever accepts them.
const LISTEN_AND_NEVER_ACCEPT =
  "const s = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => { require('node:fs').writeSync(1, s.address().port + '\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); });";
const lastStep = (result: Awaited<ReturnType<typeof run>>) => result.steps[result.steps.length - 1];

describe('npm run doctor against a buildkitd stand-in on 127.0.0.1', () => {
  test('every step passes: bundle, TCP, TLS, chain, name, expiry, gRPC health and the worker list', async () => {
    const result = await run(daemon.addr, goodBundle, 'buildkitd.buildkit.svc.cluster.local');
    expect(result.failed).toBeUndefined();
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([
      ['client bundle', true],
      ['tcp', true],
      ['tls handshake', true],
      ['server certificate chain', true],
      ['server certificate name', true],
      ['server certificate expiry', true],
      ['grpc health', true],
      ['workers', true],
      ['daemon', true],
    ]);
    expect(result.steps[1].detail).toMatch(/^127\.0\.0\.1:\d+ reachable in \d+ ms$/);
    expect(result.steps[2].detail).toMatch(/^TLSv1\.3 in \d+ ms$/);
    // Both calls name what --servername gave, not the IP dialled.
    expect(daemon.authorities.slice(-2)).toEqual(['buildkitd.buildkit.svc.cluster.local', 'buildkitd.buildkit.svc.cluster.local']);
    expect(result.steps[3].detail).toBe('issued by test CA');
    expect(result.steps[4].detail).toBe('covers buildkitd.buildkit.svc.cluster.local');
    expect(result.steps[5].detail).toMatch(/^(19|20) days left \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    expect(result.steps[6].detail).toMatch(/^SERVING in \d+ ms$/);
    // What a real rootless v0.32.2 daemon reports, read through the doctor's own descriptor.
    expect(result.steps[7].detail).toBe(
      'kihfhvk630apf3xcu6e1b5arh [linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, linux/386] buildkit v0.32.2',
    );
    expect(lastStep(result).detail).toBe(
      'buildkit v0.32.2, snapshotter overlayfs, GC keeps 5120MiB, prunes above 38400MiB, wants 5120MiB free, ' +
        'platforms linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, linux/386',
    );
    expect(lastStep(result).warnings).toBeUndefined();
    // A 20-day certificate: a warning, not a failure.
    expect(result.steps[5].warnings).toEqual([
      'the server certificate expires within 30 days: renew it with npm run certs -- rotate, then commit',
    ]);
  });

  test('warns, and passes, on a native snapshotter and a BuildKit without build metrics', async () => {
    const [real] = REAL_WORKERS.record;
    const old = await startFakeBuildkitd({ caPem: ca.certPem, ...server }, 'SERVING', {
      record: [
        {
          ...real,
          Labels: { ...real.Labels, 'org.mobyproject.buildkit.worker.snapshotter': 'native' },
          BuildkitVersion: { ...real.BuildkitVersion, version: 'v0.30.1' },
        },
        { ...real, ID: 'second', platforms: [{ OS: 'linux', Architecture: 'arm64', Variant: 'v8' }], BuildkitVersion: undefined },
      ],
    });
    try {
      const result = await run(old.addr, goodBundle);
      expect(result.failed).toBeUndefined();
      // Every worker in the list, the first one reported on.
      expect(result.steps.find((s) => s.name === 'workers')?.detail).toMatch(/ buildkit v0\.30\.1; second \[linux\/arm64\/v8\]$/);
      expect(lastStep(result).warnings).toEqual([
        'BuildKit v0.30.1 is older than v0.31: no build metrics (buildkit_builds_total and the rest); upgrade the image',
        expect.stringMatching(
          /^the native snapshotter copies every layer: slow builds and several times the disk; overlayfs failed at start/,
        ),
      ]);
      const current = { record: [{ ...real, BuildkitVersion: { ...real.BuildkitVersion, version: 'v0.31.0' } }] };
      expect(daemonReport(current.record[0]).warnings).toEqual([]);
    } finally {
      await old.stop();
    }
  });

  test("the doctor's descriptor decodes a real ListWorkers reply byte for byte", () => {
    const protobuf = require('protobufjs');
    const { API_DESCRIPTOR } = require('../lib/doctor/buildkit-api');
    const type = protobuf.Root.fromJSON(API_DESCRIPTOR).lookupType('moby.buildkit.v1.ListWorkersResponse');
    const decoded = type.toObject(type.decode(readFileSync(join(ROOT, 'test/fixtures/buildkit/grpc-listworkers-rootless-v0.32.2.bin'))), {
      longs: String,
    });
    expect(decoded).toEqual(REAL_WORKERS);
  });

  test('the address dialled is what the certificate must cover: 127.0.0.1 is a SAN', async () => {
    expect((await run(daemon.addr, goodBundle)).failed).toBeUndefined();
    // TLS forbids an IP as server name: the gRPC calls name the certificate's first DNS name instead.
    expect(new X509Certificate(server.certPem).subjectAltName).toMatch(/^DNS:buildkitd, DNS:buildkitd\.buildkit,/);
    expect(daemon.authorities.slice(-2)).toEqual(['buildkitd', 'buildkitd']);
  });

  test("as a command dialling an IP, it passes without Node's warning about an IP as TLS server name", async () => {
    // A separate process: Node prints each deprecation once per process, on its real stderr. With tenants in
    // config.ts, the command needs one named.
    const [tenant] = serviceCharts(new App(), config).keys();
    const firstTenant = tenant ? ['--tenant', tenant] : [];
    const { stdout, stderr } = await promisify(execFile)(
      'node',
      ['--require', './scripts/strip-types.js', 'doctor.ts', ...firstTenant, '--addr', daemon.addr, '--tlsdir', goodBundle],
      { cwd: ROOT },
    );
    expect(stdout.split('\n').filter((l) => l.startsWith('OK   '))).toHaveLength(9);
    expect(stdout).toMatch(/^WARN server certificate expiry: the server certificate expires within 30 days/m);
    expect(stderr).not.toMatch(/DEP0123|DeprecationWarning/);
  });

  /** The doctor command in a network namespace of its own, its loopback down: nothing leaves it, not even a DNS query. */
  const doctorWithoutNetwork = async (addr: string) => {
    const [tenant] = serviceCharts(new App(), config).keys();
    const firstTenant = tenant ? ['--tenant', tenant] : [];
    const args = ['--net', 'node', '--require', './scripts/strip-types.js', 'doctor.ts', ...firstTenant];
    const result = await promisify(execFile)('unshare', [...args, '--addr', addr, '--tlsdir', goodBundle], {
      cwd: ROOT,
    }).catch((e: { code: number; stdout: string }) => e);
    expect(result).toMatchObject({ code: 4 });
    return result.stdout.split('\n');
  };

  // Nothing on loopback answers "no route": a network namespace of its own does.
  testUnless(namespacesMissingReason())('an address with no route to it: the hint names the load balancer and the routes', async () => {
    const lines = await doctorWithoutNetwork('tcp://127.0.0.1:1234');
    expect(lines).toContain('FAIL tcp: 127.0.0.1:1234: ENETUNREACH');
    expect(lines.find((l) => l.startsWith('     hint: '))).toMatch(
      /^ {5}hint: no route or no answer: kubectl get svc -n \S+ \(its EXTERNAL-IP must be this address: did the load balancer assign it\?\), and check the L2 announcements or BGP routes/,
    );
  });

  // A name is looked up before any dial: where the lookup fails, the route hint would send the user the wrong way.
  testUnless(namespacesMissingReason())('a name that does not resolve: the hint points its DNS record at the EXTERNAL-IP', async () => {
    const lines = await doctorWithoutNetwork('tcp://buildkit.example.com:1234');
    expect(lines).toContain('FAIL tcp: buildkit.example.com:1234: EAI_AGAIN');
    expect(lines.find((l) => l.startsWith('     hint: '))).toMatch(
      /^ {5}hint: the name does not resolve here: point its DNS record at the Service's EXTERNAL-IP \(kubectl get svc -n \S+\), or dial that address with --addr and keep the name with --servername$/,
    );
  });

  // Once a listener's accept queue is full the kernel drops each SYN, as a firewall that drops does: three
  // connections nobody accepts overfill a backlog of 1.
  test('an address that never answers: the TCP step times out, and the hint names the load balancer and the routes', async () => {
    const listener = spawn(process.execPath, ['-e', LISTEN_AND_NEVER_ACCEPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    const fillers: Socket[] = [];
    try {
      const port = Number(await new Promise<string>((resolve) => listener.stdout.once('data', (d) => resolve(String(d)))));
      for (let i = 0; i < 3; i++) fillers.push(connect({ host: '127.0.0.1', port }).on('error', () => {}));
      const result = await diagnose({ addr: `tcp://127.0.0.1:${port}`, tlsDir: goodBundle, now, timeoutMs: WAITED_FOR_MS });
      expect(result.failed).toBe('network');
      expect(lastStep(result)).toMatchObject({ name: 'tcp', ok: false, detail: `127.0.0.1:${port}: ETIMEDOUT` });
      expect(lastStep(result).hint).toMatch(/^no route or no answer: kubectl get svc -n \S+ .*L2 announcements or BGP routes/);
    } finally {
      for (const filler of fillers) filler.destroy();
      listener.kill('SIGKILL');
    }
  });

  test('a listener that takes the connection and never answers TLS: the handshake times out, and the hint asks for TLS', async () => {
    const result = await withListener(
      () => {},
      (addr) => diagnose({ addr, tlsDir: goodBundle, now, timeoutMs: WAITED_FOR_MS }),
    );
    expect(result.failed).toBe('certificate');
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([
      ['client bundle', true],
      ['tcp', true],
      ['tls handshake', false],
    ]);
    expect(lastStep(result)).toMatchObject({
      detail: 'handshake timed out',
      hint: expect.stringMatching(/^is this a buildkitd with TLS\?/),
    });
  });

  test('SAN mismatch: a name the certificate lacks', async () => {
    const result = await run(daemon.addr, goodBundle, 'builder.example.com');
    expect(result.failed).toBe('certificate');
    expect(lastStep(result)).toMatchObject({ name: 'server certificate name', ok: false });
    expect(lastStep(result).detail).toMatch(/^does not cover builder\.example\.com/);
    expect(lastStep(result).hint).toMatch(/--servername|certs -- rotate/);
  });

  test('wrong CA: the bundle does not verify the server', async () => {
    const result = await run(
      daemon.addr,
      tlsDir({ ca: otherCa.certPem, cert: issueClientCertificate(otherCa, { commonName: 'x', validityDays: 5, now, keyPair: keys() }) }),
    );
    expect(result.failed).toBe('certificate');
    expect(lastStep(result)).toMatchObject({ name: 'server certificate chain', ok: false });
    expect(lastStep(result).detail).toMatch(
      /^does not chain to \S+\/bundle-\d+\/ca\.pem: \w+; the server presented subject buildkitd, issued by test CA$/,
    );
  });

  test('missing client certificate', async () => {
    const result = await run(daemon.addr, tlsDir({ ca: ca.certPem }));
    expect(result.failed).toBe('bundle');
    expect(lastStep(result).detail).toMatch(/cert\.pem is missing$/);
    expect(result.steps).toHaveLength(1);
  });

  test('a client certificate the daemon does not trust: refused at the gRPC call', async () => {
    const stranger = issueClientCertificate(otherCa, { commonName: 'stranger', validityDays: 5, now, keyPair: keys() });
    const result = await run(daemon.addr, tlsDir({ ca: ca.certPem + otherCa.certPem, cert: stranger }));
    expect(result.failed).toBe('grpc');
    expect(lastStep(result)).toMatchObject({ name: 'grpc health', ok: false });
    expect(lastStep(result).hint).toMatch(/^the daemon refused the call: is the client certificate from the CA it trusts\?/);
  });

  // The hint of a refusal (a certificate) would send a user with a stuck daemon after the wrong thing.
  test.each([
    ['grpc health', NO_ANSWER, REAL_WORKERS],
    ['workers', 'SERVING', NO_ANSWER],
  ])('a daemon that takes the call and never answers: %s fails at the deadline, and the hint says so', async (step, health, workers) => {
    const stuck = await startFakeBuildkitd({ caPem: ca.certPem, ...server }, health, workers);
    try {
      const result = await diagnose({ addr: stuck.addr, tlsDir: goodBundle, now, timeoutMs: WAITED_FOR_MS });
      expect(result.failed).toBe('grpc');
      expect(lastStep(result)).toMatchObject({ name: step, ok: false, detail: expect.stringMatching(/^4 Deadline exceeded/) });
      expect(lastStep(result).hint).toBe(
        'the daemon took the call and did not answer in time: busy or stuck? kubectl top pods -n buildkit; ' +
          'kubectl logs -n buildkit deployment/buildkitd -c buildkitd; or a longer --timeout',
      );
    } finally {
      await stuck.stop();
    }
  });

  test('expired server certificate', async () => {
    const old = new Date(now.getTime() - 10 * 86_400_000);
    const expired = await startFakeBuildkitd({
      caPem: ca.certPem,
      ...issueServerCertificate(ca, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 1, now: old, keyPair: keys() }),
    });
    try {
      const result = await run(expired.addr, goodBundle);
      expect(result.failed).toBe('certificate');
      expect(lastStep(result)).toMatchObject({ name: 'server certificate expiry', ok: false });
      expect(lastStep(result).detail).toMatch(/^expired on /);
    } finally {
      await expired.stop();
    }
  });

  // The doctor judges time by its own clock (`now`), on both sides of each limit: expiry at notAfter itself, and
  // the renewal warning from fewer than 30 whole days left. A 40-day server and a 60-day client keep every
  // certificate valid by the real clock too, so only the doctor's own judgement moves.
  test.each([
    ['at notAfter: expired', 0, { ok: false, detail: expect.stringMatching(/^expired on /) }],
    [
      'a millisecond before: 0 days left, with the warning',
      1,
      { ok: true, detail: expect.stringMatching(/^0 days left /), warnings: [expect.any(String)] },
    ],
    ['30 days before: no warning', 30 * 86_400_000, { ok: true, detail: expect.stringMatching(/^30 days left /) }],
    [
      'a millisecond under 30 days: the warning',
      30 * 86_400_000 - 1,
      { ok: true, detail: expect.stringMatching(/^29 days left /), warnings: [expect.any(String)] },
    ],
  ])('the server certificate %s', async (_what, before, expiry) => {
    const longServer = issueServerCertificate(ca, {
      commonName: 'buildkitd',
      ...serverSans(endpoint),
      validityDays: 40,
      now,
      keyPair: keys(),
    });
    const longClient = tlsDir({
      ca: ca.certPem,
      cert: issueClientCertificate(ca, { commonName: 'ci', validityDays: 60, now, keyPair: keys() }),
    });
    const lasting = await startFakeBuildkitd({ caPem: ca.certPem, ...longServer });
    try {
      const notAfter = new Date(new X509Certificate(longServer.certPem).validTo).getTime();
      const result = await diagnose({ addr: lasting.addr, tlsDir: longClient, now: new Date(notAfter - before), timeoutMs: 60_000 });
      const step = result.steps.find((s) => s.name === 'server certificate expiry');
      expect(step).toMatchObject(expiry);
      expect(step?.warnings).toEqual('warnings' in expiry ? expiry.warnings : undefined);
      expect(result.failed).toBe(expiry.ok ? undefined : 'certificate');
    } finally {
      await lasting.stop();
    }
  });

  test("a certificate Node's clock calls expired is judged by the doctor's: at a time it was valid, its chain passes", async () => {
    const then = new Date(now.getTime() - 10 * 86_400_000);
    const thenCa = createCa({ commonName: 'test CA', validityDays: 365, now: new Date(then.getTime() - 86_400_000), keyPair: keys() });
    const bundle = tlsDir({
      ca: thenCa.certPem,
      cert: issueClientCertificate(thenCa, { commonName: 'ci', validityDays: 30, now: then, keyPair: keys() }),
    });
    const expired = await startFakeBuildkitd({
      caPem: thenCa.certPem,
      ...issueServerCertificate(thenCa, { commonName: 'buildkitd', ...serverSans(endpoint), validityDays: 1, now: then, keyPair: keys() }),
    });
    try {
      const result = await diagnose({ addr: expired.addr, tlsDir: bundle, now: new Date(then.getTime() + 3_600_000), timeoutMs: 60_000 });
      expect(result.steps.slice(3, 6).map((s) => [s.name, s.ok])).toEqual([
        ['server certificate chain', true],
        ['server certificate name', true],
        ['server certificate expiry', true],
      ]);
    } finally {
      await expired.stop();
    }
  });

  test('an unhealthy daemon', async () => {
    const starting = await startFakeBuildkitd({ caPem: ca.certPem, ...server }, 'NOT_SERVING');
    try {
      const result = await run(starting.addr, goodBundle);
      expect(result.failed).toBe('grpc');
      expect(lastStep(result)).toMatchObject({ name: 'grpc health', ok: false, detail: 'status NOT_SERVING' });
      expect(lastStep(result).hint).toMatch(/^the daemon is starting or unhealthy: kubectl get pods -n /);
    } finally {
      await starting.stop();
    }
  });

  test('a daemon with no worker: the worker step fails, and the hint names what rootless needs', async () => {
    const idle = await startFakeBuildkitd({ caPem: ca.certPem, ...server }, 'SERVING', { record: [] });
    try {
      const result = await run(idle.addr, goodBundle);
      expect(result.failed).toBe('grpc');
      expect(lastStep(result)).toMatchObject({ name: 'workers', ok: false, detail: 'the daemon has no worker' });
      expect(lastStep(result).hint).toMatch(/\(rootless needs user namespaces and mounts: /);
    } finally {
      await idle.stop();
    }
  });

  /** A TLS-less listener on 127.0.0.1 that does `onConnection` with each connection, for the length of `body`. */
  async function withListener<T>(onConnection: (socket: Socket) => void, body: (addr: string) => Promise<T>): Promise<T> {
    const held: Socket[] = [];
    const listener = createServer((socket) => {
      held.push(socket);
      onConnection(socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      return await body(`tcp://127.0.0.1:${(listener.address() as AddressInfo).port}`);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    }
  }

  test('a listener that drops the connection at once: the handshake fails, and the hint asks for TLS', async () => {
    const result = await withListener(
      (socket) => socket.destroy(),
      (addr) => diagnose({ addr, tlsDir: goodBundle, now, timeoutMs: 60_000 }),
    );
    expect(result.failed).toBe('certificate');
    expect(lastStep(result)).toMatchObject({
      name: 'tls handshake',
      ok: false,
      hint: expect.stringMatching(/^is this a buildkitd with TLS\?/),
    });
  });

  // Under TLS 1.2 a server that demands a client certificate checks it inside the handshake (1.3 does so after
  // the client is done), so the handshake step passes only if it presented the bundle's certificate.
  test('the handshake presents the client certificate, as buildctl does: a TLS 1.2 server that demands one takes it', async () => {
    const demanding = createTlsServer({
      ca: ca.certPem,
      cert: server.certPem,
      key: server.keyPem,
      requestCert: true,
      maxVersion: 'TLSv1.2',
    });
    // Ended, not destroyed: its Finished goes out first, and the gRPC step after it fails at once.
    demanding.on('secureConnection', (socket) => socket.end());
    await new Promise<void>((resolve) => demanding.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run(`tcp://127.0.0.1:${(demanding.address() as AddressInfo).port}`, goodBundle);
      expect(result.steps.find((s) => s.name === 'tls handshake')).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^TLSv1\.2 in /),
      });
    } finally {
      await new Promise((resolve) => demanding.close(resolve));
    }
  });

  test('nothing listening', async () => {
    // Refused for certain: 127.0.0.2 on a port our listener holds on 127.0.0.1, which no parallel test can take.
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as any).port;
    const result = await run(`tcp://127.0.0.2:${port}`, goodBundle).finally(() => held.close());
    expect(result.failed).toBe('network');
    expect(lastStep(result)).toMatchObject({ name: 'tcp', ok: false, detail: `127.0.0.2:${port}: ECONNREFUSED` });
    expect(lastStep(result).hint).toMatch(/kubectl get pods,endpoints -n buildkit/);
  });
});

describe('the doctor command', () => {
  /** What config.ts would set up, on loopback: the seed's service, or two tenants, one of them on a StatefulSet. */
  const single = (addr: string) => new Map([[undefined, { ...SEED_DOCTOR_SERVICE, addr }]]);
  const tenants = (addrA: string, addrB: string) =>
    new Map<string | undefined, DoctorService>([
      ['team-a', { addr: addrA, namespace: 'buildkit-team-a', workload: 'deployment/buildkitd', tenant: 'team-a' }],
      ['team-b', { addr: addrB, namespace: 'builds-b', workload: 'statefulset/builder', tenant: 'team-b' }],
    ]);
  /** The command on config.ts's services as `services` reads them, with every line it prints. */
  const doctorWith = async (argv: string[], services: () => ReadonlyMap<string | undefined, DoctorService>) => {
    const lines: string[] = [];
    const io = { log: (...l: string[]) => lines.push(...l), error: (l: string) => lines.push(l) };
    return { code: await runDoctor(argv, services, io), lines };
  };
  const doctor = (argv: string[], services: ReadonlyMap<string | undefined, DoctorService>) => doctorWith(argv, () => services);
  /** A port on 127.0.0.2 that refuses for certain: our listener holds it on 127.0.0.1, so no parallel test can. */
  let refusing: string;
  let held: Server;
  beforeAll(async () => {
    held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    refusing = `tcp://127.0.0.2:${(held.address() as AddressInfo).port}`;
  });
  afterAll(() => held.close());

  test('prints each step and exits by failure class', async () => {
    const ok = await doctor(['--addr', daemon.addr, '--tlsdir', goodBundle], single(refusing));
    expect(ok.code).toBe(0);
    expect(ok.lines.filter((l) => l.startsWith('OK   '))).toHaveLength(9);
    // A warning only where a step has one (the server certificate's 20 days), and no hint on a passing run.
    expect(ok.lines.filter((l) => !l.startsWith('OK   '))).toEqual([
      'WARN server certificate expiry: the server certificate expires within 30 days: renew it with npm run certs -- rotate, then commit',
    ]);
    const name = await doctor(['--addr', daemon.addr, '--tlsdir', goodBundle, '--servername', 'nope.example'], single(refusing));
    expect(name.code).toBe(5);
    expect(name.lines.filter((l) => l.startsWith('FAIL'))).toEqual([
      expect.stringMatching(/^FAIL server certificate name: does not cover nope\.example/),
    ]);
    expect((await doctor(['--addr', daemon.addr, '--tlsdir', join(work, 'nowhere')], single(refusing))).code).toBe(3);
    const badAddr = await doctor(['--tlsdir', goodBundle, '--addr', 'http://x'], single(refusing));
    expect([badAddr.code, badAddr.lines]).toEqual([
      2,
      ['doctor: invalid --addr "http://x": use tcp://HOST:PORT, such as tcp://192.168.80.110:1234'],
    ]);
  });

  test.each([
    ['no --tlsdir', [], 'doctor: --tlsdir DIR is required (the folder with ca.pem, cert.pem, key.pem)'],
    ['--timeout 0', ['--tlsdir', 'x', '--timeout', '0'], 'doctor: --timeout 0: use whole seconds from 1 to 3600'],
    ['--timeout 1.5', ['--tlsdir', 'x', '--timeout', '1.5'], 'doctor: --timeout 1.5: use whole seconds from 1 to 3600'],
    ['--timeout 5s', ['--tlsdir', 'x', '--timeout', '5s'], 'doctor: --timeout 5s: use whole seconds from 1 to 3600'],
    ['--timeout -5', ['--tlsdir', 'x', '--timeout=-5'], 'doctor: --timeout -5: use whole seconds from 1 to 3600'],
    ['--timeout s5', ['--tlsdir', 'x', '--timeout', 's5'], 'doctor: --timeout s5: use whole seconds from 1 to 3600'],
    // Past 2^31 ms Node's timers fire after 1 ms instead: a long timeout would fail every dial over a real network.
    // Blank, --servername would be read as none, and the address's name checked instead.
    ['--servername ""', ['--tlsdir', 'x', '--servername', ''], 'doctor: --servername needs a value, and got a blank one'],
    ['--addr " "', ['--tlsdir', 'x', '--addr', ' '], 'doctor: --addr needs a value, and got a blank one'],
    ['--timeout 3601', ['--tlsdir', 'x', '--timeout', '3601'], 'doctor: --timeout 3601: use whole seconds from 1 to 3600'],
    ['--timeout 2147484', ['--tlsdir', 'x', '--timeout', '2147484'], 'doctor: --timeout 2147484: use whole seconds from 1 to 3600'],
    ['an unknown option', ['--tlsdir', 'x', '--adr', 'tcp://127.0.0.1:1'], 'doctor: unknown option --adr'],
    ['an option without its value', ['--tlsdir'], 'doctor: --tlsdir needs a value'],
    [
      'an argument without an option',
      ['x', '--tlsdir', 'y'],
      "doctor: Unexpected argument 'x'. This command does not take positional arguments",
    ],
    [
      'an option followed by another',
      ['--tlsdir', 'x', '--addr', '--timeout', '5'],
      'doctor: --addr needs a value; write --addr=VALUE for one that starts with "-"',
    ],
  ])('usage, exit 2, before dialling anything: %s', async (_what, argv, line) => {
    const result = await doctor(argv, single(refusing));
    expect(result.code).toBe(2);
    expect(result.lines).toEqual([line, expect.stringMatching(/^usage: npm run doctor -- /)]);
  });

  test.each([['--help'], ['-h'], ['--tlsdir', 'x', '--help']])(
    'doctor %s prints the usage on stdout and exits 0, before reading config.ts or dialling',
    async (...argv) => {
      const out: string[] = [];
      const errors: string[] = [];
      const services = jest.fn(() => single(refusing));
      const code = await runDoctor(argv, services, { log: (...l: string[]) => out.push(...l), error: (l: string) => errors.push(l) });
      expect([code, out, errors]).toEqual([0, [expect.stringMatching(/^usage: npm run doctor -- \[--tenant NAME\]/)], []]);
      expect(services).not.toHaveBeenCalled();
    },
  );

  test.each(['1', '60', '3600'])(
    '--timeout %s is taken: 1 is the shortest, an hour the longest, and seconds run to more than one digit',
    async (timeout) => {
      expect((await doctor(['--addr', daemon.addr, '--tlsdir', goodBundle, '--timeout', timeout], single(refusing))).code).toBe(0);
    },
  );

  test.each<[string, DoctorService]>([
    ['a tenant', { addr: 'tcp://127.0.0.1:1', namespace: 'builds-b', workload: 'statefulset/builder', tenant: 'team-b' }],
    ['no tenant', { addr: 'tcp://127.0.0.1:1', namespace: 'team-builds', workload: 'deployment/builder' }],
  ])("every hint names a command for the service: its namespace, its workload's daemon and, for %s, --tenant", (_what, service) => {
    const hints = Object.values(doctorHints(service));
    // A command runs to the first character no argument here holds: "(", ";" or the comma before prose.
    const certs = hints.flatMap((h) => h.match(/npm run certs --(?: [\w.-]+)+/g) ?? []);
    const kubectl = hints.flatMap((h) => h.match(/kubectl(?: [\w.,/-]+)+/g) ?? []);
    // Each hint holds a command, and every command is one the service answers to.
    expect(hints.every((h) => /npm run certs -- \S|kubectl \S/.test(h))).toBe(true);
    expect(certs.length).toBeGreaterThanOrEqual(8);
    for (const c of certs) expect(c).toMatch(service.tenant ? / --tenant team-b$/ : /^npm run certs -- [\w -]+[A-Z\w]$/);
    if (!service.tenant) expect(hints.join('\n')).not.toContain('--tenant');
    expect(kubectl.length).toBeGreaterThanOrEqual(6);
    for (const k of kubectl) expect(k).toMatch(new RegExp(`^kubectl (get \\S+|top pods|logs) -n ${service.namespace}( |$)`));
    for (const k of kubectl.filter((c) => c.startsWith('kubectl logs')))
      expect(k).toBe(`kubectl logs -n ${service.namespace} ${service.workload} -c buildkitd`);
  });

  test("without --addr it dials config.ts's service, and its hints name the seed's namespace and Deployment", async () => {
    expect((await doctor(['--tlsdir', goodBundle], single(daemon.addr))).code).toBe(0);
    const refused = await doctor(['--tlsdir', goodBundle], single(refusing));
    expect(refused.code).toBe(4);
    expect(refused.lines).toContain('     hint: nothing listens there: kubectl get pods,endpoints -n buildkit (are the daemons ready?)');
  });

  test("with tenants, --tenant dials that tenant's service, and the hints carry its namespace, workload and --tenant", async () => {
    expect((await doctor(['--tenant', 'team-b', '--tlsdir', goodBundle], tenants(refusing, daemon.addr))).code).toBe(0);
    const refused = await doctor(['--tenant', 'team-b', '--tlsdir', goodBundle], tenants(daemon.addr, refusing));
    expect(refused.code).toBe(4);
    expect(refused.lines).toContain(`FAIL tcp: ${refusing.slice('tcp://'.length)}: ECONNREFUSED`);
    expect(refused.lines).toContain('     hint: nothing listens there: kubectl get pods,endpoints -n builds-b (are the daemons ready?)');
    const stranger = issueClientCertificate(otherCa, { commonName: 'stranger', validityDays: 5, now, keyPair: keys() });
    const untrusted = await doctor(
      ['--tenant', 'team-b', '--tlsdir', tlsDir({ ca: ca.certPem + otherCa.certPem, cert: stranger })],
      tenants(refusing, daemon.addr),
    );
    expect(untrusted.code).toBe(6);
    expect(untrusted.lines).toContain(
      '     hint: the daemon refused the call: is the client certificate from the CA it trusts? npm run certs -- check --tenant team-b; kubectl logs -n builds-b statefulset/builder -c buildkitd',
    );
  });

  test("--addr of a native builder or a replica names the daemon behind it in the hints; another address, the service's workload", async () => {
    const stranger = issueClientCertificate(otherCa, { commonName: 'stranger', validityDays: 5, now, keyPair: keys() });
    const untrusted = tlsDir({ ca: ca.certPem + otherCa.certPem, cert: stranger });
    const service = (daemonsByAddress: Record<string, string>) =>
      new Map([[undefined, { addr: refusing, namespace: 'builds', workload: 'deployment/builder', daemonsByAddress }]]);
    const logsIn = async (daemonsByAddress: Record<string, string>) => {
      const result = await doctor(['--addr', daemon.addr, '--tlsdir', untrusted], service(daemonsByAddress));
      expect(result.code).toBe(6);
      return result.lines.filter((l) => l.startsWith('     hint: ')).map((l) => /kubectl logs -n builds (\S+) -c buildkitd/.exec(l)?.[1]);
    };
    expect(await logsIn({ [refusing]: 'deployment/builder', [daemon.addr]: 'deployment/builder-arm64' })).toEqual([
      'deployment/builder-arm64',
    ]);
    expect(await logsIn({ [refusing]: 'statefulset/builder', [daemon.addr]: 'pod/builder-1' })).toEqual(['pod/builder-1']);
    // A port-forward's address is none of the service's own.
    expect(await logsIn({ [refusing]: 'deployment/builder' })).toEqual(['deployment/builder']);
  });

  test.each([
    ['with tenants, neither --tenant nor --addr', [], 'doctor: config.ts has tenants: name one with --tenant (team-a, team-b)'],
    ['a tenant config.ts lacks', ['--tenant', 'team-c'], 'doctor: --tenant team-c: no such tenant in config.ts (team-a, team-b)'],
    [
      'with tenants, --addr without --tenant',
      ['--addr', 'tcp://127.0.0.1:1'],
      'doctor: config.ts has tenants: name one with --tenant (team-a, team-b)',
    ],
  ])('usage, exit 2 and one line: %s', async (_what, argv, line) => {
    const result = await doctor([...argv, '--tlsdir', goodBundle], tenants(refusing, refusing));
    expect(result.code).toBe(2);
    expect(result.lines[0]).toBe(line);
    expect(result.lines.slice(1)).toEqual([
      expect.stringMatching(/^usage: npm run doctor -- \[--tenant NAME\] \[--addr tcp:\/\/HOST:PORT\]/),
    ]);
  });

  test("what the doctor takes from a chart: its first address, namespace, workload and tenant, and each address's daemon", () => {
    const services = doctorServices({
      tenants: [
        {
          name: 'team-a',
          loadBalancerIP: '10.0.0.1',
          architecture: 'amd64',
          nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.5' }],
        },
        {
          name: 'team-b',
          namespace: 'builds-b',
          loadBalancerIP: '10.0.0.2',
          workload: 'statefulset',
          replicas: 2,
          perReplicaIPs: ['10.0.0.3', '10.0.0.4'],
        },
      ],
      name: 'builder',
      port: 2345,
    });
    expect([...services]).toEqual([
      [
        'team-a',
        {
          addr: 'tcp://10.0.0.1:2345',
          namespace: 'buildkit-team-a',
          workload: 'deployment/builder',
          tenant: 'team-a',
          daemonsByAddress: { 'tcp://10.0.0.1:2345': 'deployment/builder', 'tcp://10.0.0.5:2345': 'deployment/builder-arm64' },
        },
      ],
      [
        'team-b',
        {
          addr: 'tcp://10.0.0.2:2345',
          namespace: 'builds-b',
          workload: 'statefulset/builder',
          tenant: 'team-b',
          daemonsByAddress: {
            'tcp://10.0.0.2:2345': 'statefulset/builder',
            'tcp://10.0.0.3:2345': 'pod/builder-0',
            'tcp://10.0.0.4:2345': 'pod/builder-1',
          },
        },
      ],
    ]);
    expect([...doctorServices({})]).toEqual([[undefined, SEED_DOCTOR_SERVICE]]);
  });

  test.each<[string, ServiceSettings]>([
    ['tenants that are no list', { tenants: 'team-a' as any }],
    ['a namespace of Kubernetes', { namespace: 'kube-system' }],
  ])('a config.ts the synth refuses (%s) is one line and exit 2, before anything is dialled', async (_what, settings) => {
    const { code, lines } = await doctorWith(['--tlsdir', goodBundle], () => doctorServices(settings));
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^doctor: config\.ts: (tenants|BuildkitChart): invalid /);
  });

  test('without tenants, --tenant is refused', async () => {
    const none = await doctor(['--tenant', 'team-a', '--tlsdir', goodBundle], single(daemon.addr));
    expect([none.code, none.lines[0]]).toEqual([2, 'doctor: --tenant team-a: config.ts has no tenants; leave --tenant out']);
  });

  test("--addr with --tenant (a port-forward) dials --addr, with the tenant's hints", async () => {
    expect((await doctor(['--tenant', 'team-a', '--addr', daemon.addr, '--tlsdir', goodBundle], tenants(refusing, refusing))).code).toBe(0);
    const refused = await doctor(['--tenant', 'team-a', '--addr', refusing, '--tlsdir', goodBundle], tenants(daemon.addr, daemon.addr));
    expect(refused.code).toBe(4);
    expect(refused.lines).toContain(
      '     hint: nothing listens there: kubectl get pods,endpoints -n buildkit-team-a (are the daemons ready?)',
    );
  });

  test.each([
    ['tcp://192.168.80.110:1234', { host: '192.168.80.110', port: 1234 }],
    ['tcp://buildkitd.buildkit.svc.cluster.local:1234', { host: 'buildkitd.buildkit.svc.cluster.local', port: 1234 }],
    ['tcp://[::1]:1234', { host: '::1', port: 1234 }],
  ])('parses %s', (addr, parsed) => {
    expect(parseAddr(addr)).toEqual(parsed);
  });

  test.each(['192.168.80.110:1234', 'tcp://host', 'tcp://host:0', 'tcp://host:70000', 'unix:///run/buildkit.sock'])(
    'refuses %s',
    (addr) => {
      expect(() => parseAddr(addr)).toThrow(/invalid --addr/);
    },
  );
});
