import type { Container, Probe, Quantity, SecurityContext, VolumeMount } from '../../imports/k8s';
import { GUARD_SOCKET } from './cache-guard';

export const CONTAINER = 'buildkitd';
export const UID = 1000;
/** The pods' user, group and volume ownership; OnRootMismatch: a large volume is not re-chowned file by file at every start. */
export const NON_ROOT_POD = { runAsUser: UID, runAsGroup: UID, runAsNonRoot: true, fsGroup: UID, fsGroupChangePolicy: 'OnRootMismatch' };
/** The unix socket stays beside TCP: exec probes use it, since they cannot present a client certificate. */
export const SOCKET = `unix:///run/user/${UID}/buildkit/buildkitd.sock`;
/** Where the daemon's ConfigMap (buildkitd.toml, prestop.sh) is mounted. */
export const CONFIG_DIR = '/home/user/.config/buildkit';
const WORKERS_CHECK = ['buildctl', '--addr', SOCKET, 'debug', 'workers'];

function probe(periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Probe {
  return { exec: { command: WORKERS_CHECK }, periodSeconds, timeoutSeconds, failureThreshold };
}

const STARTUP_PROBE = probe(5, 5, 60);
/** How long a new daemon may take to answer before the kubelet restarts it: the startup probe's budget. */
export const STARTUP_SECONDS = STARTUP_PROBE.periodSeconds! * STARTUP_PROBE.failureThreshold!;

/** What the daemon's container is made of; each field is decided (and checked) by the construct. */
export interface DaemonContainerInputs {
  readonly image: string;
  readonly port: number;
  readonly metricsPort?: number;
  /** The certificate files of the TlsBundle, as mounted. */
  readonly tlsFiles: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly drainSeconds: number;
  readonly resources: { requests: Record<string, Quantity>; limits: Record<string, Quantity> };
  /** Seccomp, AppArmor and SELinux settings (containerConfinement). */
  readonly confinement: SecurityContext;
  readonly volumeMounts: VolumeMount[];
  /** A second unix socket for the cache guard, on the volume the two share. */
  readonly guardSocket: boolean;
}

/** The rootless buildkitd container: both listeners, the probes over the socket, the preStop drain. */
export function daemonContainer(c: DaemonContainerInputs): Container {
  const args = [
    '--addr',
    SOCKET,
    '--addr',
    `tcp://0.0.0.0:${c.port}`,
    '--tlscacert',
    c.tlsFiles.ca,
    '--tlscert',
    c.tlsFiles.cert,
    '--tlskey',
    c.tlsFiles.key,
    '--oci-worker-no-process-sandbox',
  ];
  if (c.guardSocket) args.splice(2, 0, '--addr', GUARD_SOCKET);
  const ports = [{ name: 'buildkitd', containerPort: c.port, protocol: 'TCP' }];
  if (c.metricsPort !== undefined) {
    args.push('--debugaddr', `0.0.0.0:${c.metricsPort}`);
    ports.push({ name: 'metrics', containerPort: c.metricsPort, protocol: 'TCP' });
  }
  return {
    name: CONTAINER,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    args,
    ports,
    startupProbe: STARTUP_PROBE,
    readinessProbe: probe(10, 5, 3),
    livenessProbe: probe(30, 10, 5),
    lifecycle: { preStop: { exec: { command: ['sh', `${CONFIG_DIR}/prestop.sh`, String(c.drainSeconds)] } } },
    resources: c.resources,
    securityContext: {
      runAsUser: UID,
      runAsGroup: UID,
      // newuidmap/newgidmap are setuid: rootless BuildKit fails without privilege escalation.
      allowPrivilegeEscalation: true,
      // rootlesskit and buildkitd write under /run/user, /tmp and $HOME; upstream keeps the root writable.
      readOnlyRootFilesystem: false,
      ...c.confinement,
    },
    volumeMounts: c.volumeMounts,
  };
}
