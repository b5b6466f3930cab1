import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as grpcStatus, Server, ServerCredentials } from '@grpc/grpc-js';
import { controlService, healthService } from '../../lib/doctor/buildkit-api';

export interface FakeBuildkitd {
  readonly addr: string;
  /** The :authority of each call, in order: the name a client says it dials. */
  readonly authorities: string[];
  stop(): Promise<void>;
}

/** What a real rootless BuildKit v0.32.2 answered to ListWorkers (fixtures/buildkit, decoded from its bytes). */
export const REAL_WORKERS = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'buildkit', 'grpc-listworkers-rootless-v0.32.2.bin.json'), 'utf8'),
);

/** In place of a status or the workers: the call is taken and never answered, as by a daemon that is stuck. */
export const NO_ANSWER = 'no answer';

/**
 * A gRPC server on 127.0.0.1 standing in for buildkitd: mutual TLS with client certificates required, the
 * health service, and Control.ListWorkers answering what a real rootless v0.32.2 daemon did (or `workers`).
 * Either may be NO_ANSWER.
 */
export async function startFakeBuildkitd(
  tls: { caPem: string; certPem: string; keyPem: string },
  status: string = 'SERVING',
  workers: object | typeof NO_ANSWER = REAL_WORKERS,
): Promise<FakeBuildkitd> {
  const server = new Server();
  const authorities: string[] = [];
  type Done = (err: null, reply: object) => void;
  // As grpc-go's health server: the whole server is service "", and any other name is unknown.
  server.addService(healthService, {
    Check: (call: { request: { service: string }; getHost(): string }, done: (err: object | null, reply?: object) => void) => {
      authorities.push(call.getHost());
      if (call.request.service !== '') done({ code: grpcStatus.NOT_FOUND, details: 'unknown service' });
      else if (status !== NO_ANSWER) done(null, { status });
    },
  });
  server.addService(controlService, {
    ListWorkers: (call: { getHost(): string }, done: Done) => {
      authorities.push(call.getHost());
      if (workers !== NO_ANSWER) done(null, workers);
    },
  });
  const credentials = ServerCredentials.createSsl(
    Buffer.from(tls.caPem),
    [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    addr: `tcp://127.0.0.1:${port}`,
    authorities,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
