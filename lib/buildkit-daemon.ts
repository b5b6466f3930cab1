import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { IntOrString, KubeConfigMap, KubeDeployment, Probe, Quantity } from '../imports/k8s';
import { gcLimitsFor, renderBuildkitdToml } from './buildkitd-toml';
import { CacheVolume } from './cache-volume';
import { MANAGED_BY, selectorLabels } from './labels';
import { SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import { checkDnsLabel, checkPinnedImage, checkPort, checkPositiveInteger, checkQuantity } from './validation';

/** CPU and memory, as Kubernetes quantities. */
export interface ComputeResources {
  /**
   * CPU, such as '500m' or '2'.
   * @default - see BuildkitDaemonProps.resources
   */
  readonly cpu?: string;
  /**
   * Memory, such as '1Gi'.
   * @default - see BuildkitDaemonProps.resources
   */
  readonly memory?: string;
}

/** Requests and limits of the daemon container; each field given replaces only that default. */
export interface DaemonResources {
  /**
   * What the scheduler reserves.
   * @default { cpu: '500m', memory: '1Gi' }
   */
  readonly requests?: ComputeResources;
  /**
   * Hard caps.
   * @default { memory: '8Gi' } - no CPU limit: throttling only slows builds, the request already reserves a share
   */
  readonly limits?: ComputeResources;
}

export interface BuildkitDaemonProps {
  /**
   * Name of the workload, its ConfigMap prefix and its `app.kubernetes.io/instance` label.
   * @default 'buildkitd'
   */
  readonly name?: string;

  /**
   * Rootless BuildKit image, pinned to a release.
   * @default 'moby/buildkit:v0.27.1-rootless'
   */
  readonly image?: string;

  /**
   * Number of daemons. Each has its own cache.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * TCP port buildkitd serves mutual TLS on.
   * @default 1234
   */
  readonly port?: number;

  /**
   * Container resources.
   * @default - requests 500m CPU and 1Gi memory, limit 8Gi memory
   */
  readonly resources?: DaemonResources;

  /**
   * The certificates the daemon serves and verifies clients with.
   * @default - a TlsBundle for the Secret 'buildkit-daemon-certs'
   */
  readonly tls?: TlsBundle;

  /**
   * The state directory's volume.
   * @default - an ephemeral 50Gi CacheVolume
   */
  readonly cache?: CacheVolume;

  /**
   * Set AppArmor with the `container.apparmor.security.beta.kubernetes.io` annotation instead of the
   * `appArmorProfile` field, for clusters older than Kubernetes 1.30.
   * @default false
   */
  readonly legacyAppArmorAnnotation?: boolean;
}

const CONTAINER = 'buildkitd';
const UID = 1000;
/** The unix socket stays beside TCP: exec probes use it, since they cannot present a client certificate. */
const SOCKET = `unix:///run/user/${UID}/buildkit/buildkitd.sock`;
const CONFIG_DIR = '/home/user/.config/buildkit';
const WORKERS_CHECK = ['buildctl', '--addr', SOCKET, 'debug', 'workers'];

const DEFAULT_RESOURCES = { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '8Gi' } };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function probe(periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Probe {
  return { exec: { command: WORKERS_CHECK }, periodSeconds, timeoutSeconds, failureThreshold };
}

function quantities(owner: string, prop: string, values: ComputeResources): Record<string, Quantity> {
  const out: Record<string, Quantity> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    checkQuantity(owner, `${prop}.${key}`, value, key === 'cpu' ? '500m' : '1Gi');
    out[key] = Quantity.fromString(value);
  }
  return out;
}

/** The rootless `buildkitd` workload: mutual TLS on `port`, its buildkitd.toml, probes and security context. */
export class BuildkitDaemon extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly replicas: number;
  public readonly image: string;
  /** The labels a Service selects the daemon's pods by. */
  public readonly selectorLabels: Record<string, string>;
  public readonly tls: TlsBundle;
  public readonly cache: CacheVolume;
  public readonly config: KubeConfigMap;
  public readonly workload: KubeDeployment;

  constructor(scope: Construct, id: string, props: BuildkitDaemonProps = {}) {
    super(scope, id);
    this.name = checkDnsLabel('BuildkitDaemon', 'name', props.name ?? SEED.name);
    this.image = checkPinnedImage('BuildkitDaemon', 'image', props.image ?? SEED.image);
    this.replicas = checkPositiveInteger('BuildkitDaemon', 'replicas', props.replicas ?? 1);
    this.port = checkPort('BuildkitDaemon', 'port', props.port ?? SEED.port);
    this.tls = props.tls ?? new TlsBundle(this, 'Tls');
    this.cache = props.cache ?? new CacheVolume(this, 'Cache');
    if (this.cache.persistent && this.replicas > 1) {
      throw new Error(`BuildkitDaemon: invalid replicas ${this.replicas}: a persistent cache volume serves one daemon `
        + '(BuildKit allows one daemon per state directory); use replicas 1 or an ephemeral cache');
    }
    const resources = {
      requests: quantities('BuildkitDaemon', 'resources.requests', { ...DEFAULT_RESOURCES.requests, ...props.resources?.requests }),
      limits: quantities('BuildkitDaemon', 'resources.limits', { ...DEFAULT_RESOURCES.limits, ...props.resources?.limits }),
    };
    this.selectorLabels = selectorLabels(this.name);
    const labels = { ...this.selectorLabels, ...MANAGED_BY };

    const toml = renderBuildkitdToml(gcLimitsFor(this.cache.sizeBytes));
    this.config = new KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels },
      data: { 'buildkitd.toml': toml },
    });

    const legacyAppArmor = props.legacyAppArmorAnnotation ?? false;
    // buildkitd reads its config and certificates once at start: these change when either does, rolling the pods.
    const podAnnotations: Record<string, string> = {
      'checksum/config': sha256(toml),
      'checksum/tls': sha256(this.tls.revision),
    };
    // Rootless BuildKit creates user namespaces and mounts, which the default seccomp and AppArmor profiles refuse.
    if (legacyAppArmor) podAnnotations[`container.apparmor.security.beta.kubernetes.io/${CONTAINER}`] = 'unconfined';

    this.workload = new KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels },
      spec: {
        replicas: this.replicas,
        selector: { matchLabels: this.selectorLabels },
        // A persistent RWO cache cannot be mounted by a surge pod, and two daemons must never share it.
        strategy: this.cache.persistent
          ? { type: 'Recreate' }
          : { type: 'RollingUpdate', rollingUpdate: { maxSurge: IntOrString.fromNumber(1), maxUnavailable: IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels, annotations: podAnnotations },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsUser: UID, runAsGroup: UID, runAsNonRoot: true, fsGroup: UID },
            containers: [{
              name: CONTAINER,
              image: this.image,
              imagePullPolicy: 'IfNotPresent',
              args: [
                '--addr', SOCKET,
                '--addr', `tcp://0.0.0.0:${this.port}`,
                '--tlscacert', this.tls.caFile,
                '--tlscert', this.tls.certFile,
                '--tlskey', this.tls.keyFile,
                '--oci-worker-no-process-sandbox',
              ],
              ports: [{ name: 'buildkitd', containerPort: this.port, protocol: 'TCP' }],
              startupProbe: probe(5, 5, 60),
              readinessProbe: probe(10, 5, 3),
              livenessProbe: probe(30, 10, 5),
              resources,
              securityContext: {
                runAsUser: UID,
                runAsGroup: UID,
                // newuidmap/newgidmap are setuid: rootless BuildKit fails without privilege escalation.
                allowPrivilegeEscalation: true,
                // rootlesskit and buildkitd write under /run/user, /tmp and $HOME; upstream keeps the root writable.
                readOnlyRootFilesystem: false,
                seccompProfile: { type: 'Unconfined' },
                ...(legacyAppArmor ? {} : { appArmorProfile: { type: 'Unconfined' } }),
              },
              volumeMounts: [
                this.cache.volumeMount,
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                this.tls.volumeMount,
              ],
            }],
            volumes: [
              this.cache.volume,
              { name: 'config', configMap: { name: this.config.name } },
              this.tls.volume,
            ],
          },
        },
      },
    });
  }
}
