import type { AddressInfo } from 'node:net';
import { connect, createServer, type PeerCertificate } from 'node:tls';

export interface HandshakeOptions {
  readonly server: { key: string; cert: string; ca: string };
  readonly client: { key?: string; cert?: string; ca: string };
  /** The name the client verifies the server certificate for. */
  readonly servername?: string;
}

export interface HandshakeResult {
  readonly ok: boolean;
  /** The error code the client saw, when it failed. */
  readonly error?: string;
  readonly peer?: PeerCertificate;
}

/**
 * A real mutual-TLS exchange on 127.0.0.1, configured as buildkitd is: the server requires a client
 * certificate signed by its CA. Succeeds only when the server's greeting reaches the client.
 */
export async function handshake(o: HandshakeOptions): Promise<HandshakeResult> {
  const server = createServer(
    { key: o.server.key, cert: o.server.cert, ca: o.server.ca, requestCert: true, rejectUnauthorized: true },
    (socket) => socket.end('hello'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<HandshakeResult>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: o.servername,
        ca: o.client.ca,
        key: o.client.key,
        cert: o.client.cert,
      });
      let data = '';
      let peer: PeerCertificate | undefined;
      socket.on('secureConnect', () => {
        peer = socket.getPeerCertificate();
      });
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
      socket.on('close', () => resolve(data === 'hello' ? { ok: true, peer } : { ok: false, error: 'closed by server' }));
      socket.setTimeout(60_000, () => socket.destroy(new Error('timeout'))); // only a hang reaches it
    });
  } finally {
    server.close();
  }
}

type Bundle = Record<string, string>;

/** Does a client bundle get through a daemon bundle's mutual TLS (files as the Secrets hold them), as buildctl would? */
export async function bundlesConnect(
  daemon: Bundle,
  client: Bundle,
  servername = 'buildkitd.buildkit.svc.cluster.local',
): Promise<boolean> {
  return (
    await handshake({
      server: { key: daemon['key.pem'], cert: daemon['cert.pem'], ca: daemon['ca.pem'] },
      client: { key: client['key.pem'], cert: client['cert.pem'], ca: client['ca.pem'] },
      servername,
    })
  ).ok;
}
