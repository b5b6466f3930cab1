import { existsSync, readFileSync } from 'node:fs';
import { connect as connectTcp, isIP } from 'node:net';
import { join } from 'node:path';
import { checkServerIdentity, connect as connectTls, type DetailedPeerCertificate } from 'node:tls';
import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import { checkCertificate } from '../pki/check';
import { ControlClient, HealthClient, type WorkerRecord } from './buildkit-api';
import { type DoctorService, doctorHints, SEED_DOCTOR_SERVICE } from './service';

/** What fails, from the outside in; the doctor stops at the first failing class. */
export type FailureClass = 'bundle' | 'network' | 'certificate' | 'grpc';

export interface Step {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to run or check next, for a failed step. */
  readonly hint?: string;
  /** Things that work but will hurt (exit code stays 0). */
  readonly warnings?: string[];
}

const MiB = 2 ** 20;
const SNAPSHOTTER = 'org.mobyproject.buildkit.worker.snapshotter';

/**
 * What the daemon says of itself (ListWorkers): version, snapshotter, platforms and the GC rule that bounds
 * the whole cache, with warnings for what works but hurts. max-parallelism is not in the reply.
 */
export function daemonReport(worker: WorkerRecord): { detail: string; warnings: string[] } {
  const version = worker.BuildkitVersion?.version ?? 'unknown';
  const snapshotter = worker.Labels[SNAPSHOTTER] ?? 'unknown';
  const all = worker.GCPolicy?.find((p) => p.all) ?? worker.GCPolicy?.[worker.GCPolicy.length - 1];
  const mib = (bytes?: string) => `${Math.round(Number(bytes ?? 0) / MiB)}MiB`;
  const gc = all
    ? `GC keeps ${mib(all.reservedSpace)}, prunes above ${mib(all.maxUsedSpace)}, wants ${mib(all.minFreeSpace)} free`
    : 'no GC policy';
  const warnings: string[] = [];
  const [major, minor] = (/^v(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  if (major === undefined || (major === 0 && minor < 31)) {
    warnings.push(`BuildKit ${version} is older than v0.31: no build metrics (buildkit_builds_total and the rest); upgrade the image`);
  }
  if (snapshotter === 'native') {
    warnings.push(
      'the native snapshotter copies every layer: slow builds and several times the disk; overlayfs failed at start (kubectl logs shows why; rootless needs a kernel with overlay in user namespaces)',
    );
  }
  const platforms = worker.platforms.map((p) => `${p.OS}/${p.Architecture}${p.Variant ? `/${p.Variant}` : ''}`).join(', ');
  return { detail: `buildkit ${version}, snapshotter ${snapshotter}, ${gc}, platforms ${platforms}`, warnings };
}

export interface DoctorOptions {
  /** tcp://HOST:PORT, as buildctl --addr takes it. */
  readonly addr: string;
  /** Folder with ca.pem, cert.pem and key.pem, as buildctl --tlsdir reads it. */
  readonly tlsDir: string;
  /** The name to verify the server certificate for, when it is not the address dialled. */
  readonly servername?: string;
  readonly now: Date;
  /** Per network step. */
  readonly timeoutMs?: number;
  /**
   * The service config.ts sets up, named in the hints: its namespace, workload and tenant.
   * @default - the seed's: namespace buildkit, Deployment buildkitd, no tenant
   */
  readonly service?: DoctorService;
}

export interface DoctorResult {
  readonly steps: Step[];
  readonly failed?: FailureClass;
}

class Failure extends Error {
  constructor(
    readonly failureClass: FailureClass,
    readonly step: Step,
  ) {
    super(step.detail);
  }
}

export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new Error(`invalid --addr ${JSON.stringify(addr)}: use tcp://HOST:PORT, such as tcp://192.168.80.110:1234`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

const elapsed = (since: bigint) => `${Number((process.hrtime.bigint() - since) / 1_000_000n)} ms`;

/** The seed's troubleshooting section as a program: outside in, one step after the other. */
export async function diagnose(options: DoctorOptions, report: (step: Step) => void = () => {}): Promise<DoctorResult> {
  const steps: Step[] = [];
  const pass = (name: string, detail: string, warnings: string[] = []) => {
    const s = warnings.length ? { name, ok: true, detail, warnings } : { name, ok: true, detail };
    steps.push(s);
    report(s);
  };
  const fail = (failureClass: FailureClass, name: string, detail: string, hint: string): never => {
    throw new Failure(failureClass, { name, ok: false, detail, hint });
  };
  const timeoutMs = options.timeoutMs ?? 5000;
  const hints = doctorHints(options.service ?? SEED_DOCTOR_SERVICE);
  try {
    const { host, port } = parseAddr(options.addr);
    const name = options.servername ?? host;

    // 1. The client bundle.
    const files: Record<string, string> = {};
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
      const path = join(options.tlsDir, f);
      if (!existsSync(path)) {
        fail('bundle', 'client bundle', `${path} is missing`, hints.noBundle);
      }
      files[f] = readFileSync(path, 'utf8');
    }
    const client = checkCertificate({
      label: 'client',
      certPem: files['cert.pem'],
      keyPem: files['key.pem'],
      caPem: files['ca.pem'],
      now: options.now,
      minDaysLeft: 0,
    });
    if (client.problems.length > 0) {
      fail('bundle', 'client bundle', `client certificate ${client.subject}: ${client.problems.join('; ')}`, hints.badClient);
    }
    pass('client bundle', `${client.subject}, ${client.daysLeft} days left`);

    // 2. TCP.
    let started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const socket = connectTcp({ host, port, timeout: timeoutMs }, () => {
        socket.destroy();
        resolve();
      });
      socket.on('timeout', () => {
        socket.destroy();
        reject(new Error('ETIMEDOUT'));
      });
      socket.on('error', reject);
    }).catch((err: NodeJS.ErrnoException) =>
      fail(
        'network',
        'tcp',
        `${host}:${port}: ${err.code ?? err.message}`,
        err.code === 'ECONNREFUSED' ? hints.refused : err.syscall === 'getaddrinfo' ? hints.noName : hints.unreachable,
      ),
    );
    pass('tcp', `${host}:${port} reachable in ${elapsed(started)}`);

    // 3. TLS, and the server certificate as the client sees it.
    started = process.hrtime.bigint();
    const session = await new Promise<{ peer: DetailedPeerCertificate; authorizationError?: string; protocol: string | null }>(
      (resolve, reject) => {
        const socket = connectTls(
          {
            host,
            port,
            ca: files['ca.pem'],
            cert: files['cert.pem'],
            key: files['key.pem'],
            servername: isIP(name) ? undefined : name,
            rejectUnauthorized: false,
            timeout: timeoutMs,
          },
          () => {
            const result = {
              peer: socket.getPeerCertificate(true),
              authorizationError: socket.authorizationError?.toString(),
              protocol: socket.getProtocol(),
            };
            socket.destroy();
            resolve(result);
          },
        );
        socket.on('timeout', () => {
          socket.destroy();
          reject(new Error('handshake timed out'));
        });
        socket.on('error', reject);
      },
    ).catch((err: Error) => fail('certificate', 'tls handshake', err.message, hints.noTls));
    pass('tls handshake', `${session.protocol} in ${elapsed(started)}`);

    const notAfter = new Date(session.peer.valid_to);
    const daysLeft = Math.floor((notAfter.getTime() - options.now.getTime()) / 86_400_000);
    if (notAfter <= options.now) fail('certificate', 'server certificate expiry', `expired on ${notAfter.toISOString()}`, hints.expired);
    // Node reports expiry (by its own clock) and a name mismatch as authorization errors too; the expiry step
    // judges the first by the doctor's clock, and the name step below explains the second.
    const chainError = session.authorizationError;
    if (chainError && chainError !== 'CERT_HAS_EXPIRED' && !chainError.includes('ERR_TLS_CERT_ALTNAME_INVALID')) {
      // Who answered tells a wrong ca.pem (same subject, other CA) from another server altogether.
      const presented = `the server presented subject ${session.peer.subject.CN}, issued by ${session.peer.issuer.CN}`;
      fail(
        'certificate',
        'server certificate chain',
        `does not chain to ${join(options.tlsDir, 'ca.pem')}: ${chainError}; ${presented}`,
        hints.otherCa,
      );
    }
    pass('server certificate chain', `issued by ${session.peer.issuer.CN}`);
    const mismatch = checkServerIdentity(name, session.peer);
    if (mismatch) {
      fail('certificate', 'server certificate name', `does not cover ${name} (${session.peer.subjectaltname})`, hints.name);
    }
    pass('server certificate name', `covers ${name}`);
    pass('server certificate expiry', `${daysLeft} days left (${notAfter.toISOString()})`, daysLeft < 30 ? [hints.expiresSoon] : []);

    // 4. gRPC over mutual TLS: the health service, then the workers.
    // TLS forbids an IP as server name (Node warns, DEP0123): dialling an IP, send a DNS name the certificate
    // holds instead, and still verify the certificate against the IP.
    const sni = isIP(name) ? /DNS:([^,\s]+)/.exec(session.peer.subjectaltname ?? '')?.[1] : options.servername && name;
    const creds = credentials.createSsl(Buffer.from(files['ca.pem']), Buffer.from(files['key.pem']), Buffer.from(files['cert.pem']), {
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    });
    const channelOptions = sni ? { 'grpc.ssl_target_name_override': sni, 'grpc.default_authority': sni } : {};
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const call = <T>(Client: typeof HealthClient, method: string, request: object) =>
      new Promise<T>((resolve, reject) => {
        const grpcClient = new Client(target, creds, channelOptions);
        grpcClient[method](request, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, response: T) => {
          grpcClient.close();
          if (err) reject(err);
          else resolve(response);
        });
      });
    started = process.hrtime.bigint();
    // A deadline passed is a daemon that is slow or stuck, not one that refused the call.
    const grpcFailure = (step: string) => (err: ServiceError) =>
      fail('grpc', step, `${err.code} ${err.details}`, err.code === status.DEADLINE_EXCEEDED ? hints.noAnswer : hints.grpc);
    const health = await call<{ status: string }>(HealthClient, 'Check', { service: '' }).catch(grpcFailure('grpc health'));
    if (health.status !== 'SERVING') fail('grpc', 'grpc health', `status ${health.status}`, hints.unhealthy);
    pass('grpc health', `SERVING in ${elapsed(started)}`);
    const workers = await call<{ record: WorkerRecord[] }>(ControlClient, 'ListWorkers', {}).catch(grpcFailure('workers'));
    if (workers.record.length === 0) fail('grpc', 'workers', 'the daemon has no worker', hints.noWorker);
    const describe = (w: WorkerRecord) =>
      `${w.ID} [${w.platforms.map((p) => `${p.OS}/${p.Architecture}${p.Variant ? `/${p.Variant}` : ''}`).join(', ')}]${w.BuildkitVersion?.version ? ` buildkit ${w.BuildkitVersion.version}` : ''}`;
    pass('workers', workers.record.map(describe).join('; '));
    const daemon = daemonReport(workers.record[0]);
    pass('daemon', daemon.detail, daemon.warnings);
    return { steps };
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    steps.push(err.step);
    report(err.step);
    return { steps, failed: err.failureClass };
  }
}
