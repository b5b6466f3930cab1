import { Server, ServerCredentials } from '@grpc/grpc-js';
import { controlService, healthService } from '../../lib/doctor/buildkit-api';

export interface FakeBuildkitd {
  readonly addr: string;
  stop(): Promise<void>;
}

/**
 * A gRPC server on 127.0.0.1 standing in for buildkitd: mutual TLS with client certificates required, the
 * health service, and Control.ListWorkers answering with one rootless OCI worker.
 */
export async function startFakeBuildkitd(tls: { caPem: string; certPem: string; keyPem: string }, status = 'SERVING'): Promise<FakeBuildkitd> {
  const server = new Server();
  server.addService(healthService, { Check: (_call: unknown, done: Function) => done(null, { status }) });
  server.addService(controlService, {
    ListWorkers: (_call: unknown, done: Function) => done(null, {
      record: [{ ID: 'w0', Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' },
        platforms: [{ OS: 'linux', Architecture: 'amd64' }, { OS: 'linux', Architecture: 'arm64' }], BuildkitVersion: { version: 'v0.27.1' } }],
    }),
  });
  const credentials = ServerCredentials.createSsl(Buffer.from(tls.caPem), [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    addr: `tcp://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
